#!/usr/bin/python3
"""ONNX Runtime as an independent oracle for tinyc's generated code.

    /usr/bin/python3 tests/oracle/check_oracle.py --tinyc build/tinyc --work W MODEL_DIR...

For each model folder (model.onnx, data/test_data_set_K/input_*.pb, data/calib.npy), the generated
C code is built for the host and run on the test inputs, and ONNX Runtime (onnxruntime-node from
tests/oracle, graph optimizations disabled) gives the reference:
- float: on the model `tinyc compile --emit-onnx` writes (after the optimizer), outputs within
  rtol 1e-4 (atol 1e-4 x max|ref|: whole models sum rounding over many layers).
- int8 (`--quantize int8 --calibration data/calib.npy`): on the emitted QDQ model, whose int8
  layers carry tinyc's own integer weights, scales and zero points. Every int8 layer is checked
  on its own: the generated code, built with -DTINYC_TRACE, gives each layer's int8 inputs and
  output; ONNX Runtime runs that layer of the emitted model on the same inputs; the outputs must
  agree within 1 LSB (TFLite's integer requantization and ONNX Runtime's float requantization may
  round near-ties apart). Differences that compound over layers are printed for the whole model.
- pre-quantized models (QuantizeLinear / QLinear* nodes): ONNX Runtime on the original model
  against the generated code, within 1 LSB or as far as ONNX Runtime itself is from the model's
  reference outputs (output_*.pb), whichever is more; and their int8 layers one by one as above.
  Compiled with `--requantization tflite` too, their int8 layers one by one (TFLite's rounding).
Every emitted model must pass ONNX's checker and be byte-identical when compiled twice.
Prints per case the values compared, how many differ, the largest difference and where. Exits 1
if any check fails.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnx.utils
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "conformance"))
from run_node_tests import build_batch, load_sets  # noqa: E402

INT8_OPS = {"ConvS8", "FullyConnectedS8", "AddS8", "AvgPoolS8", "ReluS8", "LookupS8", "SoftmaxS8", "LogSoftmaxS8", "PReluS8", "ConvTransposeS8", "ConcatS8"}
TRACE = """#include <stdio.h>
#include <stdlib.h>
extern "C" void {0}_trace(int layer, int output, const void* data, unsigned long bytes) {{
  char p[4096];
  snprintf(p, sizeof p, "%s/L%d_%d.bin", getenv("TINYC_TRACE_DIR"), layer, output);
  FILE* f = fopen(p, "wb");
  if (!f || fwrite(data, 1, bytes, f) != bytes) abort();
  fclose(f);
}}
"""


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def pre_quantized(model):
    return any(n.op_type in ("QuantizeLinear", "DequantizeLinear") or n.op_type.startswith("QLinear")
               for n in model.graph.node)


def output_lsb(model):
    """Per graph output: one step of its integer grid (1 for integer outputs, the scale of the
    DequantizeLinear that makes a float output), or None for a float result."""
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:  # Constant nodes (torch.onnx writes its scales so), and their Identity
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            inits[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        elif n.op_type == "Identity" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    producer = {o: n for n in model.graph.node for o in n.output}
    lsb = []
    for o in model.graph.output:
        if o.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            lsb.append(1.0)
            continue
        n = producer.get(o.name)
        scale = inits.get(n.input[1]) if n is not None and n.op_type == "DequantizeLinear" else None
        lsb.append(None if scale is None else float(np.max(scale)))
    return lsb


def ort_run(runs, work, tag):
    """runs: [(model path, [(name, array)], out prefix)] -> per run, ONNX Runtime's outputs."""
    job = {"runs": []}
    for r, (model, inputs, out) in enumerate(runs):
        feeds = []
        for i, (name, a) in enumerate(inputs):
            f = f"{out}_in{i}.bin"
            np.ascontiguousarray(a).tofile(f)
            feeds.append({"name": name, "type": str(a.dtype), "dims": list(a.shape), "file": f})
        job["runs"].append({"model": os.path.abspath(model), "inputs": feeds, "out": out})
    jf = os.path.join(work, f"{tag}_job.json")
    with open(jf, "w") as f:
        json.dump(job, f)
    r = run(["node", os.path.join(HERE, "run_ort.js"), jf])
    if r.returncode != 0:
        raise RuntimeError("ONNX Runtime: " + r.stderr.strip())
    result = []
    for jr in job["runs"]:
        meta = json.load(open(jr["out"] + ".json"))
        result.append([np.fromfile(f"{jr['out']}_{i}.bin", dtype=m["type"]).reshape(m["dims"])
                       for i, m in enumerate(meta)])
    return result


