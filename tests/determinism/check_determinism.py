#!/usr/bin/python3
"""Determinism: the same model and options give byte-identical output whatever the working folder,
the folders of the model and the output, the time zone, the locale and the process (address-space
layout). Compiles each case twice, the second time from copies of the inputs in another folder,
from another working folder, with relative paths, another TZ and LC_ALL, into an output folder
that already holds the same model compiled under another name (its files must go, by the
manifest), and checks that every
generated file, both reports (JSON, HTML) and the --emit-onnx model are identical and hold no absolute path and no date
or time. One line per case; exit 1 if any fails.

    check_determinism.py --tinyc build/tinyc --work DIR"""
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)

# name, model, extra arguments ({calib}: the model's calibration data)
CASES = [
    ("mlp_float", "models/mlp", []),
    ("gru_kws_float", "models/gru_kws", []),
    ("dscnn_int8", "models/dscnn", ["--quantize", "int8", "--calibration", "{calib}"]),
    ("resnet_int8_percentile", "models/resnet", ["--quantize", "int8", "--calibration", "{calib}",
                                                 "--calibration-method", "percentile", "--per-tensor"]),
    ("lstm_har_int8", "models/lstm_har", ["--quantize", "int8", "--calibration", "{calib}"]),
    ("qlinear_chain", "qlinear/chain", []),
]

DATE_PATTERNS = [re.compile(rb"\b(19|20)\d\d[-/](0[1-9]|1[0-2])[-/](0[1-9]|[12]\d|3[01])\b"),
                 re.compile(rb"\b([01]\d|2[0-3]):[0-5]\d:[0-5]\d\b")]


def files_of(d):
    r = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                r[os.path.relpath(p, d)] = fh.read()
    return r


def compile_once(tinyc, model_dir, args, cwd, out, reports, env):
    """model_dir: the folder holding model.onnx (and data/calib.npy); paths as tinyc gets them."""
    calib = os.path.join(model_dir, "data", "calib.npy")
    cmd = [tinyc, "compile", os.path.join(model_dir, "model.onnx"), "--target", "cortex-m4", "-o", out, "-q"]
    cmd += [a.replace("{calib}", calib) for a in args]
    for r in reports:  # r.onnx: the --emit-onnx model
        cmd += ["--emit-onnx" if r.endswith(".onnx") else "--report", r]
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {p.stderr.strip()[:300]}")
    got = {os.path.join("out", k): v for k, v in files_of(os.path.join(cwd, out)).items()}
    for r in reports:
        with open(os.path.join(cwd, r), "rb") as fh:
            got[os.path.basename(r)] = fh.read()
    return got


def check_case(tinyc, work, name, model, args):
    src = os.path.join(TESTS, model)
    a_dir, b_dir = os.path.join(work, name, "a"), os.path.join(work, name, "b")
    shutil.rmtree(os.path.join(work, name), ignore_errors=True)
    os.makedirs(a_dir)
    # Second run: the model and its data copied elsewhere, reached by a relative path from another
    # working folder, output and reports deeper and relative.
    copy = os.path.join(b_dir, "elsewhere", "models", "copy")
    os.makedirs(os.path.join(copy, "data"))
    shutil.copy(os.path.join(src, "model.onnx"), copy)
    if os.path.exists(os.path.join(src, "data", "calib.npy")):
        shutil.copy(os.path.join(src, "data", "calib.npy"), os.path.join(copy, "data"))
    cwd_b = os.path.join(b_dir, "cwd", "deeper")
    os.makedirs(os.path.join(cwd_b, "reports"))

    env_a = dict(os.environ, TZ="UTC", LC_ALL="C", LANG="C")
    env_b = dict(os.environ, TZ="Pacific/Chatham", LC_ALL="C.UTF-8", LANG="C.UTF-8", HOME=b_dir)
    first = compile_once(tinyc, src, args, a_dir, os.path.join(a_dir, "out"),
                         [os.path.join(a_dir, r) for r in ("r.json", "r.html", "r.onnx")], env_a)
    p = subprocess.run([tinyc, "compile", os.path.join(copy, "model.onnx"), "--target", "cortex-m4", "-o",
                        "x/y/out", "--name", "earlier", "-q"], cwd=cwd_b, env=env_b, capture_output=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"the earlier compile: exit {p.returncode}")
    second = compile_once(tinyc, os.path.relpath(copy, cwd_b), args, cwd_b, "x/y/out",
                          ["reports/r.json", "reports/r.html", "reports/r.onnx"], env_b)

    problems = []
    if sorted(first) != sorted(second):
        problems.append(f"different files: {sorted(set(first) ^ set(second))}")
    for f in sorted(set(first) & set(second)):
        if first[f] != second[f]:
            problems.append(f"{f} differs")
    # No absolute path (of the sources, the work folder, the home folder) and no date or time.
    absolute = {os.path.abspath(p).encode() for p in (TESTS, work, os.path.expanduser("~"), "/tmp")}
    for f, data in sorted(first.items()):
        for p in absolute:
            if len(p) > 1 and p in data:
                problems.append(f"{f} holds the absolute path {p.decode()}")
        for pat in DATE_PATTERNS:
            m = pat.search(data)
            if m:
                problems.append(f"{f} holds a date or time: {m.group(0).decode()}")
        today = datetime.date.today()
        for fmt in ("%Y-%m-%d", "%d %b %Y", "%b %d %Y", "%b %e %Y"):
            if today.strftime(fmt).encode() in data:
                problems.append(f"{f} holds today's date")
    return problems, len(first)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    tinyc, work = os.path.abspath(args.tinyc), os.path.abspath(args.work)
    failed = 0
    for name, model, extra in CASES:
        try:
            problems, n = check_case(tinyc, work, name, model, extra)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            problems, n = [str(e)], 0
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems[:5]))
        else:
            print(f"ok   {name}: {n} files identical, no paths or dates")
    print(f"determinism: {len(CASES) - failed} of {len(CASES)} cases pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
