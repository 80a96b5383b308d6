#!/usr/bin/python3
"""Runs `tinyc compile` on every case of the hostile corpus (make_corpus.py) and checks, for each:
the documented exit code; exactly one stderr line, 'tinyc: error: ...', holding the case's words
(node name and operator for node errors); under 5 s; OUTDIR untouched (an existing one with a
sentinel file keeps exactly that, a missing one stays missing); nothing new beside OUTDIR. The
odd-names cases must compile, with every file inside OUTDIR. One line per case; exit 1 if any fails.

    run_corpus.py --tinyc build/tinyc --work DIR"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT_S = 5.0


def listing(d):
    r = {}
    for root, dirs, files in os.walk(d):
        for f in files + dirs:
            p = os.path.join(root, f)
            st = os.lstat(p)
            r[os.path.relpath(p, d)] = (st.st_size, st.st_mtime_ns) if not os.path.isdir(p) else None
    return r


def run_one(tinyc, corpus, case, parent, out_exists):
    """Returns a list of problems (empty: the case passes) and the time taken."""
    shutil.rmtree(parent, ignore_errors=True)
    os.makedirs(parent)
    out = os.path.join(parent, "out")
    args = [a for a in case["args"] if not a.startswith("@")]
    if "@OUT_IS_FILE" in case["args"]:
        with open(out, "w") as f:
            f.write("a file, not a folder\n")
    elif out_exists:
        os.makedirs(out)
        with open(os.path.join(out, "sentinel.txt"), "w") as f:
            f.write("left alone\n")
    before = listing(parent)
    cmd = [tinyc, "compile", os.path.join(corpus, case["model"]), "--target", "cortex-m4", "-o", out]
    if "--target" in args:  # the case's own target replaces the default
        i = cmd.index("--target")
        del cmd[i:i + 2]
    cmd += args
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return ["hangs (killed after 30 s)"], 30.0
    dt = time.monotonic() - t0
    problems = []
    err = p.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    if dt > LIMIT_S:
        problems.append(f"took {dt:.1f} s")
    if p.returncode != case["code"]:
        problems.append(f"exit {p.returncode}, expected {case['code']}")
    after = listing(parent)
    if case["valid"]:
        if err:
            problems.append(f"stderr not empty: {err!r}")
        new_beside = sorted(k for k in after if k not in before and not k.startswith("out"))
        if new_beside:
            problems.append(f"wrote beside OUTDIR: {new_beside}")
        if not any(k.startswith("out" + os.sep) and k.endswith(".h") for k in after):
            problems.append("no header in OUTDIR")
        return problems, dt
    if len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines: {err!r}")
    elif not lines[0].startswith("tinyc: error: "):
        problems.append(f"stderr line is not 'tinyc: error: ...': {lines[0]!r}")
    else:
        for w in case["expect"]:
            if w not in lines[0]:
                problems.append(f"message does not name {w!r}: {lines[0]!r}")
    if after != before:
        added = sorted(set(after) - set(before))
        changed = sorted(k for k in before if after.get(k, "gone") != before[k])
        problems.append(f"files changed: added {added}, changed/removed {changed}")
    return problems, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", help="run only the cases whose name contains this")
    a = ap.parse_args()
    tinyc = os.path.abspath(a.tinyc)
    corpus = os.path.join(a.work, "corpus")
    shutil.rmtree(a.work, ignore_errors=True)
    subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), corpus], check=True)
    with open(os.path.join(corpus, "cases.json")) as f:
        cases = json.load(f)
    failed, slowest = [], 0.0
    for case in cases:
        if a.only and a.only not in case["name"]:
            continue
        problems, times = [], []
        variants = [True] if case["valid"] or "@OUT_IS_FILE" in case["args"] else [True, False]
        for exists in variants:
            pr, dt = run_one(tinyc, corpus, case, os.path.join(a.work, "runs", case["name"]), exists)
            problems += [("existing OUTDIR: " if exists else "missing OUTDIR: ") + x for x in pr]
            times.append(dt)
        slowest = max(slowest, *times)
        status = "ok  " if not problems else "FAIL"
        print(f"{status} {case['name']:<32} exit {case['code']}  {max(times):.2f} s" +
              ("" if not problems else "  " + "; ".join(problems)))
        if problems:
            failed.append(case["name"])
    print(f"{len(cases) - len(failed)}/{len(cases)} hostile cases pass; slowest {slowest:.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
