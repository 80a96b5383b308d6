#!/usr/bin/python3
"""ONNX backend node tests (or a folder of models) through the whole pipeline.

For each test: `tinyc compile --target host`, build the generated code with a driver that feeds
input_*.pb at run time, and compare with output_*.pb (floats: rtol 1e-3, atol 1e-5; others exact).
Tests are built in batches (one executable for many models) to keep the suite fast.

Prints every failure with its reason category and the pass count. A test with no output to compare
fails. Exits 1 unless the tests that pass are exactly those listed in --expected (among those the
--filter selects): one listed that fails or is not in the run is a regression, one not listed that
passes must be recorded (--write-expected writes the list of the tests that pass now). A full run
(no --filter) also holds README.md's "**P of the T ONNX 1.12 node tests pass**" to the run's passes
and tests, so neither the list nor the figure can drift from what passes.

With --models DIR, every subfolder (model.onnx, test data in data/ or beside it) must pass, and
each generated folder must also build warning-free (-Wall -Wextra -Werror) for the host and, where
arm-none-eabi-g++ is installed, for Cortex-M4, and be byte-identical when compiled twice.
"""
import argparse
import concurrent.futures as cf
import os
import re
import shutil
import subprocess
import sys

import numpy as np

for alias, typ in [("float", float), ("int", int), ("bool", bool), ("object", object),
                   ("complex", complex), ("str", str)]:
    if alias not in np.__dict__:
        setattr(np, alias, typ)  # ONNX 1.12's generator uses aliases numpy 1.24 removed

import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(os.path.dirname(os.path.dirname(HERE)), "README.md")


def generate_node_tests(dest):
    if os.path.isdir(os.path.join(dest, "node")):
        return
    from onnx.backend.test.cmd_tools import main as cmd_main
    argv = sys.argv
    sys.argv = ["onnx", "generate-data", "-o", dest]
    try:
        cmd_main()
    finally:
        sys.argv = argv


def c_name(test):
    return "t_" + re.sub(r"[^A-Za-z0-9_]", "_", test)


def load_sets(test_dir):
    sets = []
    for d in sorted(os.listdir(test_dir)):
        if not d.startswith("test_data_set_"):
            continue
        path = os.path.join(test_dir, d)
        ins, outs = [], []
        for kind, lst in (("input", ins), ("output", outs)):
            i = 0
            while os.path.exists(os.path.join(path, f"{kind}_{i}.pb")):
                t = onnx.TensorProto()
                with open(os.path.join(path, f"{kind}_{i}.pb"), "rb") as f:
                    t.ParseFromString(f.read())
                lst.append(numpy_helper.to_array(t))
                i += 1
        sets.append((ins, outs))
    return sets


DRIVER_HEAD = """#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>
static std::vector<char> slurp(const char* p) {
  FILE* f = fopen(p, "rb"); std::vector<char> v;
  if (!f) { fprintf(stderr, "cannot open %s\\n", p); exit(3); }
  char buf[65536]; size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) v.insert(v.end(), buf, buf + n);
  fclose(f); return v;
}
"""


def driver_for(name, n_in, n_out):
    up = name.upper()
    s = f"static int run_{name}(const char* dir) {{\n  char p[4096];\n"
    s += f"  std::vector<char> in[{max(n_in, 1)}];\n  const void* ip[{max(n_in, 1)}];\n"
    for i in range(n_in):
        s += f'  snprintf(p, sizeof p, "%s/in_{i}.bin", dir); in[{i}] = slurp(p);\n'
        s += f"  in[{i}].resize(sizeof({up}_INPUT{i}_TYPE) * {up}_INPUT{i}_SIZE + 1); ip[{i}] = in[{i}].data();\n"
    s += f"  std::vector<char> out[{max(n_out, 1)}];\n  void* op[{max(n_out, 1)}];\n"
    for i in range(n_out):
        s += f"  out[{i}].assign(sizeof({up}_OUTPUT{i}_TYPE) * {up}_OUTPUT{i}_SIZE + 1, 0); op[{i}] = out[{i}].data();\n"
    s += f"  int rc = {name}_run(ip, op);\n"
    for i in range(n_out):
        s += (f'  snprintf(p, sizeof p, "%s/out_{i}.bin", dir); {{ FILE* f = fopen(p, "wb"); '
              f"fwrite(out[{i}].data(), 1, out[{i}].size() - 1, f); fclose(f); }}\n")
    s += "  return rc;\n}\n"
    return s


