#!/usr/bin/python3
"""A small keyword-spotting-shaped model in the QDQ form ONNX Runtime's static quantizer writes,
channels-last as tf2onnx exports it: float input -> QuantizeLinear; every layer between a
DequantizeLinear and a QuantizeLinear (Conv with int8 per-channel weights and an int32 bias,
MaxPool, Transpose, Reshape, MatMul, Add of an int8 bias, Softmax), each activation's Q -> DQ
pair explicit; with int8 activations (kws_nhwc_s8) and uint8 ones (kws_nhwc_u8, ONNX Runtime's
QUInt8); qoperator_s8, QLinearConv and QLinearMatMul in their QOperator form; unary_s8, elementwise
functions between Q/DQ pairs; selections_s8, Pad, MaxPool and ReduceMax between them; io_u8 and qoperator_io_u8, a uint8 graph input
and output (QDQ, QLinearConv); opset10_s8 and opset12_u8, per-tensor QDQ as older exporters write it;
torch_fx_fbgemm and torch_fx_qnnpack, a CNN quantized by PyTorch and exported by torch.onnx. Seeded; the references (data/test_data_set_K/output_0.pb) are ONNX Runtime's
(onnxruntime-node from tests/oracle), so no code of tinyc produced them.

    /usr/bin/python3 tests/qdq/make_models.py [--out tests/qdq]
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "oracle"))
from check_oracle import ort_run  # noqa: E402

RNG = np.random.default_rng(2026)


def const(inits, name, a):
    inits.append(numpy_helper.from_array(a, name))
    return name


def qdq(nodes, inits, x, scale, zp, tag, dtype=np.int8):
    """x -> QuantizeLinear -> DequantizeLinear with scalar parameters (zp given as int8: uint8 ones
    are moved by 128, the same real values); returns the DQ output."""
    s = const(inits, f"{tag}_scale", np.array(scale, np.float32))
    z = const(inits, f"{tag}_zero_point", np.array(zp + (128 if dtype == np.uint8 else 0), dtype))
    nodes.append(helper.make_node("QuantizeLinear", [x, s, z], [f"{tag}_q"]))
    nodes.append(helper.make_node("DequantizeLinear", [f"{tag}_q", s, z], [f"{tag}_dq"]))
    return f"{tag}_dq"


def weights(nodes, inits, tag, shape, axis=0):
    """int8 per-channel weights (symmetric, as ORT's quantizer) -> DequantizeLinear."""
    q = RNG.integers(-127, 128, size=shape).astype(np.int8)
    s = RNG.uniform(0.002, 0.01, size=shape[axis]).astype(np.float32)
    const(inits, f"{tag}_wq", q), const(inits, f"{tag}_ws", s), const(inits, f"{tag}_wz", np.zeros(shape[axis], np.int8))
    nodes.append(helper.make_node("DequantizeLinear", [f"{tag}_wq", f"{tag}_ws", f"{tag}_wz"], [f"{tag}_w"], axis=axis))
    return f"{tag}_w", s


def kws(out_dir, name, act=np.int8):
    """act: the activations' type (ONNX Runtime's QInt8 or QUInt8; weights are int8 in both)."""
    nodes, inits = [], []

    def qdq_act(nodes, inits, x, scale, zp, tag):
        return qdq(nodes, inits, x, scale, zp, tag, act)

    x = qdq_act(nodes, inits, "input", 0.03, 3, "in")                       # [1, 20, 10, 1] NHWC
    nodes.append(helper.make_node("Transpose", [x], ["x_nchw"], perm=[0, 3, 1, 2]))
    x = qdq_act(nodes, inits, "x_nchw", 0.03, 3, "in_t")
    w, ws = weights(nodes, inits, "c1", (8, 1, 3, 3))
    b = const(inits, "c1_bq", RNG.integers(-300, 300, size=8).astype(np.int32))
    const(inits, "c1_bs", (ws * np.float32(0.03)).astype(np.float32)), const(inits, "c1_bz", np.zeros(8, np.int32))
    nodes.append(helper.make_node("DequantizeLinear", [b, "c1_bs", "c1_bz"], ["c1_b"], axis=0))
    nodes.append(helper.make_node("Conv", [x, w, "c1_b"], ["c1"], pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["c1"], ["r1"]))
    x = qdq_act(nodes, inits, "r1", 0.02, -128, "r1")
    nodes.append(helper.make_node("MaxPool", [x], ["p1"], kernel_shape=[2, 2], strides=[2, 2]))
    x = qdq_act(nodes, inits, "p1", 0.02, -128, "p1")                      # same parameters: a data move
    nodes.append(helper.make_node("Transpose", [x], ["p1_nhwc"], perm=[0, 2, 3, 1]))
    x = qdq_act(nodes, inits, "p1_nhwc", 0.02, -128, "p1t")
    nodes.append(helper.make_node("Reshape", [x, const(inits, "flat", np.array([1, 400], np.int64))], ["f"]))
    x = qdq_act(nodes, inits, "f", 0.02, -128, "f")
    w, _ = weights(nodes, inits, "d1", (400, 12), axis=1)
    nodes.append(helper.make_node("MatMul", [x, w], ["m1"]))
    x = qdq_act(nodes, inits, "m1", 0.05, -7, "m1")
    bq = RNG.integers(-128, 128, size=12).astype(np.int8)
    const(inits, "d1_bq", bq), const(inits, "d1_bs", np.array(0.004, np.float32)), const(inits, "d1_bz", np.array(-20, np.int8))
    nodes.append(helper.make_node("DequantizeLinear", ["d1_bq", "d1_bs", "d1_bz"], ["d1_b"]))
    nodes.append(helper.make_node("Add", [x, "d1_b"], ["a1"]))
    x = qdq_act(nodes, inits, "a1", 0.05, -5, "a1")
    nodes.append(helper.make_node("Softmax", [x], ["sm"], axis=-1))
    qdq_act(nodes, inits, "sm", 1 / 256, -128, "sm")
    nodes[-1].output[0] = "probabilities"
    graph = helper.make_graph(nodes, "qdq_kws", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 20, 10, 1])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 12])], inits)
    save_with_references(out_dir, name, graph, [RNG.normal(0, 1.5, size=(1, 20, 10, 1)).astype(np.float32) for _ in range(3)])


