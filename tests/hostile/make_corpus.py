#!/usr/bin/python3
"""Writes the hostile-input corpus: malformed, hostile or over-large ONNX models and bad command
lines, each with the exit code tinyc must give (see tests/hostile/run_corpus.py).

    make_corpus.py OUT

OUT/<case>/model.onnx (and any side files) for every case, and OUT/cases.json listing them:
name, model file, extra arguments, expected exit code and the words the one error line must hold.
Seeded: the same OUT every run. Models are made here at test time, never committed."""
import json
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 7
FLOAT = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits=(), opset=13, domains=(), value_info=()):
    g = helper.make_graph(nodes, "hostile", inputs, outputs, initializer=list(inits), value_info=list(value_info))
    ops = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    m = helper.make_model(g, opset_imports=ops, producer_name="tinyc-hostile")
    m.ir_version = 8
    return m


def bare_tensor(name, dims, raw=None, floats=None):
    """A TensorProto built by hand: helper.make_tensor refuses the inconsistent ones wanted here."""
    t = TensorProto()
    t.name, t.data_type = name, FLOAT
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if floats is not None:
        t.float_data.extend(floats)
    return t


def vi(name, shape, dtype=FLOAT):
    """shape: a list, or a rank (symbolic dimensions left to shape inference)."""
    if isinstance(shape, int):
        shape = [f"{name}_{i}" for i in range(shape)]
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def conv_model(rng, node_name="conv", **attrs):
    w = const("W", rng.standard_normal((4, 3, 3, 3)).astype(np.float32))
    n = helper.make_node("Conv", ["X", "W"], ["Y"], name=node_name, kernel_shape=[3, 3], **attrs)
    return model([n], [vi("X", [1, 3, 8, 8])], [vi("Y", 4)], [w])


def one_node(op, inputs, shape, node_name, inits=(), out_shape=None, **attrs):
    n = helper.make_node(op, ["X"] + [i.name for i in inits], ["Y"], name=node_name, **attrs)
    return model([n], [vi("X", shape)], [vi("Y", len(shape) if out_shape is None else out_shape)], inits)