def build_batch(batch, work, cxx, idx, cxxflags=()):
    """One executable for the batch: main(name, dir) calls that model."""
    src = os.path.join(work, f"batch_{idx}.cpp")
    with open(src, "w") as f:
        f.write(DRIVER_HEAD)
        for t in batch:
            out = t["out"]
            f.write(f'#include "{out}/{t["name"]}.cpp"\n#include "{out}/{t["name"]}_weights.cpp"\n')
            f.write(driver_for(t["name"], t["n_in"], t["n_out"]))
        f.write("int main(int argc, char** argv) {\n  if (argc < 3) return 2;\n")
        for t in batch:
            f.write(f'  if (!strcmp(argv[1], "{t["name"]}")) return run_{t["name"]}(argv[2]);\n')
        f.write("  return 2;\n}\n")
    exe = os.path.join(work, f"batch_{idx}")
    r = subprocess.run([cxx, "-std=c++17", "-O1", "-w", *cxxflags, src, "-o", exe, "-lm"],
                       capture_output=True, text=True)
    return exe if r.returncode == 0 else None, r.stderr


def compare(got, want, model_mode=False):
    """Node tests: rtol 1e-3, atol 1e-5, integers exact. Whole models accumulate rounding over
    many layers (ONNX Runtime itself differs from the references by up to 3.3e-4 on a model with
    outputs up to 60), so there atol scales with the output range (1e-5 * max|ref|); integer
    outputs stay exact (tinyc gives the 20 references of the pre-quantized MLPerf KWS and AD01
    int8 models bit for bit, where ONNX Runtime is 2 LSB off on AD01: see shared/models/README);
    model_mode "exact" wants float outputs bit-exact too."""
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if want.dtype.kind == "f" and model_mode != "exact":
        g, w = got.astype(np.float64), want.astype(np.float64)
        nan_ok = np.isnan(g) == np.isnan(w)
        atol = 1e-5 * max(1.0, float(np.nanmax(np.abs(w), initial=0))) if model_mode else 1e-5
        close = np.isclose(g, w, rtol=1e-3, atol=atol) | (np.isnan(g) & np.isnan(w))
        if not (nan_ok.all() and close.all()):
            bad = np.argmax(~close.ravel())
            return f"value mismatch at {bad}: {g.ravel()[bad]} vs {w.ravel()[bad]}"
        return None
    if not np.array_equal(got, want):
        return "value mismatch (exact)"
    return None


ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-fno-exceptions",
             "-fno-rtti", "-O2"]