def qoperator(out_dir, name):
    """The QOperator form: QuantizeLinear -> QLinearConv (per-channel int8 weights, int32 bias) ->
    Reshape -> QLinearMatMul -> DequantizeLinear, all int8."""
    nodes, inits = [], []
    sc = lambda n, v: const(inits, n, np.array(v, np.float32))  # noqa: E731
    zp = lambda n, v: const(inits, n, np.array(v, np.int8))  # noqa: E731
    nodes.append(helper.make_node("QuantizeLinear", ["input", sc("xs", 0.03), zp("xz", 3)], ["xq"]))
    w = const(inits, "cw", RNG.integers(-127, 128, size=(8, 1, 3, 3)).astype(np.int8))
    ws = const(inits, "cws", RNG.uniform(0.002, 0.01, size=8).astype(np.float32))
    wz = const(inits, "cwz", np.zeros(8, np.int8))
    b = const(inits, "cb", RNG.integers(-300, 300, size=8).astype(np.int32))
    nodes.append(helper.make_node("QLinearConv", ["xq", "xs", "xz", w, ws, wz, sc("cs", 0.02), zp("cz", -20), b], ["cq"],
                                  pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Reshape", ["cq", const(inits, "flat", np.array([1, 200], np.int64))], ["fq"]))
    mw = const(inits, "mw", RNG.integers(-127, 128, size=(200, 12)).astype(np.int8))
    mws = const(inits, "mws", RNG.uniform(0.002, 0.01, size=12).astype(np.float32))
    nodes.append(helper.make_node("QLinearMatMul", ["fq", "cs", "cz", mw, mws, const(inits, "mwz", np.zeros(12, np.int8)),
                                                    sc("ms", 0.05), zp("mz", 7)], ["mq"]))
    nodes.append(helper.make_node("DequantizeLinear", ["mq", "ms", "mz"], ["scores"]))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 5, 5])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 12])], inits)
    save_with_references(out_dir, name, graph, [RNG.normal(0, 1.5, size=(1, 1, 5, 5)).astype(np.float32) for _ in range(3)])


