#!/usr/bin/python3
"""The int8 kernels' references as an oracle for whole models: `tinyc run --reference-kernels`
(runtime/tinyc/int8/reference.h in each int8 kernel's place) against `tinyc run` (the kernels the
generated code calls), on every test data set, byte for byte. Models with a calibration set are
quantized by tinyc (TFLite's rounding); the others are taken as their authors quantized them
(ONNX's rounding). Fails on any difference, on a failed run, and when no model was checked.

  check_reference_kernels.py --tinyc build/tinyc --work DIR MODELS_DIR [MODELS_DIR...]
"""
import argparse
import os
import shutil
import subprocess
import sys


def run(tinyc, model, inputs, out, extra):
    cmd = [tinyc, "run", os.path.join(model, "model.onnx"), "--output-dir", out, "-q", *extra]
    for f in inputs:
        cmd += ["--input", f]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return None if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()[:300]}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("models", nargs="+", help="folders of MODEL/model.onnx with MODEL/data/test_data_set_*")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    failures, checked = [], 0
    for root in args.models:
        for m in sorted(os.listdir(root)):
            model, data = os.path.join(root, m), os.path.join(root, m, "data")
            if not os.path.isfile(os.path.join(model, "model.onnx")) or not os.path.isdir(data):
                continue
            calib = os.path.join(data, "calib.npy")
            extra = ["--quantize", "int8", "--calibration", calib] if os.path.isfile(calib) else []
            for s in sorted(d for d in os.listdir(data) if d.startswith("test_data_set_")):
                d = os.path.join(data, s)
                inputs = [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.startswith("input_")]
                outs = {k: os.path.join(args.work, m, s, k) for k in ("fast", "reference")}
                err = run(args.tinyc, model, inputs, outs["fast"], extra) or \
                    run(args.tinyc, model, inputs, outs["reference"], extra + ["--reference-kernels"])
                if err:
                    failures.append(f"{m}/{s}: {err}")
                    continue
                files = sorted(os.listdir(outs["fast"]))
                if not files or files != sorted(os.listdir(outs["reference"])):
                    failures.append(f"{m}/{s}: outputs {files} and {sorted(os.listdir(outs['reference']))}")
                    continue
                for f in files:
                    with open(os.path.join(outs["fast"], f), "rb") as a, open(os.path.join(outs["reference"], f), "rb") as b:
                        if a.read() != b.read():
                            failures.append(f"{m}/{s}/{f}: the fast kernels and the references differ")
                checked += 1
    for f in failures:
        print("FAIL", f)
    print(f"{checked} data sets: fast kernels and references {'differ' if failures else 'agree byte for byte'}")
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
