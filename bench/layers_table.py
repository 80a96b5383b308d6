#!/usr/bin/python3
"""Issue #6's yardstick: instructions per int8 layer on an emulated core against CMSIS-NN.

Makes the five single-layer models (bench/make_layers.py, seeded), quantizes each with its
calibration data, runs it under qemu with the per-layer profile and prints the layer's
instructions next to CMSIS-NN's figure for that core, then the whole int8 keyword-spotting and
digits models. Not a test: figures, not asserts.

  /usr/bin/python3 bench/layers_table.py --tinyc build/tinyc [--target cortex-m55] [--shared ../shared/models]
                                         [--runtime DIR]
"""
import argparse
import csv
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_layers import LAYERS  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "tests", "mcu"))
from run_on_qemu import TARGETS  # noqa: E402

# CMSIS-NN's instructions for the five layers (../shared/anchors.md; M4 is the DSP build, M55 MVE)
CMSIS = {"cortex-m4": [1111186, 599625, 1068935, 2181, 5487506],
         "cortex-m7": [1120503, 594185, 1051009, 2185, 5505056],
         "cortex-m55": [289052, 166887, 202886, 680, 914865]}


def profile(tinyc, model, work, extra, target, runtime=None):
    args = ["--tinyc-args", " ".join(extra), "--run-args", " ".join(extra)] if extra else []
    args += ["--runtime", runtime] if runtime else []
    r = subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "mcu", "run_on_qemu.py"), "--tinyc", tinyc,
                        "--target", target, "--sets", "1", "--work", work, "--profile", "--no-reference", "--model", model, *args],
                       capture_output=True, text=True)
    if not r.stdout.startswith("PASS"):
        raise RuntimeError(r.stdout + r.stderr)
    name = [d for d in os.listdir(os.path.join(work, target))][0]
    with open(os.path.join(work, target, name, "profile.csv")) as f:
        return [(int(row[0]), int(row[1]), row[2] if len(row) > 2 else "") for row in csv.reader(f) if row[0].isdigit()]


def macs(tinyc, model):
    r = subprocess.run([tinyc, "inspect", os.path.join(model, "model.onnx"), "--json"], capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout)["totals"]["macs"]


# Whole models from ../shared/models: (label, folder, quantized by tinyc with its calib.npy)
MODELS = [("kws-dscnn (quantized by tinyc)", "kws-dscnn", True),
          ("mlperf-tiny-kws-dscnn-int8 (pre-quantized)", "mlperf-tiny-kws-dscnn-int8", False),
          ("digits-cnn (quantized by tinyc)", "digits-cnn", True),
          ("digits-mlp (quantized by tinyc)", "digits-mlp", True),
          ("mlperf-tiny-vww-mobilenetv1 (quantized by tinyc)", "mlperf-tiny-vww-mobilenetv1", True),
          ("mlperf-tiny-ad01-int8 (pre-quantized)", "mlperf-tiny-ad01-int8", False)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--target", default="cortex-m4", choices=sorted(TARGETS),
                    help="the core; CMSIS-NN's figures for it where anchors.md has them")
    ap.add_argument("--work", default=os.path.join(HERE, "..", "build", "bench-layers"))
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared", "models"))
    ap.add_argument("--runtime", help="runtime folder whose tinyc/ headers replace the ones tinyc embeds: another "
                    "version of the kernels with the same compiler")
    args = ap.parse_args()
    models = os.path.join(args.work, "models")
    subprocess.run([sys.executable, os.path.join(HERE, "make_layers.py"), models], check=True)
    print(f"| layer (int8, {args.target}) | MACs | tinyc instructions | CMSIS-NN instructions | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    # The layers, then the convolutions as tf2onnx writes them (NHWC, between Transposes), each
    # against CMSIS-NN's figure for the layer.
    layers = [(name, i, spec[3]) for i, (name, spec) in enumerate(LAYERS.items())]
    layers += [(name + "_nhwc", i, spec[3]) for i, (name, spec) in enumerate(LAYERS.items()) if spec[2] is not None]
    for name, i, layer_macs in layers:
        d = os.path.join(models, name)
        calib = os.path.join(d, "data", "calib.npy")
        rows = profile(args.tinyc, d, os.path.join(args.work, "run", args.target, name),
                       ["--quantize", "int8", "--calibration", calib], args.target, args.runtime)
        # the layer (and what tinyc keeps of its transposes), not the boundary Q/DQ
        layer = sum(r[1] for r in rows if "quantize" not in r[2] and "dequant" not in r[2])
        cmsis = CMSIS[args.target][i] if args.target in CMSIS else None
        print(f"| {name} | {layer_macs:,} | {layer:,} | " + (f"{cmsis:,} | {layer / cmsis:.2f} |" if cmsis else "- | - |"))
    for label, name, quantize in MODELS:
        d = os.path.join(args.shared, name)
        if not os.path.isdir(d):
            continue
        extra = ["--quantize", "int8", "--calibration", os.path.join(d, "data", "calib.npy")] if quantize else []
        rows = profile(args.tinyc, d, os.path.join(args.work, "run", args.target, name), extra, args.target, args.runtime)
        # the model's layers; its float interface's boundary QuantizeLinear/DequantizeLinear left out
        total = sum(r[1] for r in rows if "quantize" not in r[2] and "dequant" not in r[2])
        print(f"| {label}: whole model | {macs(args.tinyc, d):,} | {total:,} | - | - |")


if __name__ == "__main__":
    main()