def unary(out_dir, name):
    """Elementwise functions between DequantizeLinear and QuantizeLinear (LeakyRelu, Sigmoid,
    HardSwish, Tanh, Elu, times and plus a constant), each with its own output parameters, then a
    Concat of two of them on different scales."""
    nodes, inits = [], []
    x = qdq(nodes, inits, "input", 0.04, 5, "in")
    for i, (op, attrs, scale, zp) in enumerate([("LeakyRelu", {"alpha": 0.15}, 0.035, 20), ("Sigmoid", {}, 1 / 256, -128),
                                                ("HardSwish", {}, 0.01, -100), ("Tanh", {}, 1 / 128, 0),
                                                ("Elu", {"alpha": 0.7}, 0.02, 30)]):
        nodes.append(helper.make_node(op, [x], [f"f{i}"], **attrs))
        x = qdq(nodes, inits, f"f{i}", scale, zp, f"f{i}")
    first = "f0_dq"
    for i, (op, c, scale, zp) in enumerate([("Mul", 0.5, 0.004, 3), ("Add", 0.3, 0.005, -60)]):  # x op constant
        nodes.append(helper.make_node(op, [x, const(inits, f"c{i}", np.array(c, np.float32))], [f"g{i}"]))
        x = qdq(nodes, inits, f"g{i}", scale, zp, f"g{i}")
    nodes.append(helper.make_node("Concat", [x, first], ["cat"], axis=1))  # inputs on different scales
    qdq(nodes, inits, "cat", 0.03, 10, "cat")
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2, 50])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 100])], inits)
    save_with_references(out_dir, name, graph, [RNG.normal(0, 2.0, size=(2, 50)).astype(np.float32) for _ in range(3)],
                         opset=14)


def selections(out_dir, name):
    """Data moves and selections between Q/DQ pairs of the same parameters: Pad (constant 0, which
    must become the zero point), MaxPool with padding, ReduceMax; then a Mul of two tensors."""
    nodes, inits = [], []
    x = qdq(nodes, inits, "input", 0.05, 17, "in")
    nodes.append(helper.make_node("Pad", [x, const(inits, "pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))], ["p"]))
    x = qdq(nodes, inits, "p", 0.05, 17, "p")
    nodes.append(helper.make_node("MaxPool", [x], ["m"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    x = qdq(nodes, inits, "m", 0.05, 17, "m")
    nodes.append(helper.make_node("ReduceMax", [x], ["r"], axes=[3], keepdims=1))
    x = qdq(nodes, inits, "r", 0.05, 17, "r")
    nodes.append(helper.make_node("Mul", [x, x], ["sq"]))  # two tensors (here the same): QLinearMul
    qdq(nodes, inits, "sq", 0.04, -120, "sq")
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 5, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 1])], inits)
    save_with_references(out_dir, name, graph, [RNG.normal(-1.0, 1.5, size=(1, 3, 5, 6)).astype(np.float32) for _ in range(3)])


def uint8_io(out_dir, name, qoperator=False):
    """uint8 at the graph's boundary, as models for uint8 sensors or pixels take it: a uint8 input
    -> DequantizeLinear -> Conv (int8 per-channel weights, int32 bias) -> QuantizeLinear -> a uint8
    output; or (qoperator) the same Conv as one QLinearConv on the uint8 input and output."""
    nodes, inits = [], []
    const(inits, "xs", np.array(0.02, np.float32)), const(inits, "xz", np.array(131, np.uint8))
    const(inits, "ys", np.array(0.05, np.float32)), const(inits, "yz", np.array(118, np.uint8))
    wq = RNG.integers(-127, 128, size=(6, 3, 3, 3)).astype(np.int8)
    ws = RNG.uniform(0.002, 0.01, size=6).astype(np.float32)
    bq = RNG.integers(-200, 200, size=6).astype(np.int32)
    const(inits, "wq", wq), const(inits, "ws", ws), const(inits, "wz", np.zeros(6, np.int8)), const(inits, "bq", bq)
    if qoperator:
        nodes.append(helper.make_node("QLinearConv", ["input", "xs", "xz", "wq", "ws", "wz", "ys", "yz", "bq"], ["y"],
                                      pads=[1, 1, 1, 1]))
    else:
        const(inits, "bs", (ws * np.float32(0.02)).astype(np.float32)), const(inits, "bz", np.zeros(6, np.int32))
        nodes.append(helper.make_node("DequantizeLinear", ["input", "xs", "xz"], ["x"]))
        nodes.append(helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=0))
        nodes.append(helper.make_node("DequantizeLinear", ["bq", "bs", "bz"], ["b"], axis=0))
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["y"]))
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.UINT8, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 6, 8, 8])], inits)
    save_with_references(out_dir, name, graph, [RNG.integers(0, 256, size=(1, 3, 8, 8)).astype(np.uint8) for _ in range(3)])


