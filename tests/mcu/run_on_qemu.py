#!/usr/bin/python3
"""Compile ONNX models with tinyc for a Cortex-M target, run them under qemu-system-arm, check the
outputs against tinyc's host evaluator and the test data's references, and measure them.

    /usr/bin/python3 tests/mcu/run_on_qemu.py --tinyc build/tinyc --model tests/models/dscnn \\
        --target cortex-m4 [--sets N] [--work W] [--tinyc-args "--quantize int8 ..."] [--json F]
        [--run-args "..."  (options for the host's `tinyc run`)] [--machine M] [--timeout S] [--profile]
        [--runtime DIR  (DIR/tinyc/**.h over the runtime tinyc embeds)]

For each model (--model may be repeated): `tinyc compile` into W/TARGET/NAME/gen, build a firmware
(tests/mcu/startup.c + main.cpp + every generated *.cpp, the target's GCC flags, --gc-sections) and
the same firmware around an empty model (the baseline), run every test data set
(data/test_data_set_K/input_*.pb) under qemu with -icount shift=8,sleep=off, and compare
out_*.bin with `tinyc run` on the host: floats |got - want| <= rtol*|want| + atol*max|want|
(rtol 1e-5, atol 1e-6), integers exactly; and with the references (output_*.pb, from torch or the
shared models' reference evaluator) by run_node_tests.compare, as the `models` test does: floats
within rtol 1e-3 and atol 1e-5 * max|ref|, integers (pre-quantized models) exactly. Where tinyc
quantizes a float model (--quantize in --tinyc-args) the reference is the float model's output, so
each output's SQNR over all the sets run must be at least --min-sqnr dB and a classifier's top-1
(a model whose model_info.json has class_names; without model_info.json, an output [1, C]) must be
the reference's on every set. A model without reference outputs fails (--no-reference: host only).
Prints one line per model: pass/fail, the values compared with the reference, instructions per
inference (counter ticks converted as in ../shared/emulation.md, minus an empty region), peak
stack, NAME_ARENA_SIZE and the .text/.rodata/.data/.bss the model adds to the firmware (ELF minus
the baseline, so library code the model pulls in, such as expf or soft-float routines, counts).
Exits 1 if any model fails.

With --profile the model is built with -DTINYC_PROFILE and the firmware times every layer; the
first data set's per-layer instructions go to W/TARGET/NAME/profile.csv ("layer,instructions,name"
lines, layer as in the generated NAME.cpp), which `tinyc compile ... --profile FILE --report
r.html` draws. Compile with the same options, so that the layers are the same.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "conformance"))
import run_node_tests  # noqa: E402  (compare: the whole-model tolerance of the `models` test)

MPS2 = ["-DCOUNTER_FPGAIO=0x40028000", "-DCOUNTER_HZ=25000000"]  # FPGAIO base: COUNTER, CLK100HZ
MACHINES = {  # qemu machine: the counter main.cpp reads (see ../shared/emulation.md)
    "microbit": ["-DCOUNTER_NRF51_TIMER0", "-DCOUNTER_HZ=16000000"],
    "mps2-an385": MPS2, "mps2-an386": MPS2, "mps2-an500": MPS2,
    "mps2-an505": ["-DCOUNTER_FPGAIO=0x40302000", "-DCOUNTER_HZ=20000000"],
    "mps3-an547": ["-DCOUNTER_FPGAIO=0x49302000", "-DCOUNTER_HZ=20000000"],
}
TARGETS = {  # tinyc target: qemu machine, GCC flags
    "cortex-m0plus": ("microbit", ["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"]),
    "cortex-m3": ("mps2-an385", ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"]),
    "cortex-m4": ("mps2-an386", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]),
    "cortex-m7": ("mps2-an500", ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]),
    "cortex-m33": ("mps2-an505", ["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"]),
    "cortex-m55": ("mps3-an547", ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"]),
}
CXXFLAGS = ["-std=c++17", "-O2", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics",
            "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"]
LINKFLAGS = ["-nostartfiles", "--specs=nano.specs", "--specs=rdimon.specs", "-Wl,--gc-sections"]
CTYPES = {"float": np.float32, "double": np.float64, "bool": np.bool_, "int8_t": np.int8,
          "int16_t": np.int16, "int32_t": np.int32, "int64_t": np.int64, "uint8_t": np.uint8,
          "uint16_t": np.uint16, "uint32_t": np.uint32, "uint64_t": np.uint64}
SECTIONS = (".text", ".rodata", ".data", ".bss")


class Fail(Exception):
    pass


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def c_ident(s):
    s = re.sub(r"[^A-Za-z0-9_]", "_", s).lower()
    return s if re.match(r"[a-z_]", s) else "m_" + s


def parse_header(path, name):
    up = name.upper()
    text = open(path).read()
    macros = dict(re.findall(r"#define\s+" + up + r"_(\w+)\s+([^\s/]+)", text))
    h = {"arena": int(macros["ARENA_SIZE"]), "inputs": [], "outputs": []}
    for kind, key in (("INPUT", "inputs"), ("OUTPUT", "outputs")):
        for i in range(int(macros[f"NUM_{kind}S"])):
            h[key].append((int(macros[f"{kind}{i}_SIZE"]), macros[f"{kind}{i}_TYPE"]))
    return h


def elf_sections(path):
    """{'.text': n, ...} from `arm-none-eabi-size -A`; object files' .text.foo count as .text."""
    r = run(["arm-none-eabi-size", "-A", path])
    sizes = dict.fromkeys(SECTIONS, 0)
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            for s in SECTIONS:
                if parts[0] == s or parts[0].startswith(s + "."):
                    sizes[s] += int(parts[1])
    return sizes


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def test_sets(model_dir, limit):
    base = os.path.join(model_dir, "data") if os.path.isdir(os.path.join(model_dir, "data")) else model_dir
    sets = [d for d in os.listdir(base) if re.fullmatch(r"test_data_set_\d+", d)]
    sets.sort(key=lambda d: int(d.rsplit("_", 1)[1]))
    return [os.path.join(base, d) for d in sets[:limit]]


