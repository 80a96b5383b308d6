#!/usr/bin/python3
"""External data and the model's folder, spelled every way a CI script spells a path.

    /usr/bin/python3 tests/hostile/check_paths.py --tinyc build/tinyc --work W

A model whose initializer lives in an external file beside it must compile, and must give the
file's values, whether the model is named relative to the working folder (`m.onnx`, `./m.onnx`,
`dir/m.onnx`, `../dir/m.onnx`), absolutely, or through a symlinked folder. The same model whose
external file is a symlink to a file outside its folder (or lies in a symlinked subfolder that
points outside) must be refused with exit 2, one `tinyc: error:` line saying it leaves the model's
folder, and no output, under every spelling; and so must a calibration input (`input_0.pb`) whose
external data does the same.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHTS = np.array([[1.5, -2.25, 3.0, 0.125]], dtype=np.float32)
SECRET = np.array([[1234.5, 6789.0, -42.0, 7.0]], dtype=np.float32)


def external(name, location, shape):
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(shape)
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", location
    return t


def write_model(folder, location):
    os.makedirs(folder, exist_ok=True)
    g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")], "paths",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                          [external("w", location, [1, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    with open(os.path.join(folder, "m.onnx"), "wb") as f:
        f.write(m.SerializeToString())


def spellings(root, folder):
    """(label, working folder, model path) for the model in `folder` (under root)."""
    name = os.path.basename(folder)
    link = os.path.join(root, name + "_link")
    if not os.path.islink(link):
        os.symlink(folder, link)
    return [("relative", folder, "m.onnx"), ("./", folder, "./m.onnx"), ("from its parent", root, f"{name}/m.onnx"),
            ("from a sibling", os.path.join(root, "sibling"), f"../{name}/m.onnx"),
            ("absolute", "/", os.path.join(folder, "m.onnx")), ("symlinked folder", root, f"{name}_link/m.onnx"),
            ("symlinked folder, absolute", "/", os.path.join(link, "m.onnx"))]


def tinyc(args, cwd, *argv):
    return subprocess.run([os.path.abspath(args.tinyc), *argv], cwd=cwd, capture_output=True, text=True, timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tinyc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    root = os.path.abspath(args.work)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "sibling"))
    outside = os.path.join(root, "outside")
    os.makedirs(outside)
    SECRET.tofile(os.path.join(outside, "secret.bin"))
    failures, checked = [], 0

    def refused(label, argv_cwd, argv, out):
        nonlocal checked
        shutil.rmtree(out, ignore_errors=True)
        r = tinyc(args, argv_cwd, *argv)
        checked += 1
        lines = [l for l in r.stderr.splitlines() if l.startswith("tinyc: error:")]
        if r.returncode != 2 or len(lines) != 1 or "leaves the model's folder" not in lines[0] or os.path.exists(out):
            failures.append(f"{label}: exit {r.returncode}, stderr {r.stderr.strip()!r}, output written: "
                            f"{os.path.exists(out)}")

    # Inside: the external file beside the model.
    good = os.path.join(root, "good")
    write_model(good, "w.bin")
    WEIGHTS.tofile(os.path.join(good, "w.bin"))
    x = np.array([[1, 2, 3, 4]], dtype=np.float32)
    np.save(os.path.join(root, "x.npy"), x)
    for label, cwd, model in spellings(root, good):
        checked += 1
        out = os.path.join(root, "out-run")
        shutil.rmtree(out, ignore_errors=True)
        r = tinyc(args, cwd, "run", model, "--input", os.path.join(root, "x.npy"), "--output-dir", out)
        if r.returncode != 0:
            failures.append(f"inside, {label}: exit {r.returncode}: {r.stderr.strip()}")
            continue
        y = np.load(os.path.join(out, "output_0.npy"))
        if not np.array_equal(y, x + WEIGHTS):
            failures.append(f"inside, {label}: y = {y}, want {x + WEIGHTS}")
        r = tinyc(args, cwd, "compile", model, "--target", "host", "-o", os.path.join(root, "out-good"))
        if r.returncode != 0:
            failures.append(f"inside, {label}: compile exits {r.returncode}: {r.stderr.strip()}")

    # Outside: a symlinked file, and a file in a symlinked subfolder.
    for kind, location in (("symlinked file", "w.bin"), ("symlinked subfolder", "sub/w.bin")):
        bad = os.path.join(root, "bad_" + location.replace("/", "_").replace(".", "_"))
        write_model(bad, location)
        if "/" in location:
            os.symlink(outside, os.path.join(bad, "sub"))
            os.symlink(os.path.join(outside, "secret.bin"), os.path.join(outside, "w.bin"))
        else:
            os.symlink(os.path.join(outside, "secret.bin"), os.path.join(bad, "w.bin"))
        for label, cwd, model in spellings(root, bad):
            out = os.path.join(root, "out-bad")
            refused(f"{kind}, {label}", cwd, ["compile", model, "--target", "host", "-o", out], out)

    # Calibration: a test-data folder whose input_0.pb reads a symlinked file outside.
    calib = os.path.join(root, "calib")
    os.makedirs(os.path.join(calib, "test_data_set_0"))
    t = external("x", "x.bin", [1, 4])
    with open(os.path.join(calib, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(t.SerializeToString())
    os.symlink(os.path.join(outside, "secret.bin"), os.path.join(calib, "test_data_set_0", "x.bin"))
    for label, cwd, model in spellings(root, good):
        for cal in ("calib", os.path.join(root, "calib"), "./calib"):
            out = os.path.join(root, "out-calib")
            c = cal if os.path.isabs(cal) else os.path.relpath(os.path.join(root, cal), cwd)
            refused(f"calibration {cal}, model {label}", cwd,
                    ["compile", model, "--target", "host", "-o", out, "--quantize", "int8", "--calibration", c], out)

    for f in failures:
        print("FAIL", f)
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
