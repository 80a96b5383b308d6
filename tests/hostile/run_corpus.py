#!/usr/bin/python3
"""Runs `tinyc compile` on every case of the hostile corpus (make_corpus.py) and checks, for each:
the documented exit code; exactly one stderr line, 'tinyc: error: ...', holding the case's words
(node name and operator for node errors); under 5 s; OUTDIR untouched (an existing one with a
sentinel file keeps exactly that, a missing one stays missing); nothing new beside OUTDIR. The
odd-names cases must compile, with every file inside OUTDIR. Then the manifest cases
(check_manifest): a compile removes what the manifest of an earlier one lists and it no longer
writes, never a file outside OUTDIR, through a symlink or not listed, and a failed compile
(even one failing half-way through replacing the files) leaves OUTDIR as it was. One line per
case; exit 1 if any fails.

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


MODELS = os.path.join(os.path.dirname(HERE), "models")
MANIFEST = "tinyc-manifest.txt"


def snapshot(d):
    """Every path below d: a symlink's target, a file's bytes, or None for a folder."""
    r = {}
    for root, dirs, files in os.walk(d):
        for f in files + dirs:
            p = os.path.join(root, f)
            if os.path.islink(p):
                r[os.path.relpath(p, d)] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                r[os.path.relpath(p, d)] = None
            else:
                with open(p, "rb") as fh:
                    r[os.path.relpath(p, d)] = fh.read()
    return r


def write(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def manifest_lines(out):
    with open(os.path.join(out, MANIFEST)) as f:
        return [l for l in f.read().splitlines() if l and not l.startswith("#")]


def check_manifest(tinyc, work):
    """Returns [(case, problems)]: what tinyc removes by the manifest of an earlier compile."""
    results = []

    def compile_(out, model="mlp", name="model", code=0):
        p = subprocess.run([tinyc, "compile", os.path.join(MODELS, model, "model.onnx"), "--target", "host",
                            "-o", out, "--name", name, "-q"], capture_output=True, text=True, timeout=60)
        return [] if p.returncode == code else [f"exit {p.returncode}, expected {code}: {p.stderr.strip()[:200]}"]

    # A model compiled under another name: the old name's files go, the user's stay.
    root = os.path.join(work, "manifest", "renamed")
    out = os.path.join(root, "out")
    write(os.path.join(out, "user.cpp"), "int user;\n")
    problems = compile_(out, name="first") + compile_(out, name="second")
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    want = ["second.cpp", "second.h", "second_weights.cpp", "second_weights.h", "tinyc", MANIFEST, "user.cpp"]
    if names != sorted(want):
        problems.append(f"OUTDIR holds {names}, expected {sorted(want)}")
    elif sorted(manifest_lines(out)) != sorted(f for f, v in snapshot(out).items()
                                               if v is not None and f not in ("user.cpp", MANIFEST)):
        problems.append(f"the manifest does not list exactly the files written: {manifest_lines(out)}")
    results.append(("manifest: renamed model", problems))

    # A runtime header that a newer tinyc no longer ships goes; the user's beside it stays.
    with open(os.path.join(out, MANIFEST), "a") as f:
        f.write("tinyc/retired.h\n")
    write(os.path.join(out, "tinyc", "retired.h"), "#error stale\n")
    write(os.path.join(out, "tinyc", "mine.h"), "/* the user's */\n")
    problems = compile_(out, name="second")
    if os.path.exists(os.path.join(out, "tinyc", "retired.h")):
        problems.append("tinyc/retired.h, listed and no longer written, was not removed")
    if not os.path.exists(os.path.join(out, "tinyc", "mine.h")) or not os.path.exists(os.path.join(out, "user.cpp")):
        problems.append("a file the manifest does not list was removed")
    results.append(("manifest: retired runtime header", problems))

    # A hostile manifest: paths out of OUTDIR (relative, absolute; an absolute path into the work
    # folder stands for /etc/passwd, which a test run as root must not put at risk), through a
    # symlinked folder, a symlink itself, a folder, odd spellings. Nothing may go, in or out.
    root = os.path.join(work, "manifest", "hostile")
    victim = os.path.join(root, "victim")
    out = os.path.join(root, "deep", "er", "out")
    write(os.path.join(victim, "x.txt"), "outside\n")
    write(os.path.join(victim, "dir", "y.txt"), "outside, behind a symlinked folder\n")
    write(os.path.join(out, "sub", "z.txt"), "the user's\n")
    write(os.path.join(out, "user.txt"), "the user's\n")
    os.symlink(os.path.join(victim, "dir"), os.path.join(out, "link"))
    os.symlink(os.path.join(victim, "x.txt"), os.path.join(out, "flink.cpp"))
    lines = ["../../../victim/x.txt", os.path.join(victim, "x.txt"), "/" + os.path.join(victim, "x.txt"),
             "link/y.txt", "link/../../victim/x.txt", "flink.cpp", "sub", "sub/../user.txt", "./user.txt",
             "sub//z.txt", "sub/z.txt/", "..", ".", "", "user.txt\r", " user.txt", "sub\\z.txt", "user.txt\0x",
             "\u00fcser.txt", ".hidden"]
    write(os.path.join(out, MANIFEST), "\n".join(lines) + "\n")
    write(os.path.join(out, ".hidden"), "the user's\n")
    before_out, before_victim = snapshot(out), snapshot(victim)
    problems = compile_(out)
    after_out = snapshot(out)
    gone = sorted(k for k in before_out if k not in after_out)
    if gone:
        problems.append(f"removed from OUTDIR: {gone}")
    changed = sorted(k for k in before_out if k in after_out and after_out[k] != before_out[k] and k != MANIFEST)
    if changed:
        problems.append(f"changed in OUTDIR: {changed}")
    if snapshot(victim) != before_victim:
        problems.append("changed outside OUTDIR")
    results.append(("manifest: hostile entries", problems))

    # A manifest that is a symlink (to a list naming the user's file) is not read, and the list it
    # points to is not written.
    root = os.path.join(work, "manifest", "symlinked")
    out = os.path.join(root, "out")
    write(os.path.join(root, "list.txt"), "keep.cpp\n")
    write(os.path.join(out, "keep.cpp"), "int keep;\n")
    os.symlink(os.path.join(root, "list.txt"), os.path.join(out, MANIFEST))
    problems = compile_(out)
    if not os.path.exists(os.path.join(out, "keep.cpp")):
        problems.append("removed a file named by a symlinked manifest")
    with open(os.path.join(root, "list.txt")) as f:
        if f.read() != "keep.cpp\n":
            problems.append("wrote through the symlinked manifest")
    if os.path.islink(os.path.join(out, MANIFEST)):
        problems.append("the symlink is still the manifest")
    results.append(("manifest: symlinked manifest", problems))

    # A failed compile leaves everything, the files the manifest lists too: a model error before
    # anything is written, and a write that fails half-way (model.cpp is a folder in the way, after
    # model.h and the weights were replaced and the retired file moved away).
    root = os.path.join(work, "manifest", "failure")
    out = os.path.join(root, "out")
    problems = compile_(out)
    with open(os.path.join(out, MANIFEST), "a") as f:
        f.write("retired.cpp\n")
    write(os.path.join(out, "retired.cpp"), "int retired;\n")
    with open(os.path.join(root, "cut.onnx"), "wb") as f, open(os.path.join(MODELS, "dscnn", "model.onnx"), "rb") as m:
        f.write(m.read()[:1000])
    before = snapshot(out)
    p = subprocess.run([tinyc, "compile", os.path.join(root, "cut.onnx"), "--target", "host", "-o", out, "--name",
                        "model", "-q"], capture_output=True, timeout=60)
    if p.returncode != 2:
        problems.append(f"a truncated model: exit {p.returncode}, expected 2")
    if snapshot(out) != before:
        problems.append("a model error changed OUTDIR")
    os.remove(os.path.join(out, "model.cpp"))
    write(os.path.join(out, "model.cpp", "in_the_way.txt"), "a folder where model.cpp goes\n")
    before, before_listing = snapshot(out), listing(root)
    problems += compile_(out, model="dscnn", code=4)
    if snapshot(out) != before or listing(root) != before_listing:
        problems.append("a write that failed half-way changed OUTDIR or its folder")
    results.append(("manifest: failures change nothing", problems))
    return results


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
    manifest = [] if a.only else check_manifest(tinyc, a.work)
    for name, problems in manifest:
        print(f"{'ok  ' if not problems else 'FAIL'} {name}" + ("" if not problems else "  " + "; ".join(problems)))
        if problems:
            failed.append(name)
    if manifest:
        print(f"{sum(not p for _, p in manifest)}/{len(manifest)} manifest cases pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
