#!/usr/bin/python3
"""Markdown table of tinyc's generated code on emulated Cortex-M cores: instructions per inference,
peak stack, arena and the .text/.rodata/.data/.bss the model adds to a firmware, for models x
targets, measured with tests/mcu/run_on_qemu.py (qemu-system-arm, -icount shift=8).

    /usr/bin/python3 bench/mcu_table.py --tinyc build/tinyc \\
        --model tests/models/dscnn --model ../shared/models/kws-dscnn \\
        --targets cortex-m4,cortex-m55 [--sets 5] [--out table.md] [--json figures.json]

Without --model: every folder of tests/models/ and of ../shared/models/ (if present) with a
model.onnx. Exits 1 if any model fails on any target (the table still shows the others).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RUNNER = os.path.join(REPO, "tests", "mcu", "run_on_qemu.py")


def default_models():
    dirs = []
    for base in (os.path.join(REPO, "tests", "models"), os.path.join(REPO, "..", "shared", "models")):
        if os.path.isdir(base):
            dirs += sorted(os.path.join(base, d) for d in os.listdir(base)
                           if os.path.exists(os.path.join(base, d, "model.onnx")))
    return dirs


def num(v):
    return f"{v:,}"


def table(results, sets):
    rows = ["| model | target | instructions | stack | arena | .text | .rodata | .data | .bss | check |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    notes = []
    for r in results:
        if not r.get("insns"):
            rows.append(f"| {r['model']} | {r['target']} | - | - | - | - | - | - | - | FAIL: "
                        f"{r.get('error', '?').replace('|', '/')[:160]} |")
            continue
        s = r["sections"]
        check = "pass" if r["ok"] else "FAIL (mismatch)"
        mark = ""
        if r["notes"] or r.get("failures"):
            notes.append((r, r["notes"] + r.get("failures", [])[:3]))
            mark = f" [{len(notes)}]"
        lo, hi = min(r["insns"]), max(r["insns"])
        insns = num(hi) if lo == hi else f"{num(hi)} (min {num(lo)})"
        rows.append(f"| {r['model']} | {r['target']}{mark} | {insns} | {num(max(r['stack']))} | {num(r['arena'])} "
                    f"| {num(s['text'])} | {num(s['rodata'])} | {num(s['data'])} | {num(s['bss'])} | {check} |")
    out = "\n".join(rows) + "\n"
    out += ("\nInstructions: executed instructions of one `NAME_run` call under qemu `-icount shift=8` "
            f"(the most over {'all' if sets >= 1000 else f'at most {sets}'} test data sets, with the "
            "least where they differ), the cost of an empty measured region subtracted. Instructions "
            "are not cycles. Stack: peak bytes below the caller's sp (painted stack). .text/.rodata/"
            ".data/.bss: the firmware's sections minus those of the same firmware around an empty model "
            "(so library code the model pulls in counts; alignment makes them exact to a few bytes). "
            "Check: outputs against `tinyc run` on the host (float rtol 1e-5 + 1e-6 x max|output|, "
            "integers exact).\n")
    machines = {}
    for r in results:
        if "empty_insns" in r:
            machines.setdefault(r["machine"], (r["empty_insns"], r["loop1000_insns"]))
    if machines:
        out += "\n| qemu machine | empty region (instructions) | 1000-iteration subs/bne loop |\n| --- | ---: | ---: |\n"
        for m, (e, l) in sorted(machines.items()):
            out += f"| {m} | {e} | {l} |\n"
    if notes:
        out += "\n"
    for i, (r, ns) in enumerate(notes, 1):
        out += f"- [{i}] {r['model']} on {r['target']}: " + "; ".join(ns) + "\n"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tinyc", default=os.path.join(REPO, "build", "tinyc"))
    ap.add_argument("--model", action="append", help="model folder; repeatable (default: all)")
    ap.add_argument("--targets", default="cortex-m4", help="comma-separated tinyc targets")
    ap.add_argument("--sets", type=int, default=1000)
    ap.add_argument("--work", default=os.path.join(REPO, "build", "mcu"))
    ap.add_argument("--tinyc-args", default="", help="extra `tinyc compile` options, one string")
    ap.add_argument("--run-args", default="", help="extra `tinyc run` options, one string")
    ap.add_argument("--out", help="write the table here instead of stdout")
    ap.add_argument("--json", help="also save every figure")
    args = ap.parse_args()
    models = args.model or default_models()

    results = []
    for target in args.targets.split(","):
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            cmd = [sys.executable, RUNNER, "--tinyc", args.tinyc, "--target", target, "--sets", str(args.sets),
                   "--work", args.work, "--json", tmp.name, f"--tinyc-args={args.tinyc_args}", f"--run-args={args.run_args}"]
            for m in models:
                cmd += ["--model", m]
            subprocess.run(cmd, stdout=sys.stderr)  # progress lines on stderr
            try:
                with open(tmp.name) as f:
                    results += json.load(f)
            except ValueError:
                results += [{"model": os.path.basename(os.path.normpath(m)), "target": target, "ok": False,
                             "notes": [], "error": "run_on_qemu.py crashed"} for m in models]
    text = table(results, args.sets)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
