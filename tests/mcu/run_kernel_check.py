#!/usr/bin/python3
"""Builds tests/mcu/kernel_check.cpp for each given core and runs it under qemu: the int8 kernels,
with that core's own ISA path, against a straightforward loop on random shapes."""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_on_qemu as q  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    failed = False
    for target in args.targets:
        machine = q.TARGETS[target][0]
        work = os.path.join(args.work, target)
        b = q.Builder(target, machine, work)
        obj = os.path.join(work, "kernel_check.o")
        b.compile(os.path.join(HERE, "kernel_check.cpp"), obj,
                  [*q.CXXFLAGS, "-Werror", "-I", os.path.join(HERE, "..", "..", "runtime")])
        elf = os.path.join(work, "kernel_check.elf")
        r = q.run([b.cxx, *b.cpu, *q.LINKFLAGS, "-L", os.path.join(HERE, "ld"), "-T", f"{machine}.ld", b.startup, obj,
                   "-o", elf])
        if r.returncode != 0:
            print(f"FAIL {target}: link: {q.first_error(r.stderr)}")
            failed = True
            continue
        r = subprocess.run(["qemu-system-arm", "-machine", machine, "-nographic", "-monitor", "none",
                            "-semihosting-config", "enable=on,target=native", "-kernel", elf],
                           capture_output=True, text=True, timeout=300)
        last = (r.stdout.strip().splitlines() or ["no output"])[-1]
        print(f"{'PASS' if r.returncode == 0 else 'FAIL'} {target}: {last}")
        if r.returncode != 0:
            print(r.stdout[-2000:])
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
