#!/usr/bin/python3
"""No float island: every model folder given is compiled as its users would (a pre-quantized
model as it is; a float model with `--quantize int8 --calibration data/calib.npy`) and the
report's quantization section must list no layer left in float. Recurrent cells (LSTM, GRU,
RNN) are excepted where the report gives the reason, and with them the data moves on their float
inputs and outputs. Prints each model's float layers with their
reasons; exits 1 if any model has one that is not excepted, or if a model does not compile.

    /usr/bin/python3 tests/quant/check_float_layers.py --tinyc build/tinyc --work W MODEL_DIR...
"""
import argparse
import json
import os
import subprocess
import sys

import onnx

RECURRENT = {"LSTM", "GRU", "RNN"}
# Data moves on a recurrent cell's float input or output stay float with it (quantizing the cell's
# whole output before selecting the last step would only add RAM).
MOVES = {"Transpose", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Gather", "Slice"}


def pre_quantized(model):
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") or n.domain == "com.microsoft" or
               n.op_type.startswith("QLinear") or n.op_type.endswith("Integer") for n in model.graph.node)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    failures, checked = [], 0
    for mdir in args.models:
        path = os.path.join(mdir, "model.onnx")
        if not os.path.exists(path):
            continue
        name = os.path.basename(os.path.normpath(mdir))
        model = onnx.load(path, load_external_data=False)
        ops = {n.name: n.op_type for n in model.graph.node}
        extra = []
        if not pre_quantized(model):
            calib = os.path.join(mdir, "data", "calib.npy")
            if not os.path.exists(calib):
                continue
            extra = ["--quantize", "int8", "--calibration", calib]
        out = os.path.join(args.work, name)
        report = out + ".json"
        r = subprocess.run([args.tinyc, "compile", path, "--target", "cortex-m4", "-o", out, "--report", report, "-q",
                            *extra], capture_output=True, text=True)
        checked += 1
        if r.returncode != 0:
            failures.append(f"{name}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        q = json.load(open(report)).get("quantization", {})
        reasons = q.get("float_layer_reasons", {})
        recurrent = any(ops.get(layer) in RECURRENT for layer in q.get("float_layers", []))
        for layer in q.get("float_layers", []):
            excepted = (ops.get(layer) in RECURRENT or (recurrent and ops.get(layer) in MOVES)) and reasons.get(layer)
            print(f"{name}: float layer '{layer}' ({reasons.get(layer, 'no reason given')})" +
                  (" - excepted: a recurrent cell" if excepted else ""))
            if not excepted:
                failures.append(f"{name}: '{layer}' stays float")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} models, {len(failures)} failures")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
