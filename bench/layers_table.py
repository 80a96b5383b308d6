#!/usr/bin/python3
"""Issue #6's yardstick: instructions per int8 layer on an emulated Cortex-M4 against CMSIS-NN.

Makes the five single-layer models (bench/make_layers.py, seeded), quantizes each with its
calibration data, runs it under qemu with the per-layer profile and prints the layer's
instructions next to CMSIS-NN's figure, then the whole int8 keyword-spotting models. Not a test:
figures, not asserts.

  /usr/bin/python3 bench/layers_table.py --tinyc build/tinyc [--shared ../shared/models]
"""
import argparse
import csv
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_layers import LAYERS  # noqa: E402


def profile(tinyc, model, work, extra):
    args = ["--tinyc-args", " ".join(extra), "--run-args", " ".join(extra)] if extra else []
    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "mcu", "run_on_qemu.py"), "--tinyc", tinyc,
                        "--target", "cortex-m4", "--sets", "1", "--work", work, "--profile", "--model", model, *args],
                       capture_output=True, text=True)
    if not r.stdout.startswith("PASS"):
        raise RuntimeError(r.stdout + r.stderr)
    name = [d for d in os.listdir(os.path.join(work, "cortex-m4"))][0]
    with open(os.path.join(work, "cortex-m4", name, "profile.csv")) as f:
        return [(int(row[0]), int(row[1]), row[2] if len(row) > 2 else "") for row in csv.reader(f) if row[0].isdigit()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", default=os.path.join(HERE, "..", "build", "bench-layers"))
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared", "models"))
    args = ap.parse_args()
    models = os.path.join(args.work, "models")
    subprocess.run([sys.executable, os.path.join(HERE, "make_layers.py"), models], check=True)
    print("| layer (int8, cortex-m4) | MACs | tinyc instructions | CMSIS-NN instructions | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (_, _, _, macs, cmsis) in LAYERS.items():
        d = os.path.join(models, name)
        calib = os.path.join(d, "data", "calib.npy")
        rows = profile(args.tinyc, d, os.path.join(args.work, "run", name), ["--quantize", "int8", "--calibration", calib])
        layer = [r for r in rows if "quantize" not in r[2]][0][1]  # the layer, not the boundary Q/DQ
        print(f"| {name} | {macs:,} | {layer:,} | {cmsis:,} | {layer / cmsis:.2f} |")
    kws = [("kws-dscnn (quantized by tinyc)", "kws-dscnn", True), ("mlperf-tiny-kws-dscnn-int8 (pre-quantized)",
                                                                     "mlperf-tiny-kws-dscnn-int8", False)]
    for label, name, quantize in kws:
        d = os.path.join(args.shared, name)
        if not os.path.isdir(d):
            continue
        extra = ["--quantize", "int8", "--calibration", os.path.join(d, "data", "calib.npy")] if quantize else []
        rows = profile(args.tinyc, d, os.path.join(args.work, "run", name), extra)
        total = sum(r[1] for r in rows if "quantize" not in r[2] and "dequant" not in r[2])
        print(f"| {label}: whole model | 2,656,768 | {total:,} | - | - |")


if __name__ == "__main__":
    main()