def old_opset(out_dir, name, opset, act=np.int8):
    """QDQ at an opset before 13, as older exporters write it: per-tensor weights and bias (no
    axis), Conv -> Relu, MaxPool, Flatten, MatMul, Softmax (axis 1, the last here) between Q/DQ
    pairs."""
    nodes, inits = [], []
    x = qdq(nodes, inits, "input", 0.03, 2, "in", act)
    const(inits, "wq", RNG.integers(-127, 128, size=(6, 3, 3, 3)).astype(np.int8))
    const(inits, "ws", np.array(0.006, np.float32)), const(inits, "wz", np.array(0, np.int8))
    const(inits, "bq", RNG.integers(-300, 300, size=6).astype(np.int32))
    const(inits, "bs", np.array(0.03 * 0.006, np.float32)), const(inits, "bz", np.array(0, np.int32))
    const(inits, "mq", RNG.integers(-127, 128, size=(96, 10)).astype(np.int8))
    const(inits, "ms", np.array(0.004, np.float32)), const(inits, "mz", np.array(0, np.int8))
    nodes.append(helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"]))
    nodes.append(helper.make_node("DequantizeLinear", ["bq", "bs", "bz"], ["b"]))
    nodes.append(helper.make_node("DequantizeLinear", ["mq", "ms", "mz"], ["mw"]))
    nodes.append(helper.make_node("Conv", [x, "w", "b"], ["c"], pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["c"], ["r"]))
    x = qdq(nodes, inits, "r", 0.02, -128, "r", act)
    nodes.append(helper.make_node("MaxPool", [x], ["m"], kernel_shape=[2, 2], strides=[2, 2]))
    x = qdq(nodes, inits, "m", 0.02, -128, "m", act)
    nodes.append(helper.make_node("Flatten", [x], ["f"], axis=1))
    x = qdq(nodes, inits, "f", 0.02, -128, "f", act)
    nodes.append(helper.make_node("MatMul", [x, "mw"], ["mm"]))
    x = qdq(nodes, inits, "mm", 0.05, 0, "mm", act)
    nodes.append(helper.make_node("Softmax", [x], ["sm"], axis=1))
    qdq(nodes, inits, "sm", 1 / 256, -128, "sm", act)
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    save_with_references(out_dir, name, graph, [RNG.normal(0, 1.5, size=(1, 3, 8, 8)).astype(np.float32) for _ in range(3)],
                         opset=opset)


def torch_fx(out_dir, name, backend):
    """A CNN quantized by PyTorch (FX graph mode, the `backend`'s default config: fbgemm per-channel
    int8 weights, qnnpack per-tensor; uint8 activations) and exported by torch.onnx: QDQ with a
    Cast after every QuantizeLinear and the biases' zero points made by ConstantOfShape -> Cast.
    Conv-BatchNorm-Relu, MaxPool, a strided Conv, a residual Add, global average pooling (over 3x3:
    ONNX Runtime's float average of a QDQ model lands on either side of an exact tie of a sum of
    16, its QLinearGlobalAveragePool on the even side), Linear."""
    import torch
    from torch import nn
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.manual_seed(2026)
    torch.backends.quantized.engine = "qnnpack"  # the engine Debian's torch has; the config is the backend's

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1, self.pool = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.MaxPool2d(2)
            self.c2, self.c3 = nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.Conv2d(16, 16, 3, padding=1)
            self.gap, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.b1(self.c1(x))))
            x = torch.relu(self.c2(x))
            x = torch.relu(self.c3(x) + x)
            return self.fc(torch.flatten(self.gap(x), 1))

    net = Net().eval()
    with torch.no_grad():  # a trained BatchNorm's statistics, not the identity
        net.b1.running_mean.uniform_(-0.2, 0.2), net.b1.running_var.uniform_(0.5, 2.0)
    example = (torch.randn(1, 1, 12, 12),)
    prepared = prepare_fx(net, get_default_qconfig_mapping(backend), example)
    with torch.no_grad():
        for _ in range(32):
            prepared(torch.randn(1, 1, 12, 12))
    quantized = convert_fx(prepared)
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    torch.onnx.export(quantized, example, path, opset_version=13, input_names=["input"], output_names=["logits"])
    model = onnx.load(path)
    model.producer_name += " (tinyc tests/qdq)"
    onnx.save(model, path)
    sets = [torch.randn(1, 1, 12, 12).numpy() for _ in range(3)]
    with tempfile.TemporaryDirectory() as work:
        outs = ort_run([(path, [("input", a)], os.path.join(work, f"s{k}")) for k, a in enumerate(sets)], work, "qdq")
    for k, (a, o) in enumerate(zip(sets, outs)):
        sd = os.path.join(d, "data", f"test_data_set_{k}")
        os.makedirs(sd)
        onnx.save_tensor(numpy_helper.from_array(a, "input"), os.path.join(sd, "input_0.pb"))
        onnx.save_tensor(numpy_helper.from_array(o[0], "logits"), os.path.join(sd, "output_0.pb"))


