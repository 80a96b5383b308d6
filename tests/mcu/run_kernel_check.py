#!/usr/bin/python3
"""Builds tests/mcu/kernel_check.cpp for each given core and runs it under qemu: the int8 kernels,
with that core's own ISA path, against a straightforward loop on random shapes."""
import argparse
import os
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
        obj, elf = os.path.join(work, "kernel_check.o"), os.path.join(work, "kernel_check.elf")
        try:
            b.compile(os.path.join(HERE, "kernel_check.cpp"), obj,
                      [*q.CXXFLAGS, "-Werror", "-I", os.path.join(HERE, "..", ".."), "-I", os.path.join(HERE, "..", "..", "runtime")])
            b.link([obj], elf)
            out = q.run_qemu(machine, elf, work, 300)
            print(f"PASS {target}: {out.strip().splitlines()[-1]}")
        except q.Fail as e:  # a mismatch exits 1: the message carries the lines naming the cases
            print(f"FAIL {target}: {e}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
