#!/usr/bin/env python3
"""Arena, its lower bound and the sum of all intermediate tensors, float and int8, per model.

For every model folder given (model.onnx, optional data/calib.npy): compiles the float model for
the target and, when it has calibration data, the int8 one (a pre-quantized model is its own int8
row). Prints a Markdown table. With --check it also fails (exit 1) where the planned arena exceeds
the lower bound by more than the alignment padding of the buffers live at the peak, or where a
BatchNormalization, Dropout or Identity, or an activation that could have been fused into the
layer before it, reaches the generated code.

  /usr/bin/python3 bench/memory_table.py --tinyc build/tinyc ../shared/models/*
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

NEVER = {"BatchNormalization", "Dropout", "Identity"}
ACTIVATIONS = {"Relu", "Clip", "LeakyRelu"}
FUSES_INTO = {"Conv", "ConvTranspose", "Gemm", "Add"}


def compile_model(tinyc, model, target, work, extra):
    out = os.path.join(work, "out")
    report = os.path.join(work, "report.json")
    cmd = [tinyc, "compile", model, "--target", target, "-o", out, "--report", report, "-q",
           "--dump-ir-after", "eliminate_dead_nodes", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    with open(report) as f:
        return json.load(f)["totals"], r.stdout, open(os.path.join(out, "model.cpp")).read()


def layer_problems(ir, code):
    """Ops that must not reach the code: from the emitted layers and the optimized IR."""
    problems = [f"{op} emitted" for op in re.findall(r"// \d+: '.*' \((\w+)\)", code) if op in NEVER]
    nodes = re.findall(r"^  (.*) = (\w+)\((.*)\) \{.*\}  # (.*)$", ir, re.M)
    tensor = lambda s: s.split(":")[0].lstrip("%")
    producer, readers = {}, {}
    for outs, op, ins, name in nodes:
        for o in outs.split(", "):
            producer[tensor(o)] = (op, name)
        for i in ins.split(", "):
            readers[tensor(i)] = readers.get(tensor(i), 0) + 1
    outputs = set(tensor(l.split()[1]) for l in ir.splitlines() if l.startswith("  output "))
    for outs, op, ins, name in nodes:
        if op not in ACTIVATIONS:
            continue
        x = tensor(ins.split(", ")[0])
        prev = producer.get(x)
        if prev and prev[0] in FUSES_INTO and readers.get(x) == 1 and x not in outputs:
            problems.append(f"{op} '{name}' after {prev[0]} '{prev[1]}' was not fused")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    rows, failures = [], []
    for d in sorted(args.models):
        model = os.path.join(d, "model.onnx")
        if not os.path.exists(model):
            continue
        name = os.path.basename(d.rstrip("/"))
        calib = os.path.join(d, "data", "calib.npy")
        runs = [("float", [])]
        prequantized = b"QuantizeLinear" in open(model, "rb").read()
        if prequantized:
            runs = [("int8", [])]
        elif os.path.exists(calib):
            runs.append(("int8", ["--quantize", "int8", "--calibration", calib]))
        row = {"model": name}
        for kind, extra in runs:
            with tempfile.TemporaryDirectory() as work:
                t, ir, code = compile_model(args.tinyc, model, args.target, work, extra)
            row[kind] = t
            over = t["arena_bytes"] - t["arena_lower_bound_bytes"]
            if over > t["arena_padding_max_bytes"]:
                failures.append(f"{name} {kind}: arena {t['arena_bytes']} B exceeds the lower bound "
                                f"{t['arena_lower_bound_bytes']} B by {over} B")
            if kind == "float" or prequantized:
                failures += [f"{name}: {p}" for p in layer_problems(ir, code)]
        rows.append(row)

    def cells(t):
        if not t:
            return "- | - | -"
        return f"{t['arena_bytes']:,} | {t['arena_lower_bound_bytes']:,} | {t['intermediate_bytes']:,}"

    print(f"| model ({args.target}) | float arena | lower bound | sum of intermediates "
          "| int8 arena | lower bound | sum of intermediates |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['model']} | {cells(r.get('float'))} | {cells(r.get('int8'))} |")
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