def save_with_references(out_dir, name, graph, sets, opset=13):
    """NAME/model.onnx and its test data sets, the outputs from ONNX Runtime."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tinyc tests/qdq")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    onnx.save(model, os.path.join(d, "model.onnx"))
    in_name, out_name = graph.input[0].name, graph.output[0].name
    with tempfile.TemporaryDirectory() as work:
        outs = ort_run([(os.path.join(d, "model.onnx"), [(in_name, a)], os.path.join(work, f"s{k}"))
                        for k, a in enumerate(sets)], work, "qdq")
    for k, (a, o) in enumerate(zip(sets, outs)):
        sd = os.path.join(d, "data", f"test_data_set_{k}")
        os.makedirs(sd)
        onnx.save_tensor(numpy_helper.from_array(a, in_name), os.path.join(sd, "input_0.pb"))
        onnx.save_tensor(numpy_helper.from_array(o[0], out_name), os.path.join(sd, "output_0.pb"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=HERE)
    out = ap.parse_args().out
    kws(out, "kws_nhwc_s8")
    kws(out, "kws_nhwc_u8", np.uint8)
    qoperator(out, "qoperator_s8")
    unary(out, "unary_s8")
    selections(out, "selections_s8")
    uint8_io(out, "io_u8")
    uint8_io(out, "qoperator_io_u8", qoperator=True)
    old_opset(out, "opset10_s8", 10)
    old_opset(out, "opset12_u8", 12, np.uint8)
    torch_fx(out, "torch_fx_fbgemm", "fbgemm")
    torch_fx(out, "torch_fx_qnnpack", "qnnpack")


if __name__ == "__main__":
    main()
