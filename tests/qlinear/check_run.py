#!/usr/bin/python3
"""`tinyc run` on every com.microsoft model in tests/qlinear: each output bit-exact to the
reference of make_models.py; and an unknown com.microsoft operator fails with one clear line.
(The generated C++ of the same models is checked by conformance/run_node_tests.py --exact.)"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    failures, checked = [], 0
    for m in sorted(os.listdir(HERE)):
        data = os.path.join(HERE, m, "data")
        if not os.path.isdir(data):
            continue
        for s in sorted(os.listdir(data)):
            d, out = os.path.join(data, s), os.path.join(args.work, m, s)
            ins = sorted(f for f in os.listdir(d) if f.startswith("input_"))
            cmd = [args.tinyc, "run", os.path.join(HERE, m, "model.onnx"), "--output-dir", out, "-q"]
            for f in ins:
                cmd += ["--input", os.path.join(d, f)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{m}/{s}: exit {r.returncode}: {r.stderr.strip()}")
                continue
            for i in range(len([f for f in os.listdir(d) if f.startswith("output_")])):
                want = numpy_helper.to_array(onnx.load_tensor(os.path.join(d, f"output_{i}.pb")))
                got = np.load(os.path.join(out, f"output_{i}.npy"))
                checked += want.size
                if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
                    diff = np.abs(got.astype(np.float64) - want.astype(np.float64)) if got.shape == want.shape else None
                    failures.append(f"{m}/{s}: output {i} differs" +
                                    (f" in {int((diff > 0).sum())} of {want.size} (max {diff.max()})" if diff is not None else ""))
    r = subprocess.run([args.tinyc, "compile", os.path.join(HERE, "unsupported.onnx"), "--target", "host", "-o",
                        os.path.join(args.work, "unsupported")], capture_output=True, text=True)
    want = "node 'QLinearReduceMean_0' (QLinearReduceMean): operator com.microsoft.QLinearReduceMean is not supported"
    if r.returncode != 2 or r.stderr.strip() != "tinyc: error: " + want:
        failures.append(f"unsupported.onnx: exit {r.returncode}, stderr {r.stderr.strip()!r}")
    for f in failures:
        print("FAIL", f)
    print(f"tinyc run: {checked} outputs compared, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