def relu_chain(names):
    """X -> Relu -> ... -> Y with the given tensor/node names (for the odd-names cases)."""
    nodes, prev = [], "X"
    for i, nm in enumerate(names):
        out = "Y" if i == len(names) - 1 else nm
        nodes.append(helper.make_node("Relu", [prev], [out], name=nm))
        prev = out
    return model(nodes, [vi("X", [1, 4])], [vi("Y", [1, 4])])


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(SEED)
    prng = random.Random(SEED)
    os.makedirs(out, exist_ok=True)
    cases = []

    def add(name, data=None, code=2, expect=(), args=(), files=None, model_file="model.onnx", valid=False):
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        if data is not None:
            if isinstance(data, onnx.ModelProto):
                data = data.SerializeToString()
            with open(os.path.join(d, "model.onnx"), "wb") as f:
                f.write(data)
        for fname, content in (files or {}).items():
            p = os.path.join(d, fname)
            if os.path.lexists(p):
                os.remove(p)
            if isinstance(content, tuple) and content[0] == "symlink":
                os.symlink(content[1], p)
            else:
                with open(p, "wb") as f:
                    f.write(content)
        cases.append({"name": name, "model": os.path.join(name, model_file), "code": code,
                      "expect": list(expect), "args": list(args), "valid": valid})

    good = conv_model(rng)
    good_bytes = good.SerializeToString()

    # Files that are not ONNX models.
    for frac in (0.05, 0.3, 0.5, 0.8, 0.97):
        add(f"truncated_{int(frac * 100)}", good_bytes[: int(len(good_bytes) * frac)])
    for i in range(3):
        add(f"random_bytes_{i}", bytes(prng.getrandbits(8) for _ in range(prng.randint(1, 4096))))
    add("empty_file", b"")
    add("zero_length_graph", model([], [], []))

    # Dimensions.
    w_neg = bare_tensor("W", [-2, 3])
    add("negative_dim_initializer", one_node("Add", [], [1, 3], "add", [w_neg]), expect=["W"])
    add("negative_dim_input", one_node("Relu", [], [1, -5], "relu"), expect=["X"])
    add("huge_input_2p40x2p40", one_node("Relu", [], [2**40, 2**40], "relu"))
    add("overflow_input_dims", one_node("Relu", [], [2**62, 2**62, 16], "relu"))
    w_huge = bare_tensor("W", [2**40, 2**40])
    add("huge_initializer", one_node("Add", [], [1, 1], "add", [w_huge]), expect=["W"])

    # Initializer bytes disagreeing with the shape.
    short = bare_tensor("B", [4, 4], raw=b"\0" * 60)
    add("raw_data_too_short", one_node("Add", [], [4, 4], "add", [short]), expect=["B"])
    long_ = bare_tensor("B", [4, 4], raw=b"\0" * 68)
    add("raw_data_too_long", one_node("Add", [], [4, 4], "add", [long_]), expect=["B"])
    few = bare_tensor("B", [4, 4], floats=[1.0] * 3)
    add("float_data_too_few", one_node("Add", [], [4, 4], "add", [few]), expect=["B"])

    # Rank beyond the kernels.
    add("rank9_transpose", one_node("Transpose", [], [1, 2, 1, 2, 1, 2, 1, 2, 1], "tr9",
                                    perm=[8, 7, 6, 5, 4, 3, 2, 1, 0]), expect=["tr9", "Transpose"])
    add("rank64_relu", one_node("Relu", [], [1] * 64, "relu64"), expect=["relu64", "Relu", "rank 64"])

    # Attributes out of range.
    add("conv_stride_0", conv_model(rng, "conv_s0", strides=[0, 1]), expect=["conv_s0", "Conv"])
    add("conv_stride_negative", conv_model(rng, "conv_sneg", strides=[-1, 1]), expect=["conv_sneg", "Conv"])
    add("conv_pads_negative", conv_model(rng, "conv_pneg", pads=[-1, 0, 0, 0]), expect=["conv_pneg", "Conv"])
    add("conv_group_0", conv_model(rng, "conv_g0", group=0), expect=["conv_g0", "Conv"])
    add("conv_group_not_dividing", conv_model(rng, "conv_g2", group=2), expect=["conv_g2", "Conv"])
    add("conv_dilation_0", conv_model(rng, "conv_d0", dilations=[0, 1]), expect=["conv_d0", "Conv"])
    add("transpose_perm_out_of_range", one_node("Transpose", [], [2, 3], "tr", perm=[0, 5]),
        expect=["tr", "Transpose"])
    add("transpose_perm_duplicate", one_node("Transpose", [], [2, 3], "tr", perm=[1, 1]),
        expect=["tr", "Transpose"])
    idx = const("I", np.array([0, 7], np.int64))
    add("gather_index_out_of_range", one_node("Gather", [], [4, 3], "gather", [idx], axis=0),
        expect=["gather", "Gather"])
    add("softmax_axis_out_of_range", one_node("Softmax", [], [2, 3], "sm", axis=5), expect=["sm", "Softmax"])
    cat = helper.make_node("Concat", ["X", "X"], ["Y"], name="cat", axis=3)
    add("concat_axis_out_of_range", model([cat], [vi("X", [2, 3])], [vi("Y", 2)]), expect=["cat", "Concat"])
    shp = const("S", np.array([-1, -1], np.int64))
    add("reshape_two_minus_one", one_node("Reshape", [], [2, 3], "rs", [shp]), expect=["rs", "Reshape"])
    split = const("S", np.array([2, 2], np.int64))
    sp = helper.make_node("Split", ["X", "S"], ["A", "B"], name="split", axis=1)
    add("split_sizes_not_summing", model([sp], [vi("X", [2, 6])], [vi("A", 2), vi("B", 2)], [split]),
        expect=["split", "Split"])

    # Graph structure.
    a = helper.make_node("Relu", ["B"], ["A"], name="ra")
    b = helper.make_node("Relu", ["A"], ["B"], name="rb")
    c = helper.make_node("Add", ["X", "B"], ["Y"], name="add")
    add("graph_cycle", model([a, b, c], [vi("X", [2])], [vi("Y", 1)]))
    n = helper.make_node("Add", ["X", "ghost"], ["Y"], name="add")
    add("dangling_input", model([n], [vi("X", [2])], [vi("Y", 1)]), expect=["ghost"])
    n1 = helper.make_node("Relu", ["X"], ["Y"], name="r1")
    n2 = helper.make_node("Sigmoid", ["X"], ["Y"], name="r2")
    add("duplicate_output_name", model([n1, n2], [vi("X", [2])], [vi("Y", 1)]), expect=["Y"])
    n = helper.make_node("Relu", ["X"], ["Z"], name="relu")
    add("output_not_produced", model([n], [vi("X", [2])], [vi("Y", [2])]), expect=["Y"])
    add("graph_input_is_output_only", model([], [vi("X", [2])], [vi("Y", [2])]), expect=["Y"])
    n = helper.make_node("Relu", ["X"], ["Y"], name="relu")
    add("graph_output_listed_twice", model([n], [vi("X", [2])], [vi("Y", [2]), vi("Y", [2])]), expect=["Y", "twice"])

    # Operators and opsets.
    n = helper.make_node("Relu", ["X"], ["Y"], name="evil", domain="com.evil")
    add("unknown_domain", model([n], [vi("X", [2])], [vi("Y", [2])], domains=["com.evil"]),
        expect=["evil", "Relu"])
    n = helper.make_node("FooBar", ["X"], ["Y"], name="foo")
    add("unknown_operator", model([n], [vi("X", [2])], [vi("Y", [2])]), expect=["foo", "FooBar"])
    # ONNX Runtime's quantized operators, malformed: refused by name, or run as written.
    U8 = TensorProto.UINT8
    sc = [const("s", np.array(0.02, np.float32)), const("z", np.array(128, np.uint8))]
    n = helper.make_node("QLinearConcat", ["s", "z", "X", "s"], ["Y"], name="qcat", domain="com.microsoft", axis=0)
    add("qlinearconcat_inputs_short", model([n], [vi("X", [2], U8)], [vi("Y", [2], U8)], sc, domains=["com.microsoft"]),
        expect=["qcat", "QLinearConcat"])
    n = helper.make_node("QLinearSigmoid", ["X", "s", "z", "s"], ["Y"], name="qsig", domain="com.microsoft")
    add("qlinearsigmoid_no_zero_point", model([n], [vi("X", [2], U8)], [vi("Y", [2], U8)], sc, domains=["com.microsoft"]),
        expect=["qsig", "QLinearSigmoid"])
    w = [const("w", np.ones((3, 2), np.uint8)), const("ws", np.array([0.1, 0.2], np.float32))]
    n = helper.make_node("QGemm", ["X", "S", "z", "w", "ws", "z"], ["Y"], name="qgemm", domain="com.microsoft")
    add("qgemm_scale_not_constant", model([n], [vi("X", [1, 3], U8), vi("S", [])], [vi("Y", [1, 2])], sc + w,
                                          domains=["com.microsoft"]), expect=["qgemm", "QGemm"])
    q = helper.make_node("QuantizeLinear", ["X", "s", "z"], ["q"], name="q")
    dq = helper.make_node("DequantizeLinear", ["q", "s2"], ["Y"], name="dq")  # other parameters, no zero point
    add("qdq_parameters_disagree", model([q, dq], [vi("X", [2, 3])], [vi("Y", [2, 3])],
                                         sc + [const("s2", np.array(0.5, np.float32))]), code=0, valid=True)
    relu = helper.make_node("Relu", ["X"], ["Y"], name="relu")
    add("opset_999", model([relu], [vi("X", [2])], [vi("Y", [2])], opset=999), expect=["999"])
    add("opset_0", model([relu], [vi("X", [2])], [vi("Y", [2])], opset=0), expect=["opset 0 is not"])
    add("opset_negative", model([relu], [vi("X", [2])], [vi("Y", [2])], opset=-3), expect=["opset -3 is not"])

    # External data.
    weights = rng.standard_normal(16).astype(np.float32).tobytes()
    with open(os.path.join(out, "secret.bin"), "wb") as f:
        f.write(weights)

    def ext_model(location, offset=None, length=None):
        t = bare_tensor("B", [4, 4])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", offset), ("length", length)):
            if v is not None:
                e = t.external_data.add()
                e.key, e.value = k, str(v)
        return one_node("Add", [], [4, 4], "add", [t])

    add("external_absolute_path", ext_model(os.path.abspath(os.path.join(out, "secret.bin"))), expect=["B"])
    add("external_dotdot", ext_model("../secret.bin"), expect=["B"])
    add("external_dotdot_inside", ext_model("sub/../../secret.bin"), expect=["B"])
    add("external_symlink_out", ext_model("w.bin"), files={"w.bin": ("symlink", "../secret.bin")}, expect=["B"])
    add("external_offset_beyond", ext_model("w.bin", offset=4096), files={"w.bin": weights}, expect=["B"])
    add("external_length_beyond", ext_model("w.bin", offset=8, length=64), files={"w.bin": weights},
        expect=["B"])
    add("external_offset_not_number", ext_model("w.bin", offset="x1"), files={"w.bin": weights}, expect=["B"])
    add("external_missing_file", ext_model("nothere.bin"), code=4, expect=["nothere.bin"])
    add("external_is_directory", ext_model("d"), code=4, expect=["d"])
    os.makedirs(os.path.join(out, "external_is_directory", "d"), exist_ok=True)

    good_ext = ext_model("w.bin")  # legitimate: found beside the model, whatever the working folder
    add("external_data_beside_model", good_ext, code=0, files={"w.bin": weights}, valid=True)

    # Weights over tinyc's cap (1 GiB in all): declared, never stored.
    big = [bare_tensor(f"W{i}", [1 << 14, 1 << 14]) for i in range(2)]
    for t in big:  # 2 x 1 GiB, as external data so the file stays small
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", "w.bin"
    nodes = [helper.make_node("Add", ["X", "W0"], ["T"], name="a0"), helper.make_node("Add", ["T", "W1"], ["Y"], name="a1")]
    add("weights_over_cap", model(nodes, [vi("X", [1, 1])], [vi("Y", 2)], big), files={"w.bin": b"\0" * 16},
        expect=["1 GiB"])
    mid = [bare_tensor(f"W{i}", [3 << 12, 1 << 14]) for i in range(2)]
    for t in mid:  # 2 x 768 MiB: each under the cap, both over it
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", "w.bin"
    add("weights_total_over_cap", model(nodes, [vi("X", [1, 1])], [vi("Y", 2)], mid),
        files={"w.bin": b"\0" * 16}, expect=["1 GiB"])

    # Command lines.
    add("budget_max_ram_1", good, code=3, args=["--max-ram", "1"], expect=["budget"])
    add("name_keyword", good, code=1, args=["--name", "int"], expect=["int"])
    add("name_leading_digit", good, code=1, args=["--name", "9abc"], expect=["9abc"])
    add("name_empty_like", good, code=1, args=["--name", "a-b"], expect=["a-b"])
    add("max_ram_garbage", good, code=1, args=["--max-ram", "lots"], expect=["lots"])
    add("unknown_target", good, code=1, args=["--target", "z80"], expect=["z80"])
    add("missing_model", None, code=4, model_file="does-not-exist.onnx", expect=["does-not-exist.onnx"])
    add("model_is_directory", None, code=4, model_file="", expect=[])
    add("output_is_a_file", good, code=4, args=["@OUT_IS_FILE"])

    # Odd names: these compile; the generated code must still be inside OUTDIR.
    for nm, names in (("names_comment_close", ["a*/b", "/*c"]), ("names_newline", ["a\nb", "c\r\nd"]),
                      ("names_quotes", ['a"b', "c'd"]), ("names_backslash", ["a\\", "b\\\\n"]),
                      ("names_unicode", ["über", "名前", "\u202eevil"]), ("names_path", ["../../x", "/etc/y"])):
        add(nm, relu_chain(names), code=0, valid=True)

    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(f"{len(cases)} cases in {out}")


if __name__ == "__main__":
    main()
