#!/usr/bin/python3
"""int8 accuracy: for every labelled model folder (data/labels.npy, data/eval.npz or an accuracy in
model_info.json), quantize with data/calib.npy and compare top-1 accuracy of float and int8 on
data/eval.npz (inputs, labels), both through tinyc's evaluator (`tinyc run`, which runs the very
kernels that are emitted). Fails when int8 loses more than --max-drop points, when a labelled model
lacks eval.npz or calib.npy, or when no model is evaluated. Prints the models skipped for having no
labels, with model_info.json's reason, and a Markdown table."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def run(tinyc, model, inputs, out, extra):
    r = subprocess.run([tinyc, "run", model, "--input", inputs, "--output-dir", out, "-q", *extra],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return np.load(os.path.join(out, "output_0.npy"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--models", required=True, help="folder of model folders")
    ap.add_argument("--max-drop", type=float, default=1.0, help="allowed accuracy loss in points")
    ap.add_argument("--limit", type=int, default=0, help="evaluate at most this many samples")
    args = ap.parse_args()
    rows, failed = [], False
    for name in sorted(os.listdir(args.models)):
        d = os.path.join(args.models, name)
        if not os.path.exists(os.path.join(d, "model.onnx")):
            continue
        ev, calib = os.path.join(d, "data", "eval.npz"), os.path.join(d, "data", "calib.npy")
        info = os.path.join(d, "model_info.json")
        info = json.load(open(info)) if os.path.exists(info) else {}
        if not (os.path.exists(ev) or os.path.exists(os.path.join(d, "data", "labels.npy"))
                or info.get("float_accuracy")):
            print(f"skipped {name}, no labels: {info.get('labels', 'no labels.npy, eval.npz or accuracy')}")
            continue
        missing = [os.path.relpath(f, d) for f in (ev, calib) if not os.path.exists(f)]
        if missing:
            rows.append((name, "-", "-", "-", f"FAIL: labelled, but no {' or '.join(missing)}"))
            failed = True
            continue
        data = np.load(ev)
        x, y = data["inputs"], data["labels"]
        if args.limit:
            x, y = x[:args.limit], y[:args.limit]
        with tempfile.TemporaryDirectory() as tmp:
            xs = os.path.join(tmp, "x.npy")
            np.save(xs, np.ascontiguousarray(x))
            model = os.path.join(d, "model.onnx")
            try:
                f = run(args.tinyc, model, xs, os.path.join(tmp, "f"), [])
                q = run(args.tinyc, model, xs, os.path.join(tmp, "q"), ["--quantize", "int8", "--calibration", calib])
            except RuntimeError as e:
                rows.append((name, "-", "-", "-", f"FAIL: {e}"))
                failed = True
                continue
        n = len(y)
        fa = 100.0 * np.mean(f.reshape(n, -1).argmax(1) == y)
        qa = 100.0 * np.mean(q.reshape(n, -1).argmax(1) == y)
        agree = 100.0 * np.mean(f.reshape(n, -1).argmax(1) == q.reshape(n, -1).argmax(1))
        ok = fa - qa <= args.max_drop
        failed |= not ok
        rows.append((name, f"{fa:.2f} %", f"{qa:.2f} %", f"{agree:.2f} %", "pass" if ok else "FAIL"))
    print("| model | float top-1 | int8 top-1 | top-1 agreement | check |")
    print("| --- | ---: | ---: | ---: | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if not rows:
        print(f"FAIL: no labelled model in {args.models}")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
