#!/usr/bin/python3
"""Where the instructions of a firmware go: runs a firmware that tests/mcu/run_on_qemu.py built
(its folder WORK/TARGET/NAME) once more under qemu, one instruction per translation block with
the exec trace on, and counts how often each address ran. Prints the instructions per function
and, with --function, that function's disassembly with the count of each instruction. Not a test.

  /usr/bin/python3 bench/pc_profile.py build/bench-layers/run/pointwise_64/cortex-m4/pointwise_64 \
      --function quad_times_rows --min 1000

The trace of a few million instructions takes about a minute and a few GB in a temporary file.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "mcu"))
from run_on_qemu import TARGETS  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", help="WORK/TARGET/NAME of a run_on_qemu.py run (fw/fw.elf, run/test_data_set_0)")
    ap.add_argument("--function", help="show the instructions of the functions whose name contains this")
    ap.add_argument("--min", type=int, default=1, help="only instructions that ran at least this often")
    a = ap.parse_args()
    folder = os.path.abspath(a.folder)
    target = os.path.basename(os.path.dirname(folder))
    elf = os.path.join(folder, "fw", "fw.elf")
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "exec.log")
        subprocess.run(["qemu-system-arm", "-machine", TARGETS[target][0], "-nographic", "-monitor", "none",
                        "-semihosting-config", "enable=on,target=native", "-singlestep", "-d", "exec,nochain",
                        "-D", log, "-kernel", elf], cwd=os.path.join(folder, "run", "test_data_set_0"),
                       capture_output=True, timeout=1800, check=True)
        counts = collections.Counter()
        pat = re.compile(rb"\[[0-9a-f]+/([0-9a-f]+)/")
        with open(log, "rb") as f:
            for line in f:
                m = pat.search(line)
                if m:
                    counts[int(m.group(1), 16)] += 1
    arch = ["-m", "armv8.1-m.main"] if target == "cortex-m55" else []  # else MVE shows as coprocessor ops
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", "-C", "--no-show-raw-insn", *arch, elf], capture_output=True,
                         text=True, check=True).stdout
    func, per_function, lines = None, collections.Counter(), []
    for line in dis.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            func = m.group(2)
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
        if m and func:
            pc = int(m.group(1), 16)
            per_function[func] += counts.get(pc, 0)
            lines.append((func, pc, m.group(2)))
    print(f"{sum(counts.values()):,} instructions")
    for f, c in per_function.most_common(12):
        print(f"{c:14,}  {f[:100]}")
    if a.function:
        for f, pc, text in lines:
            if a.function in f and counts.get(pc, 0) >= a.min:
                print(f"{counts[pc]:10}  {pc:8x}  {text[:80]}")


if __name__ == "__main__":
    main()