def model_checks(args, model, name, out):
    """Warning-free builds (host, Cortex-M4) and byte-identical output of a second compile."""
    again = out + ".again"
    r = subprocess.run([args.tinyc, "compile", model, "--target", "host", "-o", again, "--name", name, "-q"],
                       capture_output=True, text=True)
    if r.returncode != 0 or subprocess.run(["diff", "-r", out, again], capture_output=True).returncode != 0:
        return "determinism: a second compile gave different files"
    shutil.rmtree(again)
    compilers = [(args.cxx, ["-O2"])]
    if shutil.which("arm-none-eabi-g++"):
        compilers.append(("arm-none-eabi-g++", ARM_FLAGS))
    for cxx, flags in compilers:
        for f in sorted(os.listdir(out)):
            if not f.endswith(".cpp"):
                continue
            r = subprocess.run([cxx, "-std=c++17", "-Wall", "-Wextra", "-Werror", *flags, "-I", out, "-c",
                                os.path.join(out, f), "-o", os.devnull], capture_output=True, text=True)
            if r.returncode != 0:
                first = next((l for l in r.stderr.splitlines() if "error" in l), "failed")
                return f"warnings: {cxx}: {first[:160]}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--expected", default=os.path.join(HERE, "expected_pass.txt"))
    ap.add_argument("--write-expected", action="store_true")
    ap.add_argument("--filter", default="")
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--cxxflags", default="", help="extra flags for building the generated code and driver, "
                    "e.g. \"-fsanitize=address,undefined\"")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--batch", type=int, default=40)
    ap.add_argument("--models", help="folder of models to test instead of ONNX's node tests")
    ap.add_argument("--exact", action="store_true", help="with --models: outputs must match bit for bit")
    args = ap.parse_args()
    if args.write_expected and args.filter:
        ap.error("--write-expected records a full run: no --filter")

    if args.models:
        node_dir = args.models
        tests = sorted(t for t in os.listdir(node_dir)
                       if os.path.exists(os.path.join(node_dir, t, "model.onnx")) and args.filter in t)
    else:
        data = os.path.join(args.work, "data")
        generate_node_tests(data)
        node_dir = os.path.join(data, "node")
        tests = sorted(t for t in os.listdir(node_dir) if args.filter in t)
    build = os.path.join(args.work, "build")
    shutil.rmtree(build, ignore_errors=True)
    os.makedirs(build)

    results = {}  # test -> None (pass) or "category: detail"

    def compile_one(test):
        tdir = os.path.join(node_dir, test)
        name = c_name(test)
        out = os.path.join(build, name)
        r = subprocess.run([args.tinyc, "compile", os.path.join(tdir, "model.onnx"), "--target", "host",
                            "-o", out, "--name", name, "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            msg = r.stderr.strip().splitlines()
            return test, None, "compile: " + (msg[0] if msg else f"exit {r.returncode}")
        if args.models:
            why = model_checks(args, os.path.join(tdir, "model.onnx"), name, out)
            if why:
                return test, None, why
            if os.path.isdir(os.path.join(tdir, "data")):
                tdir = os.path.join(tdir, "data")
        try:
            sets = load_sets(tdir)
        except Exception as e:  # noqa: BLE001 (sequence or optional test data)
            return test, None, f"data: {type(e).__name__}"
        if not any(outs for _, outs in sets):
            return test, None, "data: no test data set with outputs to compare"
        n_in, n_out = len(sets[0][0]), len(sets[0][1])
        return test, {"name": name, "out": out, "dir": tdir, "sets": sets, "n_in": n_in,
                      "n_out": n_out}, None

    compiled = []
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        for test, info, err in ex.map(compile_one, tests):
            if err:
                results[test] = err
            else:
                compiled.append((test, info))

    batches = [compiled[i:i + args.batch] for i in range(0, len(compiled), args.batch)]

    def run_batch(idx_batch):
        idx, batch = idx_batch
        infos = [b[1] for b in batch]
        exe, _ = build_batch(infos, build, args.cxx, idx, args.cxxflags.split())
        res = {}
        if exe is None:  # find the culprits one by one
            for j, (test, info) in enumerate(batch):
                e, err = build_batch([info], build, args.cxx, f"{idx}_{j}", args.cxxflags.split())
                if e is None:
                    first = next((l for l in err.splitlines() if "error" in l), "build failed")
                    res[test] = "build: " + first.split("error:")[-1].strip()[:120]
                else:
                    res.update(run_tests([(test, info)], e))
            return res
        res.update(run_tests(batch, exe))
        return res

    def run_tests(batch, exe):
        res = {}
        for test, info in batch:
            res[test] = None
            for k, (ins, outs) in enumerate(info["sets"]):
                d = os.path.join(info["out"], f"set{k}")
                os.makedirs(d, exist_ok=True)
                for i, a in enumerate(ins):
                    np.ascontiguousarray(a).tofile(os.path.join(d, f"in_{i}.bin"))
                try:
                    r = subprocess.run([exe, info["name"], d], capture_output=True, timeout=60)
                except subprocess.TimeoutExpired:
                    res[test] = "run: timeout"
                    break
                if r.returncode != 0:
                    res[test] = f"run: exit {r.returncode}"
                    break
                for i, want in enumerate(outs):
                    got = np.fromfile(os.path.join(d, f"out_{i}.bin"), dtype=want.dtype)
                    if got.size != want.size:
                        res[test] = f"mismatch: output {i} has {got.size} elements, want {want.size}"
                        break
                    why = compare(got.reshape(want.shape), want, "exact" if args.exact else bool(args.models))
                    if why:
                        res[test] = f"mismatch: output {i}: {why}"
                        break
                if res[test]:
                    break
        return res

    with cf.ThreadPoolExecutor(args.jobs) as ex:
        for res in ex.map(run_batch, enumerate(batches)):
            results.update(res)

    passed = sorted(t for t, r in results.items() if r is None)
    failed = sorted(t for t, r in results.items() if r is not None)
    categories = {}
    for t in failed:
        categories.setdefault(results[t].split(":")[0], []).append(t)
    for t in failed:
        print(f"FAIL {t}: {results[t]}")
    print("failures by category: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(categories.items())))
    print(f"ONNX node tests: {len(passed)} of {len(results)} pass")

    if args.models:
        print(f"models: {len(passed)} of {len(results)} pass")
        return 1 if failed else 0
    if args.write_expected:
        with open(args.expected, "w") as f:
            f.write("".join(t + "\n" for t in passed))
    if not os.path.exists(args.expected):
        print(f"FAIL: no {args.expected} to hold the results to (write it with --write-expected)")
        return 1
    expected = {t for t in (l.strip() for l in open(args.expected)) if t and args.filter in t}
    problems = [f"REGRESSION {t}: {results[t]}" for t in sorted(expected) if t in results and results[t]]
    problems += [f"REGRESSION {t}: expected to pass, not in this run" for t in sorted(expected - results.keys())]
    problems += [f"NEW PASS {t}: not in {args.expected}; record it with --write-expected"
                 for t in passed if t not in expected]
    if not args.filter:
        problems += readme_count(len(passed), len(results))
    for p in problems:
        print(p)
    return 1 if problems else 0


def readme_count(n_pass, n_tests):
    """README.md's "**P of the T ...**" against this run's passes and tests."""
    m = re.search(r"\*\*(\d+) of the (\d+) ONNX 1\.12 node tests pass\*\*", open(README).read())
    if not m:
        return [f"README: no \"**P of the T ONNX 1.12 node tests pass**\" in {README}"]
    if (int(m[1]), int(m[2])) != (n_pass, n_tests):
        return [f"README says \"{m[0]}\", but {n_pass} of {n_tests} pass: update {README}"]
    return []


if __name__ == "__main__":
    sys.exit(main())