def compare(got, want, rtol, atol):
    """None if equal within tolerance, else a description of the worst element."""
    if got.size != want.size:
        return f"size {got.size} != {want.size}"
    got, want = got.reshape(want.shape), want
    if want.dtype.kind == "f":
        g, w = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
        scale = float(np.nanmax(np.abs(w), initial=0.0))
        err = np.abs(g - w)
        tol = rtol * np.abs(w) + atol * scale
        bad = ~((err <= tol) | (np.isnan(g) & np.isnan(w)))
        if bad.any():
            k = int(np.argmax(np.where(bad, err / np.maximum(tol, 1e-300), 0)))
            return (f"{int(bad.sum())} of {w.size} elements differ; worst [{k}]: mcu {g[k]!r} host {w[k]!r} "
                    f"(|d| {err[k]:.3g}, tol {tol[k]:.3g})")
        return None
    if not np.array_equal(got, want):
        d = np.abs(got.astype(np.int64) - want.astype(np.int64)).ravel()
        k = int(np.argmax(d))
        return f"{int((d != 0).sum())} of {d.size} elements differ; worst [{k}]: mcu {got.ravel()[k]} host {want.ravel()[k]}"
    return None


def is_classifier(model_dir, ref):
    """Whether top-1 means something: model_info.json names the classes; the own models (no
    model_info.json, each ending in a Linear layer) give [1, C]."""
    info = os.path.join(model_dir, "model_info.json")
    if os.path.exists(info):
        return "class_names" in json.load(open(info))
    return ref.ndim == 2 and ref.shape[0] == 1 and ref.shape[1] > 1


def sqnr_db(got, ref):
    noise = float(np.sum((got - ref) ** 2))
    return 10 * np.log10(float(np.sum(ref ** 2)) / noise) if noise else float("inf")


def max_abs_diff(a, b):
    if a.size != b.size:
        return float("inf")
    return float(np.max(np.abs(a.astype(np.float64).ravel() - b.astype(np.float64).ravel()), initial=0.0))