def graph_inputs(model):
    inits = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def diff_stats(pairs, lsb):
    """pairs: [(label, got, want)] -> (values, differing, worst in LSB (or x tolerance), where)."""
    total, differing, worst, where = 0, 0, 0.0, ""
    for label, g, w in pairs:
        g, w = g.reshape(-1).astype(np.float64), w.reshape(-1).astype(np.float64)
        total += w.size
        if lsb(label) is None:  # float: rtol 1e-4, atol 1e-4 of the output's range
            err = np.abs(g - w) / (1e-4 * np.abs(w) + 1e-4 * max(1.0, float(np.max(np.abs(w), initial=0))))
            differing += int(np.sum(err > 1))
        else:
            err = np.abs(g - w) / lsb(label)
            differing += int(np.sum(err > 1e-3))
        j = int(np.argmax(err)) if err.size else 0
        if err.size and err[j] > worst:
            worst, where = float(err[j]), f"{label} [{j}]: tinyc {g[j]:.6g}, ONNX Runtime {w[j]:.6g}"
    return total, differing, worst, where


class Case:
    def __init__(self, args, idx, label, mdir, extra, mode):
        self.args, self.label, self.mdir, self.extra, self.mode = args, label, mdir, extra, mode
        self.tag = f"m{idx}"
        self.work = os.path.join(args.work, self.tag)
        self.gen, self.name = os.path.join(self.work, "gen"), f"oracle_{idx}"
        self.emitted = os.path.join(self.work, "emitted.onnx")
        self.report = os.path.join(self.work, "report.json")
        self.model = os.path.join(mdir, "model.onnx")

    def compile(self, out, emitted):
        r = run([self.args.tinyc, "compile", self.model, "--target", "host", "-o", out, "--name", self.name, "-q",
                 "--emit-onnx", emitted, "--report", self.report, *self.extra])
        if r.returncode != 0:
            raise RuntimeError("tinyc compile: " + r.stderr.strip())

    def check(self):
        os.makedirs(self.work, exist_ok=True)
        self.compile(self.gen, self.emitted)
        self.compile(self.gen + "_again", self.emitted + ".again")
        if open(self.emitted, "rb").read() != open(self.emitted + ".again", "rb").read():
            raise RuntimeError("--emit-onnx is not byte-identical when compiled twice")
        emitted = onnx.load(self.emitted)
        onnx.checker.check_model(emitted, full_check=True)
        data = os.path.join(self.mdir, "data")
        sets = load_sets(data if os.path.isdir(data) else self.mdir)[:self.args.sets]
        if not sets:
            raise RuntimeError("no test data set")
        reference = self.model if self.mode == "original" else self.emitted
        ref_model = onnx.load(reference, load_external_data=False)
        names = graph_inputs(ref_model)
        want = ort_run([(reference, list(zip(names, ins)), os.path.join(self.work, f"ort_set{k}"))
                        for k, (ins, _) in enumerate(sets)], self.work, "model")
        with open(os.path.join(self.work, "trace.h"), "w") as f:
            f.write(TRACE.format(self.name))
        exe, err = build_batch([{"name": self.name, "out": self.gen, "n_in": len(names), "n_out": len(want[0])}],
                               self.work, self.args.cxx, "exe",
                               ["-DTINYC_TRACE", "-include", os.path.join(self.work, "trace.h")])
        if exe is None:
            raise RuntimeError("build: " + err.strip().splitlines()[0])
        got = []
        for k, (ins, _) in enumerate(sets):
            d = os.path.join(self.work, f"set{k}")
            os.makedirs(d, exist_ok=True)
            for i, a in enumerate(ins):
                np.ascontiguousarray(a).tofile(os.path.join(d, f"in_{i}.bin"))
            r = subprocess.run([exe, self.name, d], capture_output=True, timeout=120,
                               env={**os.environ, "TINYC_TRACE_DIR": d})
            if r.returncode != 0:
                raise RuntimeError(f"generated code exits {r.returncode}")
            got.append([np.fromfile(os.path.join(d, f"out_{i}.bin"), dtype=w.dtype) for i, w in enumerate(want[0])])
        lsb = output_lsb(ref_model)
        pairs = [(f"set {k} output {i}", g, w) for k in range(len(sets)) for i, (g, w) in enumerate(zip(got[k], want[k]))]
        total, differing, worst, where = diff_stats(pairs, lambda label: lsb[int(label.split()[-1])])
        whole = f"{total} values over {len(sets)} sets, {differing} differ, largest {worst:.3g} " \
                f"{'x tolerance' if None in lsb else 'LSB'} ({where})"
        if None in lsb:  # float
            return worst <= 1, "whole model: " + whole
        ok, layers = self.layers(emitted, sets)
        if self.mode == "original":
            # ONNX Runtime is held to the model's own reference outputs the same way: the generated
            # code may be as far from it as they are, and at least 1 LSB.
            refs = [(f"set {k} output {i}", w, r) for k, (_, outs) in enumerate(sets)
                    for i, (w, r) in enumerate(zip(want[k], outs))]
            allowed = max(1.0, diff_stats(refs, lambda label: lsb[int(label.split()[-1])])[2])
            return ok and worst <= allowed + 1e-3, (f"int8 layers: {layers}; whole model against ONNX Runtime on "
                                                   f"the original (within {allowed:g} LSB, as far as ONNX Runtime is "
                                                   f"from the reference outputs): {whole}")
        return ok, f"int8 layers: {layers}; whole model (not asserted): {whole}"

    def layers(self, emitted, sets):
        """Each int8 layer of the report in ONNX Runtime on the generated code's own inputs."""
        report = json.load(open(self.report))
        traced = {}  # tensor -> (layer index, output index, shape)
        for layer in report["layers"]:
            for k, t in enumerate(layer["output_tensors"]):
                traced[t] = (layer["index"], k, layer["outputs"][k])
        inits = {t.name for t in emitted.graph.initializer}
        producer = {o: n for n in emitted.graph.node for o in n.output}

        def int8_inputs(y):  # the non-constant tensors DequantizeLinear reads on the way to y
            seen, todo, found = set(), [y], []
            while todo:
                n = producer.get(todo.pop())
                if n is None or n.name in seen:
                    continue
                seen.add(n.name)
                for i in n.input:
                    if n.op_type == "DequantizeLinear" and i == n.input[0] and i not in inits:
                        found.append(i)
                    elif i and i not in inits:
                        todo.append(i)
            return sorted(set(found))

        fed = dict(zip(graph_inputs(emitted), range(len(sets[0][0]))))  # graph input -> index

        def trace(t, k):
            if t in fed:
                return sets[k][0][fed[t]]
            layer, out, shape = traced[t]
            dtype = np.uint8 if types.get(t) == onnx.TensorProto.UINT8 else np.int8  # (a uint8 graph output)
            return np.fromfile(os.path.join(self.work, f"set{k}", f"L{layer}_{out}.bin"), dtype=dtype).reshape(shape)

        # Tensors whose shape ONNX's inference cannot give (outputs of com.microsoft operators)
        # get it from the report, so that a layer reading them can be cut out of the model.
        inferred = onnx.shape_inference.infer_shapes(emitted)
        known = {v.name for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
        types = {v.name: v.type.tensor_type.elem_type
                 for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
        for t, (_, _, shape) in traced.items():
            if t not in known:
                emitted.graph.value_info.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.INT8, shape))
        runs, checks = [], []
        extractor = onnx.utils.Extractor(emitted)
        for layer in report["layers"]:
            if layer["op"] not in INT8_OPS:
                continue
            y = layer["output_tensors"][0]
            xs = int8_inputs(y)
            part = os.path.join(self.work, f"layer{layer['index']}.onnx")
            onnx.save(extractor.extract_model(xs, [y]), part)
            for k in range(len(sets)):
                runs.append((part, [(x, trace(x, k)) for x in xs], os.path.join(self.work, f"ort_L{layer['index']}_set{k}")))
                checks.append((f"set {k} layer {layer['index']} '{layer['name']}' ({layer['op']})", trace(y, k)))
        if not runs:
            return True, "no int8 layer"
        results = ort_run(runs, self.work, "layers")
        pairs = [(label, g, r[0]) for (label, g), r in zip(checks, results)]
        total, differing, worst, where = diff_stats(pairs, lambda label: 1.0)
        n_layers = len(runs) // len(sets)
        return worst <= 1 + 1e-3, (f"{n_layers} layers, {total} values, {differing} differ by 1 LSB, "
                                   f"largest {worst:.3g} LSB ({where})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--sets", type=int, default=5, help="test data sets per model")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cases = []
    for mdir in args.models:
        if not os.path.exists(os.path.join(mdir, "model.onnx")):
            continue
        base = os.path.basename(os.path.normpath(mdir))
        if pre_quantized(onnx.load(os.path.join(mdir, "model.onnx"), load_external_data=False)):
            cases.append((f"{base} (pre-quantized)", mdir, [], "original"))
            cases.append((f"{base} (pre-quantized, TFLite requantization)", mdir, ["--requantization", "tflite"], "emitted"))
            continue
        cases.append((f"{base} float", mdir, [], "emitted"))
        calib = os.path.join(mdir, "data", "calib.npy")
        if os.path.exists(calib):
            cases.append((f"{base} int8", mdir, ["--quantize", "int8", "--calibration", calib], "emitted"))
    if not cases:
        print("no model to check")
        return 1
    failures = []
    for idx, c in enumerate(cases):
        case = Case(args, idx, *c)
        try:
            ok, line = case.check()
        except Exception as e:  # noqa: BLE001 (every failure is reported, none stops the others)
            ok, line = False, f"{type(e).__name__}: {e}"
        print(("ok    " if ok else "FAIL  ") + f"{case.label}: {line}", flush=True)
        if not ok:
            failures.append(case.label)
    print(f"{len(cases) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
