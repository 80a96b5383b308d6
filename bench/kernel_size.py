#!/usr/bin/python3
"""The code-size cost of tinyc's kernels: builds one model's firmware for each target with
tests/mcu/run_on_qemu.py (which also runs and checks it) and sums the .text of the out-of-line
tinyc:: functions the firmware links (arm-none-eabi-nm -S), with the model's NAME_run beside it,
since GCC inlines some kernels into it. Not a test: figures, not asserts.

  /usr/bin/python3 bench/kernel_size.py --tinyc build/tinyc --model ../shared/models/mlperf-tiny-kws-dscnn-int8 \\
      [--tinyc-args "--quantize int8 --calibration calib.npy"] [--targets cortex-m4 cortex-m55] [--functions]
      [--runtime DIR]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "mcu"))
from run_on_qemu import TARGETS  # noqa: E402


def text_symbols(elf):
    """(demangled name, bytes) of every function in .text of elf."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "-C", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            yield parts[3], int(parts[1], 16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--model", required=True, help="model folder (model.onnx, data/)")
    ap.add_argument("--tinyc-args", default="", help="extra `tinyc compile` options, one string")
    ap.add_argument("--targets", nargs="+", default=list(TARGETS))
    ap.add_argument("--work", default=os.path.join(HERE, "..", "build", "bench-size"))
    ap.add_argument("--functions", action="store_true", help="also list each kernel function and its size")
    ap.add_argument("--runtime", help="runtime folder whose tinyc/*.h replace the ones tinyc embeds (run_on_qemu.py)")
    a = ap.parse_args()
    name = os.path.basename(os.path.normpath(a.model)).replace("-", "_")
    rows = []
    for target in a.targets:
        extra = ["--tinyc-args", a.tinyc_args, "--run-args", a.tinyc_args] if a.tinyc_args else []
        extra += ["--runtime", a.runtime] if a.runtime else []
        r = subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "mcu", "run_on_qemu.py"), "--tinyc",
                            a.tinyc, "--target", target, "--sets", "1", "--work", a.work, "--model", a.model, *extra],
                           capture_output=True, text=True)
        if not r.stdout.startswith("PASS"):
            sys.exit(r.stdout + r.stderr)
        folder = os.path.join(a.work, target)
        elf = os.path.join(folder, os.listdir(folder)[0], "fw", "fw.elf")
        symbols = list(text_symbols(elf))
        kernels = [(n, s) for n, s in symbols if n.startswith(("tinyc::", "void tinyc::"))]
        run = sum(s for n, s in symbols if n.endswith("_run") or n.endswith("_run_int8"))
        rows.append((target, sum(s for _, s in kernels), run))
        if a.functions:
            for n, s in sorted(kernels, key=lambda k: -k[1]):
                print(f"{target}  {s:6,}  {n}")
    print(f"| target | kernels' .text (tinyc::) | {name}_run and _run_int8 |")
    print("| --- | ---: | ---: |")
    for target, kernels, run in rows:
        print(f"| {target} | {kernels:,} | {run:,} |")


if __name__ == "__main__":
    main()