class Builder:
    def __init__(self, target, machine, work, cxx="arm-none-eabi-g++", defines=()):
        self.target, self.machine, self.cxx, self.defines = target, machine, cxx, list(defines)
        self.cpu, self.counter = TARGETS[target][1], MACHINES[machine]
        common = os.path.join(work, "_startup", target)
        os.makedirs(common, exist_ok=True)
        self.startup = os.path.join(common, "startup.o")
        self.compile(os.path.join(HERE, "startup.c"), self.startup,
                     ["-x", "c", "-std=c11", "-O2", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"])

    def compile(self, src, obj, flags):
        r = run([self.cxx, *self.cpu, *flags, "-c", src, "-o", obj])
        if r.returncode != 0:
            raise Fail(f"build: {src}: {first_error(r.stderr)}")
        return r.stderr

    def firmware(self, gen, name, out_dir):
        """Objects of every *.cpp under gen, main.o and the linked ELF in out_dir. Returns
        (elf, model objects, warnings of the model's own files)."""
        os.makedirs(out_dir, exist_ok=True)
        objs, warnings = [], []
        for root, _, files in os.walk(gen):
            for f in sorted(files):
                if f.endswith(".cpp"):
                    rel = os.path.relpath(os.path.join(root, f), gen)
                    obj = os.path.join(out_dir, rel.replace(os.sep, "__")[:-4] + ".o")
                    err = self.compile(os.path.join(root, f), obj, [*CXXFLAGS, *self.defines, "-I", gen])
                    if "warning" in err:
                        warnings.append(first_error(err, "warning"))
                    objs.append(obj)
        main_o = os.path.join(out_dir, "main.o")
        self.compile(os.path.join(HERE, "main.cpp"), main_o,
                     [*CXXFLAGS, *self.defines, "-I", gen, f'-DMODEL_HEADER="{name}.h"', f"-DMODEL_NAME={name}",
                      f"-DMODEL_UPPER={name.upper()}", *self.counter])
        elf = os.path.join(out_dir, "fw.elf")
        self.link([main_o, *objs], elf, [f"-Wl,-Map={out_dir}/fw.map"])
        return elf, objs, warnings

    def link(self, objs, elf, flags=()):
        """The ELF of the start-up code and objs for this machine."""
        r = run([self.cxx, *self.cpu, *LINKFLAGS, "-L", os.path.join(HERE, "ld"), "-T", f"{self.machine}.ld",
                 *flags, self.startup, *objs, "-o", elf])
        if r.returncode != 0:
            msgs = [l.split("ld: ", 1)[-1].replace(elf + " ", "") for l in r.stderr.splitlines() if "ld: " in l]
            raise Fail(f"link ({self.machine}): {'; '.join(msgs)[:400] or first_error(r.stderr)}")


def first_error(stderr, word="error"):
    lines = [l for l in stderr.splitlines() if word in l and "messages:" not in l]
    return (lines or stderr.splitlines() or ["failed"])[0].strip()[:300]


def write_stub(base, name, header):
    """An empty model with the same inputs and outputs: the baseline for section sizes."""
    os.makedirs(base, exist_ok=True)
    up = name.upper()
    h = [f"#include <stdint.h>\n#include <stdbool.h>\n#define {up}_NUM_INPUTS {len(header['inputs'])}",
         f"#define {up}_NUM_OUTPUTS {len(header['outputs'])}", f"#define {up}_ARENA_SIZE 0"]
    for kind, key in (("INPUT", "inputs"), ("OUTPUT", "outputs")):
        for i, (size, ctype) in enumerate(header[key]):
            h += [f"#define {up}_{kind}{i}_SIZE {size}", f"#define {up}_{kind}{i}_TYPE {ctype}"]
    h.append(f'extern "C" int {name}_run(const void *const *inputs, void *const *outputs);')
    with open(os.path.join(base, f"{name}.h"), "w") as f:
        f.write("\n".join(h) + "\n")
    with open(os.path.join(base, f"{name}.cpp"), "w") as f:
        f.write(f'#include "{name}.h"\nextern "C" int {name}_run(const void *const *, void *const *) '
                "{ return 0; }\n")


def run_qemu(machine, elf, cwd, timeout):
    cmd = ["qemu-system-arm", "-machine", machine, "-nographic", "-monitor", "none",
           "-semihosting-config", "enable=on,target=native", "-icount", "shift=8,sleep=off",
           "-kernel", os.path.abspath(elf)]
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail(f"qemu timed out after {timeout} s")
    if r.returncode != 0:
        msg = (r.stdout + r.stderr).strip().replace("\n", " | ")
        raise Fail(f"qemu exit {r.returncode}: {msg[:300]}")
    return r.stdout


def read_stats(path):
    stats = {}
    for line in open(path):
        k, v = line.split()
        stats[k] = int(v)
    return stats


def run_model(args, model_dir, target):
    machine = args.machine or TARGETS[target][0]
    name = c_ident(os.path.basename(os.path.normpath(model_dir)))
    res = {"model": os.path.basename(os.path.normpath(model_dir)), "path": model_dir, "target": target,
           "machine": machine, "ok": False, "notes": []}
    work = os.path.join(args.work, target, name)
    shutil.rmtree(work, ignore_errors=True)
    gen = os.path.join(work, "gen")
    onnx_path = os.path.join(model_dir, "model.onnx")
    r = run([args.tinyc, "compile", onnx_path, "--target", target, "-o", gen, "--name", name, *args.tinyc_args])
    if r.returncode != 0:
        raise Fail(f"tinyc compile exit {r.returncode}: {first_error(r.stderr, '')}")
    if args.runtime:  # the headers being worked on, without rebuilding tinyc to embed them
        shutil.copytree(os.path.join(args.runtime, "tinyc"), os.path.join(gen, "tinyc"), dirs_exist_ok=True,
                        ignore=lambda d, names: [n for n in names if not n.endswith(".h") and
                                                 not os.path.isdir(os.path.join(d, n))])
    header = parse_header(os.path.join(gen, f"{name}.h"), name)
    res["arena"] = header["arena"]

    defines = ["-DTINYC_PROFILE"] if args.profile else []
    builder = Builder(target, machine, args.work, defines=defines)
    try:
        elf, objs, warnings = builder.firmware(gen, name, os.path.join(work, "fw"))
    except Fail as e:
        if target != "cortex-m0plus" or args.machine or "overflow" not in str(e):
            raise
        # ARMv6-M code runs unchanged on the Cortex-M3 (ARMv7-M): same instructions, same counts.
        why = "; ".join(re.findall(r"region `\w+' overflowed by \d+ bytes", str(e))) or str(e)
        res["notes"].append(f"does not fit microbit ({why}): ran on mps2-an385 (the same ARMv6-M code on "
                            "the Cortex-M3 core: same instruction counts, but unaligned accesses do not fault)")
        machine = res["machine"] = "mps2-an385"
        builder = Builder(target, machine, args.work, defines=defines)
        elf, objs, warnings = builder.firmware(gen, name, os.path.join(work, "fw"))
    if warnings:
        res["notes"].append(f"{len(warnings)} warning(s) building the model: {warnings[0]}")
    stub = os.path.join(work, "stub")
    write_stub(stub, name, header)
    base_elf, _, _ = builder.firmware(stub, name, os.path.join(work, "stub_fw"))
    fw, base = elf_sections(elf), elf_sections(base_elf)
    res["sections"] = {s[1:]: fw[s] - base[s] for s in SECTIONS}
    res["firmware"] = {s[1:]: fw[s] for s in SECTIONS}
    objsz = dict.fromkeys(SECTIONS, 0)
    for o in objs:
        for s, n in elf_sections(o).items():
            objsz[s] += n
    res["objects"] = {s[1:]: n for s, n in objsz.items()}

    sets = test_sets(model_dir, args.sets)
    if not sets:
        raise Fail("no test_data_set_* folder")
    res["sets"], res["insns"], res["stack"], failures = [], [], [], []
    res["max_abs_diff_vs_host"], res["max_abs_diff_vs_reference"] = 0.0, 0.0
    res["ref_values"], res["sqnr_db"], res["top1"] = 0, {}, {}
    quantized = "--quantize" in args.tinyc_args
    vs_float = {}  # output -> [(firmware, float reference)] of every set, where tinyc quantized
    for sdir in sets:
        sname = os.path.basename(sdir)
        rdir, hdir = os.path.join(work, "run", sname), os.path.join(work, "host", sname)
        os.makedirs(rdir)
        pbs = []
        for i, (size, ctype) in enumerate(header["inputs"]):
            pb = os.path.join(sdir, f"input_{i}.pb")
            if not os.path.exists(pb):
                raise Fail(f"{sname}: missing input_{i}.pb")
            a = load_pb(pb)
            if a.dtype == np.float16 and ctype == "uint16_t":
                a = a.view(np.uint16)
            if a.size != size or a.dtype != CTYPES[ctype]:
                raise Fail(f"{sname}: input {i} is {a.dtype}[{a.size}], the model wants {ctype}[{size}]")
            a.tofile(os.path.join(rdir, f"in_{i}.bin"))
            pbs.append(pb)
        run_qemu(machine, elf, rdir, args.timeout)
        stats = read_stats(os.path.join(rdir, "stats.txt"))
        res["insns"].append(stats["insns"])
        res["stack"].append(stats["stack_peak"])
        res["empty_insns"], res["loop1000_insns"] = stats["empty_insns"], stats["loop1000_insns"]
        if abs(stats["loop1000_insns"] - 2000) > 8:
            res["notes"].append(f"counter self-check: a 1000-iteration loop read {stats['loop1000_insns']} "
                                "instructions, expected about 2000")
        r = run([args.tinyc, "run", onnx_path, *sum((["--input", p] for p in pbs), []), "--output-dir", hdir, *args.run_args])
        if r.returncode != 0:
            raise Fail(f"{sname}: tinyc run exit {r.returncode}: {first_error(r.stderr, '')}")
        for i, (size, ctype) in enumerate(header["outputs"]):
            want = np.load(os.path.join(hdir, f"output_{i}.npy"))
            got = np.fromfile(os.path.join(rdir, f"out_{i}.bin"), dtype=CTYPES[ctype])
            if want.dtype == np.float16 and ctype == "uint16_t":
                got = got.view(np.float16)
            bad = compare(got, want, args.rtol, args.atol)
            if bad:
                failures.append(f"{sname} output {i}: {bad}")
            res["max_abs_diff_vs_host"] = max(res["max_abs_diff_vs_host"], max_abs_diff(got, want))
            ref = os.path.join(sdir, f"output_{i}.pb")
            if os.path.exists(ref):
                ref = load_pb(ref)
                res["max_abs_diff_vs_reference"] = max(res["max_abs_diff_vs_reference"], max_abs_diff(got, ref))
                res["ref_values"] += ref.size
                if got.size != ref.size:
                    failures.append(f"{sname} output {i}: {got.size} values, the reference has {ref.size}")
                elif quantized and ref.dtype.kind == "f":
                    vs_float.setdefault(i, []).append((got.astype(np.float64).reshape(ref.shape), ref.astype(np.float64)))
                else:
                    bad = run_node_tests.compare(got.reshape(ref.shape), ref, True)
                    if bad:
                        failures.append(f"{sname} output {i} against the reference: {bad}")
        if args.profile and "profile" not in res:
            profile = os.path.join(work, "profile.csv")
            shutil.copyfile(os.path.join(rdir, "profile.csv"), profile)
            layers = sum(int(l.split(",")[1]) for l in open(profile).read().splitlines()[1:] if l)
            res["profile"] = profile
            res["notes"].append(f"profile: {profile} (layers {layers} of {stats['insns']} instructions; "
                                f"{stats['profile_overhead_insns']} per layer for the calls subtracted)")
            if stats["profile_layers_dropped"]:
                res["notes"].append(f"profile: {stats['profile_layers_dropped']} layers beyond PROFILE_MAX_LAYERS dropped")
        res["sets"].append(sname)
    if not res["ref_values"] and not args.no_reference:
        raise Fail("no reference output_*.pb in the test data sets")
    for i, pairs in sorted(vs_float.items()):
        sqnr = res["sqnr_db"][i] = sqnr_db(np.concatenate([g.ravel() for g, _ in pairs]),
                                           np.concatenate([r.ravel() for _, r in pairs]))
        if sqnr < args.min_sqnr:
            failures.append(f"output {i}: SQNR {sqnr:.1f} dB against the float reference, below {args.min_sqnr} dB")
        if is_classifier(model_dir, pairs[0][1]):
            agree = res["top1"][i] = sum(int(np.argmax(g) == np.argmax(r)) for g, r in pairs)
            if agree < len(pairs):
                failures.append(f"output {i}: top-1 is the float reference's on {agree} of {len(pairs)} sets")
    res["failures"] = failures
    res["ok"] = not failures
    return res


def fmt_insns(v):
    return f"{min(v)}" if min(v) == max(v) else f"{min(v)}..{max(v)}"


def line(res):
    if "insns" not in res or not res["insns"]:
        return f"FAIL {res['model']} {res['target']} {res.get('machine', '')}: {res.get('error', '')}"
    s = res["sections"]
    out = (f"{'PASS' if res['ok'] else 'FAIL'} {res['model']} {res['target']} {res['machine']} "
           f"sets={len(res['sets'])} insns={fmt_insns(res['insns'])} stack={max(res['stack'])} "
           f"arena={res['arena']} text={s['text']} rodata={s['rodata']} data={s['data']} bss={s['bss']} "
           f"maxdiff_host={res['max_abs_diff_vs_host']:.3g} maxdiff_ref={res['max_abs_diff_vs_reference']:.3g} "
           f"ref_values={res['ref_values']}")
    for i, sqnr in res["sqnr_db"].items():
        out += f" sqnr{i}={sqnr:.1f}dB"
    for i, agree in res["top1"].items():
        out += f" top1_{i}={agree}/{len(res['sets'])}"
    for n in res["notes"]:
        out += f"\n    note: {n}"
    for f in res.get("failures", []):
        out += f"\n    mismatch: {f}"
    if res.get("error"):
        out += f"\n    error: {res['error']}"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tinyc", default=os.path.join(REPO, "build", "tinyc"))
    ap.add_argument("--model", action="append", required=True, help="model folder (model.onnx, data/); repeatable")
    ap.add_argument("--target", default="cortex-m4", choices=sorted(TARGETS))
    ap.add_argument("--machine", choices=sorted(MACHINES),
                    help="qemu machine instead of the target's own (e.g. mps2-an385 for big cortex-m0plus models)")
    ap.add_argument("--sets", type=int, default=1000, help="at most this many test data sets per model")
    ap.add_argument("--work", default=os.path.join(REPO, "build", "mcu"))
    ap.add_argument("--tinyc-args", default="", help='extra `tinyc compile` options, one string: "--quantize int8"')
    ap.add_argument("--run-args", default="", help="extra `tinyc run` options for the host reference, one string")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per qemu run")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--atol", type=float, default=1e-6, help="absolute floor, times max|host output|")
    # the int8_* tests measure 16.2 dB (har-conv1d, whose first two sets have small logits) to 44.5 dB
    ap.add_argument("--min-sqnr", type=float, default=12.0,
                    help="dB, each output against the float reference where tinyc quantizes (--quantize)")
    ap.add_argument("--no-reference", action="store_true",
                    help="models without output_*.pb (bench/make_layers.py's): check against the host only")
    ap.add_argument("--runtime", help="runtime folder (holding tinyc/*.h) whose headers replace the ones tinyc embeds")
    ap.add_argument("--json", help="write the figures of every model to this file")
    ap.add_argument("--profile", action="store_true",
                    help="build with -DTINYC_PROFILE and write per-layer instructions to W/TARGET/NAME/profile.csv")
    args = ap.parse_args()
    args.tinyc_args, args.run_args = shlex.split(args.tinyc_args), shlex.split(args.run_args)
    args.work = os.path.abspath(args.work)
    args.tinyc = os.path.abspath(args.tinyc)
    args.runtime = args.runtime and os.path.abspath(args.runtime)

    results = []
    for m in args.model:
        try:
            res = run_model(args, m, args.target)
        except Exception as e:  # Fail, or a bug here: report it and go on with the next model
            if not isinstance(e, Fail):
                e = f"internal error: {e!r}"
            res = {"model": os.path.basename(os.path.normpath(m)), "path": m, "target": args.target,
                   "machine": args.machine or TARGETS[args.target][0], "ok": False, "error": str(e), "notes": []}
        results.append(res)
        print(line(res), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
