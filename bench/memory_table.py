#!/usr/bin/env python3
"""Arena, its lower bound and the sum of all intermediate tensors, float and int8, per model.

For every model folder given (model.onnx, optional data/calib.npy): compiles the float model for
the target and, when it has calibration data, the int8 one (a pre-quantized model is its own int8
row). Prints a Markdown table. With --check (the memory_plans tests) it fails (exit 1) where
- a model's NAME_ARENA_SIZE (from the generated NAME.h) is above its value pinned in
  tests/memory/arenas.json, or the model has no pinned value: the table may only go down;
- the arena is below a live-set lower bound computed here from the ONNX graph (independent_bound),
  which would mean that bound or the planner is wrong;
- the arena exceeds tinyc's own bound for its schedule by more than the alignment padding;
- a BatchNormalization, Dropout or Identity, or an activation that could have been fused into the
  layer before it, reaches the generated code.
--update lowers the pinned values to the arenas measured (and adds missing models); with --force
it also raises them.

  /usr/bin/python3 bench/memory_table.py --tinyc build/tinyc ../shared/models/* tests/models/*
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import onnx
from onnx import shape_inference

NEVER = {"BatchNormalization", "Dropout", "Identity"}
ACTIVATIONS = {"Relu", "Clip", "LeakyRelu"}
FUSES_INTO = {"Conv", "ConvTranspose", "Gemm", "Add"}
TABLE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/memory/arenas.json"))

# For the independent bound. Ops that tinyc may remove, fold into a neighbour's weights, fuse or
# turn into a view of their input (with a constant operand for the arithmetic ones):
PASS_THROUGH = {"Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose",
                "Pad", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "Cast",
                "QuantizeLinear", "DequantizeLinear", "Add", "Sub", "Mul", "Div"}
# Ops whose kernels never write their output over an input (ops/*.cpp: only elementwise ops,
# pooling and Conv set `in_place`). A float Conv counts here only when it is neither 1x1 nor
# grouped; an int8 one never (conv_s8_im2col's output may overlap the part of its input it has read).
APART = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Softmax", "LogSoftmax", "Concat", "LSTM", "GRU", "RNN"}


to_numpy = getattr(onnx.helper, "tensor_dtype_to_np_dtype", None) or onnx.mapping.TENSOR_TYPE_TO_NP_TYPE.get


def independent_bound(path, int8):
    """Bytes that must be live in the arena at once, whatever order and placement tinyc picks.

    The arena holds the tensors that nodes produce, neither graph outputs nor constants (codegen/
    plan.cpp); graph inputs and outputs are outside it. Each PASS_THROUGH node (one non-constant
    input) is merged with its input into one "value" that is counted once, at its smallest size
    (Pad folds into the next layer, which reads the unpadded input), and not at all when it holds a
    graph input or output: tinyc may elide or fuse that node, so it is never counted as a step of
    its own. Any other node N runs at some step with, in one arena:
    - its non-constant inputs and its outputs (counted once per value);
    - every value produced by an ancestor of N and read by a descendant of N: in any topological
      order it is live across N (a residual branch's skip tensor), so no schedule avoids it;
    - less, unless N is in APART, the largest input that no descendant of N reads (it may die at
      N) up to the size of output 0, which may be written over it in place.
    Merging only ever lowers this sum, and scratch, padding and Quantize/Dequantize copies are not
    counted, so the max over N is a lower bound of NAME_ARENA_SIZE for any schedule. int8 builds:
    1 byte per element (activations that stay in float only make the arena larger). A recurrent
    layer's output sequence counts as one step: read for its last step only, it need not be stored.
    """
    m = shape_inference.infer_shapes(onnx.load(path), data_prop=True)
    g = m.graph
    size, dims = {}, {}
    for v in list(g.input) + list(g.value_info) + list(g.output):
        t = v.type.tensor_type
        if t.HasField("shape"):
            n = 1
            dims[v.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in t.shape.dim]  # a dynamic batch is 1
            for d in dims[v.name]:
                n *= d
            size[v.name] = n * (1 if int8 else to_numpy(t.elem_type).itemsize)
    for n in g.node:
        if n.op_type in ("LSTM", "GRU", "RNN") and n.output and n.output[0] in size:
            layout = next((a.i for a in n.attribute if a.name == "layout"), 0)
            size[n.output[0]] //= max(dims[n.output[0]][1 if layout else 0], 1)
    const = {i.name for i in g.initializer}
    io = {v.name for v in g.input if v.name not in const} | {v.name for v in g.output}
    root, nodes = {}, []  # root: tensor -> the tensor its value starts as
    for n in g.node:
        ins = [i for i in n.input if i and i not in const]
        if not ins or n.op_type in ("Shape", "Size"):
            const.update(n.output)
        elif n.op_type in PASS_THROUGH and len(ins) == 1:
            root[n.output[0]] = root.get(ins[0], ins[0])
        else:
            nodes.append(n)
    value = lambda t: root.get(t, t)
    smallest, held_io = {}, set()
    for t in set(size) - const:
        v = value(t)
        smallest[v] = min(smallest.get(v, size[t]), size[t])
        if t in io:
            held_io.add(v)
    # Live nodes only (their outputs lead to a graph output), then ancestors by value.
    needed, live = {value(o.name) for o in g.output}, []
    for n in reversed(nodes):
        if any(value(o) in needed for o in n.output):
            live.insert(0, n)
            needed.update(value(i) for i in n.input if i and i not in const)
    producer = {value(o): k for k, n in enumerate(live) for o in n.output if o}
    # Graph inputs, values holding a graph input or output, unknown shapes: 0.
    nbytes = lambda v: smallest.get(v, 0) if v in producer and v not in held_io else 0
    readers = {}
    for k, n in enumerate(live):
        for i in n.input:
            if i and i not in const:
                readers.setdefault(value(i), set()).add(k)
    ancestors = []  # ancestors[k]: nodes with a path to k (the graph's order is topological)
    for k, n in enumerate(live):
        a = set()
        for i in n.input:
            p = producer.get(value(i)) if i and i not in const else None
            if p is not None:
                a |= ancestors[p] | {p}
        ancestors.append(a)
    descendants = [{j for j in range(len(live)) if k in ancestors[j]} for k in range(len(live))]
    best = 0
    for k, n in enumerate(live):
        ins = {value(i) for i in n.input if i and i not in const}
        outs = {value(o) for o in n.output if o and value(o) in readers}
        across = {v for v, p in producer.items() if p in ancestors[k] and readers.get(v, set()) & descendants[k]}
        total = sum(nbytes(v) for v in ins | outs | across)
        attr = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        apart = n.op_type in APART
        if n.op_type == "Conv":  # kernel_shape may be left to the weights: then not counted apart
            # (an int8 one may start before its dying input and overlap the rest: never apart)
            apart = not int8 and attr.get("group", 1) == 1 and any(d != 1 for d in attr.get("kernel_shape", [1]))
        dying = [nbytes(v) for v in ins if not readers[v] & descendants[k]]
        if not apart and dying and value(n.output[0]) in outs:
            total -= min(max(dying), nbytes(value(n.output[0])))
        best = max(best, total)
    return best


def compile_model(tinyc, model, target, work, extra):
    out = os.path.join(work, "out")
    report = os.path.join(work, "report.json")
    cmd = [tinyc, "compile", model, "--target", target, "-o", out, "--report", report, "-q",
           "--dump-ir-after", "eliminate_dead_nodes", "--name", "model", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    arena = re.search(r"^#define \w+_ARENA_SIZE (\d+)", open(os.path.join(out, "model.h")).read(), re.M)
    with open(report) as f:
        return json.load(f)["totals"], int(arena.group(1)), r.stdout, open(os.path.join(out, "model.cpp")).read()


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
    ap.add_argument("--table", default=TABLE, help="pinned arenas (JSON: model -> {float, int8})")
    ap.add_argument("--update", action="store_true", help="lower the pinned arenas to those measured")
    ap.add_argument("--force", action="store_true", help="with --update: raise them too")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    pinned = json.load(open(args.table)) if os.path.exists(args.table) else {}
    rows, failures, lower, lines = [], [], [], []
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
                t, arena, ir, code = compile_model(args.tinyc, model, args.target, work, extra)
            row[kind] = t
            what = f"{name} {kind}"
            bound = independent_bound(model, kind == "int8")
            pin = pinned.get(name, {}).get(kind)
            lines.append(f"{what}: arena {arena:,} B, pinned {'-' if pin is None else format(pin, ',')}, "
                         f"independent bound {bound:,} B, arena/bound {arena / max(bound, 1):.2f}")
            if args.update and (pin is None or arena < pin or args.force):
                pinned.setdefault(name, {})[kind] = pin = arena
            if pin is None:
                failures.append(f"{what}: no pinned arena in {args.table} (pin it with --update)")
            elif arena > pin:
                failures.append(f"{what}: arena {arena:,} B is above its pinned {pin:,} B "
                                "(if that is intended: --update --force)")
            elif arena < pin:
                lower.append((what, d))
            if arena < bound:
                failures.append(f"{what}: arena {arena:,} B is below the independent lower bound {bound:,} B")
            over = arena - t["arena_lower_bound_bytes"]
            if over > t["arena_padding_max_bytes"]:
                failures.append(f"{what}: arena {arena:,} B exceeds tinyc's bound for its schedule "
                                f"{t['arena_lower_bound_bytes']:,} B by {over} B")
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
    print("\n".join([""] + lines))
    if args.update and failures:
        print(f"{args.table} not written: see the failures below")
    elif args.update:
        with open(args.table, "w") as f:
            f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v, sort_keys=True)}"
                                       for k, v in sorted(pinned.items())) + "\n}\n")
        print(f"wrote {args.table}")
    elif lower:
        table = "" if args.table == TABLE else f" --table {args.table}"
        print(f"arena below its pinned value ({', '.join(w for w, _ in lower)}): lower the pins with\n  "
              f"{sys.executable} {sys.argv[0]} --tinyc {args.tinyc}{table} --update "
              + " ".join(sorted({d for _, d in lower})))
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if (args.check or args.update) and failures else 0


if __name__ == "__main__":
    sys.exit(main())
