#!/usr/bin/python3
"""Writes tiny valid ONNX models for the fuzz targets to start from: one or two nodes of each common
operator, at every opset where the operator changed (7 to 17), some also at opset 6 (which tinyc
upgrades) and relabelled as 18 (which tinyc reads as 17). Each passes ONNX's checker and strict
shape inference, and is a few hundred bytes at most, so mutations start from small valid protobufs.

    make_seeds.py OUT

Seeded: the same OUT/*.onnx every run (tests/fuzz/run_fuzz.sh makes them, nothing is committed)."""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP, defs, helper, numpy_helper

R = random.Random(14)
F = TP.FLOAT


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def out(name="Y", t=F, shape=None):
    return helper.make_tensor_value_info(name, t, shape)


def c(name, arr, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def rnd(*shape):
    return np.array([R.uniform(-2, 2) for _ in range(int(np.prod(shape)))], np.float32).reshape(shape)


def shape(rank=None):
    return [R.randint(1, 4) for _ in range(R.randint(1, 4) if rank is None else rank)]


def node(op, ins, outs=("Y",), **attrs):
    return helper.make_node(op, list(ins), list(outs), **attrs)


def one(op, t_in=F, t_out=F, s=None, **attrs):
    """X -> op -> Y."""
    return lambda o: ([node(op, ["X"], **attrs)], [vi("X", s or shape(), t_in)], [out("Y", t_out)], [])


def two(op, t_in=F, t_out=F, const_b=False):
    """op(A, B) with broadcasting; B an initializer when const_b."""
    def f(o):
        a = shape(R.randint(1, 4))
        b = a[R.randint(0, len(a) - 1):] if R.random() < 0.5 else [1] * len(a)
        ins, inits = [vi("A", a, t_in)], []
        if const_b:
            inits.append(c("B", rnd(*b)))
        else:
            ins.append(vi("B", b, t_in))
        return [node(op, ["A", "B"])], ins, [out("Y", t_out)], inits
    return f


def conv(o, op="Conv", bias=True, then=None, **extra):
    ci, co, k = R.randint(1, 3), R.randint(1, 4), R.choice([1, 2, 3])
    attrs = dict(kernel_shape=[k, k], pads=[R.randint(0, k - 1)] * 4, strides=[R.randint(1, 2)] * 2, **extra)
    w = rnd(co, ci, k, k) if op == "Conv" else rnd(ci, co, k, k)
    inits = [c("W", w)] + ([c("Bias", rnd(co))] if bias else [])
    nodes = [node(op, ["X", "W"] + (["Bias"] if bias else []), ["Y" if then is None else "T"], **attrs)]
    if then:  # a second node after it: then(channels) gives its nodes and constants
        more, consts = then(co)
        nodes, inits = nodes + more, inits + consts
    return nodes, [vi("X", [1, ci, R.randint(3, 6), R.randint(3, 6)])], [out()], inits


def gemm(o, then=None):
    k, n = R.randint(1, 5), R.randint(1, 5)
    more, consts = then(n) if then else ([], [])
    nodes = [node("Gemm", ["X", "W", "B"], ["Y" if then is None else "T"], transB=1)] + more
    return nodes, [vi("X", [1, k])], [out()], [c("W", rnd(n, k)), c("B", rnd(n))] + consts


def pool(op, **attrs):
    return lambda o: ([node(op, ["X"], **attrs)], [vi("X", [1, 2, 5, 5])], [out()], [])


def reduce(op):
    def f(o):
        s = shape(3)
        axes = [R.randint(-3, 2)]
        if op == "ReduceSum" and o >= 13:
            return [node(op, ["X", "axes"], keepdims=R.randint(0, 1))], [vi("X", s)], [out()], [c("axes", axes, np.int64)]
        return [node(op, ["X"], axes=axes, keepdims=R.randint(0, 1))], [vi("X", s)], [out()], []
    return f


def with_input(op, name, value, dtype, before=11, attr=None, **attrs):
    """An operator that took `attr` as an attribute before opset `before` and as an input since."""
    def f(o):
        s = [2, 3, 4]
        if o < before:
            return [node(op, ["X"], **{attr or name: value}, **attrs)], [vi("X", s)], [out()], []
        return [node(op, ["X", name], **attrs)], [vi("X", s)], [out()], [c(name, value, dtype)]
    return f


def rnn(op, gates):
    def f(o):
        i, h = R.randint(1, 3), R.randint(1, 3)
        inits = [c("W", rnd(1, gates * h, i)), c("R", rnd(1, gates * h, h)), c("B", rnd(1, 2 * gates * h))]
        return [node(op, ["X", "W", "R", "B"], ["Y", "Yh"], hidden_size=h)], [vi("X", [2, 1, i])], \
            [out(), out("Yh")], inits
    return f


def qdq_conv(o):
    """DequantizeLinear -> Conv -> QuantizeLinear: what lower_qdq makes an int8 kernel of."""
    w = np.array([R.randint(-127, 127) for _ in range(2 * 2 * 3 * 3)], np.int8).reshape(2, 2, 3, 3)
    inits = [c("xs", 0.05), c("xz", 0, np.int8), c("ws", 0.02), c("wz", 0, np.int8), c("W", w, np.int8),
             c("ys", 0.1), c("yz", 0, np.int8), numpy_helper.from_array(np.array([5, -3], np.int32), "Bq"),
             c("bs", 0.001), numpy_helper.from_array(np.array(0, np.int32), "bz")]
    nodes = [node("QuantizeLinear", ["X", "xs", "xz"], ["Xq"]), node("DequantizeLinear", ["Xq", "xs", "xz"], ["Xd"]),
             node("DequantizeLinear", ["W", "ws", "wz"], ["Wd"]), node("DequantizeLinear", ["Bq", "bs", "bz"], ["Bd"]),
             node("Conv", ["Xd", "Wd", "Bd"], ["T"], kernel_shape=[3, 3]), node("Relu", ["T"], ["R"]),
             node("QuantizeLinear", ["R", "ys", "yz"], ["Yq"]), node("DequantizeLinear", ["Yq", "ys", "yz"], ["Y"])]
    return nodes, [vi("X", [1, 2, 4, 4])], [out()], inits


UNARY = ["Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Exp", "Log", "Sqrt", "Floor", "Ceil", "Round", "Sin", "Cos",
         "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Erf", "Softplus", "Softsign",
         "Reciprocal", "Sign", "HardSwish", "Elu", "Selu", "LeakyRelu", "HardSigmoid", "ThresholdedRelu", "Celu",
         "Identity", "Shrink", "Softmax", "LogSoftmax", "Hardmax", "Flatten", "Dropout", "GlobalAveragePool",
         "GlobalMaxPool", "GlobalLpPool", "InstanceNormalization", "LRN"]
BINARY = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "PRelu", "Mod"]
COMPARE = ["Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"]
REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]

SPECS = {}
for op in UNARY:
    if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "LRN"):
        SPECS[op] = pool(op, **({"size": 3} if op == "LRN" else {}))
    elif op == "InstanceNormalization":
        SPECS[op] = lambda o: ([node("InstanceNormalization", ["X", "s", "b"])], [vi("X", [1, 2, 3, 3])], [out()],
                               [c("s", rnd(2)), c("b", rnd(2))])
    else:
        SPECS[op] = one(op, s=[1, 2, 3, 3] if op in ("Flatten", "Softmax", "LogSoftmax", "Hardmax") else None)
for op in BINARY:
    SPECS[op] = two(op)
    SPECS[op + "_const"] = two(op, const_b=True)
for op in COMPARE:
    SPECS[op] = two(op, t_out=TP.BOOL)
for op in ("And", "Or", "Xor"):
    SPECS[op] = two(op, TP.BOOL, TP.BOOL)
for op in REDUCE:
    SPECS[op] = reduce(op)
SPECS.update({
    "Not": one("Not", TP.BOOL, TP.BOOL), "IsNaN": one("IsNaN", t_out=TP.BOOL), "IsInf": one("IsInf", t_out=TP.BOOL),
    "BitShift": lambda o: ([node("BitShift", ["A", "B"], direction=R.choice(["LEFT", "RIGHT"]))],
                           [vi("A", [2, 3], TP.UINT8), vi("B", [3], TP.UINT8)], [out("Y", TP.UINT8)], []),
    "Cast": one("Cast", t_out=TP.INT32, to=TP.INT32), "Cast_u8": one("Cast", TP.INT64, TP.UINT8, to=TP.UINT8),
    "CastLike": lambda o: ([node("CastLike", ["X", "L"])], [vi("X", [2, 3])], [out("Y", TP.INT8)],
                           [c("L", [0], np.int8)]),
    "ArgMax": one("ArgMax", t_out=TP.INT64, axis=1, s=[2, 3]), "ArgMin": one("ArgMin", t_out=TP.INT64, keepdims=0),
    "Shape": one("Shape", t_out=TP.INT64), "Size": one("Size", t_out=TP.INT64),
    "Transpose": one("Transpose", s=[1, 2, 3, 4], perm=[0, 2, 3, 1]),
    "DepthToSpace": one("DepthToSpace", s=[1, 4, 2, 3], blocksize=2),
    "SpaceToDepth": one("SpaceToDepth", s=[1, 1, 4, 2], blocksize=2),
    "EyeLike": one("EyeLike", s=[3, 4], k=1), "Trilu": one("Trilu", s=[3, 4]),
    "Conv": conv, "Conv_nobias": lambda o: conv(o, bias=False),
    "Conv_group": lambda o: conv(o, group=1, dilations=[1, 1]),
    "ConvTranspose": lambda o: conv(o, "ConvTranspose"),
    "Conv_Relu": lambda o: conv(o, then=lambda co: ([node("Relu", ["T"])], [])),
    "Conv_Clip": lambda o: conv(o, then=lambda co: ([node("Clip", ["T"], min=0.0, max=6.0)], []) if o < 11 else
                                ([node("Clip", ["T", "lo", "hi"])], [c("lo", 0.0), c("hi", 6.0)])),
    "Conv_BatchNorm": lambda o: conv(o, then=lambda co: ([node("BatchNormalization", ["T", "s", "b", "m", "v"])],
                                                         [c("s", rnd(co)), c("b", rnd(co)), c("m", rnd(co)),
                                                          c("v", np.ones(co))])),
    "Conv_Mul": lambda o: conv(o, then=lambda co: ([node("Mul", ["T", "k"])], [c("k", rnd(co, 1, 1))])),
    "Conv_Add": lambda o: conv(o, then=lambda co: ([node("Add", ["T", "k"])], [c("k", rnd(co, 1, 1))])),
    "Gemm": gemm, "Gemm_LeakyRelu": lambda o: gemm(o, lambda n: ([node("LeakyRelu", ["T"], alpha=0.1)], [])),
    "Gemm_Div": lambda o: gemm(o, lambda n: ([node("Div", ["T", "k"])], [c("k", rnd(n))])),
    "MatMul": lambda o: ([node("MatMul", ["X", "W"])], [vi("X", [2, 3])], [out()], [c("W", rnd(3, 4))]),
    "MatMul_Add": lambda o: ([node("MatMul", ["X", "W"], ["T"]), node("Add", ["T", "B"])], [vi("X", [1, 3])],
                             [out()], [c("W", rnd(3, 2)), c("B", rnd(2))]),
    "MatMul_3d": lambda o: ([node("MatMul", ["A", "B"])], [vi("A", [2, 2, 3]), vi("B", [3, 2])], [out()], []),
    "BatchNormalization": lambda o: ([node("BatchNormalization", ["X", "s", "b", "m", "v"])], [vi("X", [1, 2, 3])],
                                     [out()], [c("s", rnd(2)), c("b", rnd(2)), c("m", rnd(2)), c("v", [1.0, 0.5])]),
    "LayerNormalization": lambda o: ([node("LayerNormalization", ["X", "s", "b"], axis=-1)], [vi("X", [2, 3])],
                                     [out()], [c("s", rnd(3)), c("b", rnd(3))]),
    "MaxPool": pool("MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    "MaxPool_pads": pool("MaxPool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    "AveragePool": pool("AveragePool", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
    "AveragePool_1d": lambda o: ([node("AveragePool", ["X"], kernel_shape=[2])], [vi("X", [1, 2, 5])], [out()], []),
    "LpPool": pool("LpPool", kernel_shape=[2, 2], p=2),
    "Pad_Conv": lambda o: ([node("Pad", ["X"], ["P"], pads=[0, 0, 1, 1, 0, 0, 1, 1]) if o < 11 else
                            node("Pad", ["X", "pads"], ["P"]), node("Conv", ["P", "W"])],
                           [vi("X", [1, 1, 4, 4])], [out()],
                           [c("W", rnd(2, 1, 3, 3))] + ([] if o < 11 else [c("pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64)])),
    "Transpose_Transpose": lambda o: ([node("Transpose", ["X"], ["T"], perm=[1, 0, 2]),
                                       node("Transpose", ["T"], perm=[2, 1, 0])], [vi("X", [2, 3, 4])], [out()], []),
    "Transpose_Conv": lambda o: ([node("Transpose", ["X"], ["T"], perm=[0, 3, 1, 2]), node("Conv", ["T", "W"])],
                                 [vi("X", [1, 4, 4, 2])], [out()], [c("W", rnd(3, 2, 1, 1))]),
    "Reshape": with_input("Reshape", "shape", [4, -1], np.int64, before=5),
    "Squeeze": lambda o: ([node("Squeeze", ["X"], axes=[0]) if o < 13 else node("Squeeze", ["X", "a"])],
                          [vi("X", [1, 3, 2])], [out()], [] if o < 13 else [c("a", [0], np.int64)]),
    "Unsqueeze": lambda o: ([node("Unsqueeze", ["X"], axes=[1]) if o < 13 else node("Unsqueeze", ["X", "a"])],
                            [vi("X", [3, 2])], [out()], [] if o < 13 else [c("a", [1], np.int64)]),
    "Concat": lambda o: ([node("Concat", ["A", "B", "K"], axis=1)], [vi("A", [2, 1]), vi("B", [2, 3])], [out()],
                         [c("K", rnd(2, 2))]),
    "Split": lambda o: ([node("Split", ["X"], ["Y", "Z"], axis=1, **({"split": [1, 3]} if o < 13 else {})) if o < 13
                         else node("Split", ["X", "s"], ["Y", "Z"], axis=1)], [vi("X", [2, 4])],
                        [out(), out("Z")], [] if o < 13 else [c("s", [1, 3], np.int64)]),
    "Slice": lambda o: ([node("Slice", ["X"], starts=[1], ends=[3], axes=[1]) if o < 10 else
                         node("Slice", ["X", "st", "en", "ax", "sp"])], [vi("X", [2, 5])], [out()],
                        [] if o < 10 else [c("st", [4], np.int64), c("en", [0], np.int64), c("ax", [1], np.int64),
                                           c("sp", [-2], np.int64)]),
    "Gather": lambda o: ([node("Gather", ["X", "i"], axis=1)], [vi("X", [2, 4])], [out()], [c("i", [3, -1], np.int64)]),
    "GatherElements": lambda o: ([node("GatherElements", ["X", "i"], axis=0)], [vi("X", [2, 2])], [out()],
                                 [c("i", [[1, 0], [0, 1]], np.int64)]),
    "Expand": lambda o: ([node("Expand", ["X", "s"])], [vi("X", [3, 1])], [out()], [c("s", [2, 3, 4], np.int64)]),
    "Tile": lambda o: ([node("Tile", ["X", "r"])], [vi("X", [2, 3])], [out()], [c("r", [2, 1], np.int64)]),
    "Pad": lambda o: ([node("Pad", ["X"], mode="reflect", pads=[0, 1, 0, 1]) if o < 11 else
                       node("Pad", ["X", "p"], mode=R.choice(["constant", "reflect", "edge"]))], [vi("X", [2, 3])],
                      [out()], [] if o < 11 else [c("p", [0, 1, 0, 1], np.int64)]),
    "Clip": lambda o: ([node("Clip", ["X"], min=-1.0, max=1.0) if o < 11 else node("Clip", ["X", "lo", "hi"])],
                      [vi("X", [2, 3])], [out()], [] if o < 11 else [c("lo", -1.0), c("hi", 1.0)]),
    "Where": lambda o: ([node("Where", ["C", "A", "B"])], [vi("C", [2, 1], TP.BOOL), vi("A", [2, 3]), vi("B", [3])],
                        [out()], []),
    "Constant": lambda o: ([node("Constant", [], ["K"], value=c("v", rnd(2, 2))), node("Add", ["X", "K"])],
                           [vi("X", [2, 2])], [out()], []),
    "ConstantOfShape": lambda o: ([node("ConstantOfShape", ["s"], ["K"], value=c("v", [1.5])), node("Mul", ["X", "K"])],
                                  [vi("X", [2, 3])], [out()], [c("s", [2, 3], np.int64)]),
    "Shape_Reshape": lambda o: ([node("Shape", ["A"], ["s"]), node("Reshape", ["X", "s"])],
                                [vi("A", [3, 2]), vi("X", [6])], [out("Y", F, [3, 2])], []),
    "Range": lambda o: ([node("Range", ["a", "b", "d"], ["K"]), node("Add", ["X", "K"])], [vi("X", [4])], [out()],
                        [c("a", 0.0), c("b", 2.0), c("d", 0.5)]),
    "OneHot": lambda o: ([node("OneHot", ["X", "d", "v"])], [vi("X", [3], TP.INT64)], [out()],
                         [c("d", [4], np.int64), c("v", [0.0, 1.0])]),
    "CumSum": lambda o: ([node("CumSum", ["X", "a"], reverse=1)], [vi("X", [2, 3])], [out()], [c("a", 1, np.int32)]),
    "TopK": lambda o: ([node("TopK", ["X"], ["Y", "I"], k=2) if o < 10 else node("TopK", ["X", "k"], ["Y", "I"])],
                       [vi("X", [2, 4])], [out(), out("I", TP.INT64)], [] if o < 10 else [c("k", [2], np.int64)]),
    "Resize": lambda o: ([node("Resize", ["X", "roi", "sc"], mode=R.choice(["nearest", "linear"])) if o >= 11 else
                          node("Resize", ["X", "sc"])], [vi("X", [1, 1, 2, 3])], [out()],
                         ([c("roi", [])] if o >= 11 else []) + [c("sc", [1, 1, 2, 2])]),
    "Upsample": lambda o: ([node("Upsample", ["X"], scales=[1.0, 1.0, 2.0, 2.0]) if o < 9 else
                            node("Upsample", ["X", "sc"])], [vi("X", [1, 1, 2, 2])], [out()],
                           [] if o < 9 else [c("sc", [1, 1, 2, 2])]),
    "LSTM": rnn("LSTM", 4), "GRU": rnn("GRU", 3), "RNN": rnn("RNN", 1),
    "QuantizeLinear": lambda o: ([node("QuantizeLinear", ["X", "s", "z"])], [vi("X", [2, 3])], [out("Y", TP.INT8)],
                                 [c("s", 0.1), c("z", 3, np.int8)]),
    "DequantizeLinear": lambda o: ([node("DequantizeLinear", ["X", "s", "z"])], [vi("X", [2, 3], TP.UINT8)], [out()],
                                   [c("s", 0.1), c("z", 128, np.uint8)]),
    "QDQ_Conv": qdq_conv,
    "DynamicQuantizeLinear": lambda o: ([node("DynamicQuantizeLinear", ["X"], ["Y", "S", "Z"])], [vi("X", [2, 3])],
                                        [out("Y", TP.UINT8), out("S"), out("Z", TP.UINT8)], []),
    "QLinearMatMul": lambda o: ([node("QLinearMatMul", ["A", "as", "az", "B", "bs", "bz", "ys", "yz"])],
                                [vi("A", [2, 3], TP.UINT8)], [out("Y", TP.UINT8)],
                                [c("as", 0.1), c("az", 128, np.uint8), c("B", [[1, 2], [3, 4], [5, 6]], np.uint8),
                                 c("bs", 0.2), c("bz", 1, np.uint8), c("ys", 0.5), c("yz", 100, np.uint8)]),
    "QLinearConv": lambda o: ([node("QLinearConv", ["X", "xs", "xz", "W", "ws", "wz", "ys", "yz"])],
                              [vi("X", [1, 1, 3, 3], TP.INT8)], [out("Y", TP.INT8)],
                              [c("xs", 0.1), c("xz", 0, np.int8), c("W", np.ones((2, 1, 2, 2)), np.int8),
                               c("ws", 0.2), c("wz", 0, np.int8), c("ys", 0.5), c("yz", -3, np.int8)]),
    "MatMulInteger": lambda o: ([node("MatMulInteger", ["A", "B"])], [vi("A", [2, 3], TP.INT8)], [out("Y", TP.INT32)],
                                [c("B", np.ones((3, 2)), np.int8)]),
    "ConvInteger": lambda o: ([node("ConvInteger", ["X", "W"])], [vi("X", [1, 1, 3, 3], TP.UINT8)],
                              [out("Y", TP.INT32)], [c("W", np.ones((1, 1, 2, 2)), np.uint8)]),
    "SoftmaxCrossEntropyLoss": lambda o: ([node("SoftmaxCrossEntropyLoss", ["X", "L"])],
                                          [vi("X", [2, 3]), vi("L", [2], TP.INT64)], [out()], []),
    "NegativeLogLikelihoodLoss": lambda o: ([node("NegativeLogLikelihoodLoss", ["X", "L"], reduction="sum")],
                                            [vi("X", [2, 3]), vi("L", [2], TP.INT64)], [out()], []),
})
def opsets(ops):
    """The opsets from 7 to 17 at which any of `ops` changed, and 17."""
    found = {17}
    for op in ops:
        for v in range(7, 18):
            try:
                found.add(max(7, defs.get_schema(op, v).since_version))
            except Exception:
                pass
    return sorted(found)


def build(name, f, o):
    nodes, ins, outs, inits = f(o)
    m = helper.make_model(helper.make_graph(nodes, name, ins, outs, inits), producer_name="tinyc-seeds",
                          opset_imports=[helper.make_opsetid("", o)])
    m.ir_version = 7 if o < 15 else 8
    # The outputs' shapes as ONNX infers them (the checker wants them), without value_info.
    inferred = onnx.shape_inference.infer_shapes(m)
    for mine, theirs in zip(m.graph.output, inferred.graph.output):
        if not mine.type.tensor_type.HasField("shape"):
            mine.CopyFrom(theirs)
    return m


def main():
    os.makedirs(sys.argv[1], exist_ok=True)
    written = skipped = 0
    for name, f in SPECS.items():
        ops = {n.op_type for n in f(17)[0]}
        for o in opsets(ops) + ([6] if name in ("Relu", "Add", "Conv", "Gemm", "MaxPool", "Reshape") else []):
            try:
                m = build(name, f, o)
                onnx.checker.check_model(m)
                onnx.shape_inference.infer_shapes(m, strict_mode=True, check_type=True)
            except Exception:
                skipped += 1
                continue
            for label in [o] + ([18] if o == 17 and written % 3 == 0 else []):
                m.opset_import[0].version = label
                with open(os.path.join(sys.argv[1], f"{name}_o{label}.onnx"), "wb") as fh:
                    fh.write(m.SerializeToString())
                written += 1
    print(f"make_seeds.py: {written} models, {skipped} operator/opset pairs skipped (not valid there)")


if __name__ == "__main__":
    main()
