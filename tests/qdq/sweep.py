#!/usr/bin/python3
"""A sweep of small pre-quantized models, one per operator and variant, in the forms ONNX Runtime's
quantizer writes:
- QDQ: every activation an explicit QuantizeLinear -> DequantizeLinear pair with scalar parameters,
  int8 (NAME_s8) or uint8 (NAME_u8) activations; weights and per-channel constants int8 per channel
  (DequantizeLinear of int8 initializers), biases int32 with scale x_scale * w_scale. Activation
  parameters come from a calibration pass as ONNX Runtime's MinMax calibrator computes them (the
  float graph, Q/DQ pairs left out, run in ONNX Runtime on calibration data); data moves (MaxPool,
  Transpose, Reshape, Slice, ...) keep their input's parameters as ONNX Runtime's quantizer does;
  Sigmoid, Tanh and Softmax have its fixed output parameters. Some at opset 21 too (NAME_o21,
  ir_version 10), Gelu at opset 20 only (NAME_o20), HardSwish at 14 (it has no opset-13 form).
- QOperator: com.microsoft QGemm and QLinear* operators between a QuantizeLinear of the float input
  and a DequantizeLinear of the result.
- integer: ConvInteger and MatMulInteger followed by Cast and Mul by the scale, and the dynamic
  quantization pattern DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul.
Each case: OUT/KIND/NAME/model.onnx (KIND qdq, qop or integer) and data/test_data_set_K/input_I.pb, output_0.pb (K < 3), the
outputs ONNX Runtime's (onnxruntime-node from tests/oracle). Seeded from 7 per case (the same files
with or without --only), independent of make_models.py's generator. A case ONNX Runtime cannot run
is left out with a note, and the script then exits 1.

    /usr/bin/python3 tests/qdq/sweep.py --out DIR [--only SUBSTRING] [--max-opset N]
"""
import argparse
import copy
import os
import shutil
import sys
import tempfile
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models  # noqa: E402
from make_models import const, qdq, save_with_references, weights  # noqa: E402
from check_oracle import ort_run  # noqa: E402  (make_models put tests/oracle on the path)

SEED = 7
MS = "com.microsoft"
N_CALIB, N_SETS = 4, 3
NOTES = []


def note(msg):
    print("note: " + msg, flush=True)
    NOTES.append(msg)


def minmax(values):
    """ONNX Runtime's MinMax calibration: the range widened to hold 0, asymmetric, int8 zero point
    (uint8 ones are moved by 128 by qdq)."""
    lo, hi = min(float(np.min(values)), 0.0), max(float(np.max(values)), 0.0)
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    return scale, int(np.clip(np.round(-128 - lo / scale), -128, 127))


def ir_for(opset):
    return 8 if opset <= 18 else 9 if opset <= 20 else 10


class Builder:
    """One pass of a case's graph. params None: the calibration pass (q() leaves the tensor float and
    notes it); else {tag: (scale, zp)} for the tensors calibrated."""

    def __init__(self, act, rng, specs, cal, params):
        self.act, self.rng, self.specs, self.cal, self.params = act, rng, specs, cal, params
        self.nodes, self.inits, self.observed, self.used, self.n = [], [], {}, {}, 0
        make_models.RNG = rng  # `weights` draws from make_models.RNG: this case's generator

    @property
    def calibrating(self):
        return self.params is None

    def c(self, name, a):
        return const(self.inits, name, np.asarray(a))

    def op(self, op_type, ins, n_out=1, domain=None, **attrs):
        outs = [f"{op_type.lower()}{self.n}" + (f"_{k}" if n_out > 1 else "") for k in range(n_out)]
        self.n += 1
        self.nodes.append(helper.make_node(op_type, ins, outs, domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def q(self, x, tag, scale=None, zp=None, like=None):
        """x -> Q -> DQ: parameters calibrated, given (scale, zp as int8) or those of tag `like`."""
        assert tag not in self.used, tag
        if self.calibrating:
            if scale is None and like is None:
                self.observed[tag] = x
            self.used[tag] = None
            return x
        if like is not None:
            scale, zp = self.used[like]
        elif scale is None:
            scale, zp = self.params[tag]
        self.used[tag] = (scale, zp)
        return qdq(self.nodes, self.inits, x, scale, zp, tag, self.act)

    def x(self, name="input"):
        """A graph input through its Q/DQ pair (tag NAME_in)."""
        return self.q(name, f"{name}_in")

    def w(self, tag, shape, axis=0):
        return weights(self.nodes, self.inits, tag, shape, axis)

    def bias(self, tag, x_tag, ws):
        """A float bias quantized as ONNX Runtime does: int32, scale x_scale * w_scale, zero point 0."""
        b = self.rng.normal(0, 0.3, size=len(ws)).astype(np.float32)
        if self.calibrating:
            return self.c(f"{tag}_bf", b)
        s = (ws * np.float32(self.used[x_tag][0])).astype(np.float32)
        self.c(f"{tag}_bq", np.round(b / s).astype(np.int32))
        self.c(f"{tag}_bs", s), self.c(f"{tag}_bz", np.zeros(len(ws), np.int32))
        self.nodes.append(helper.make_node("DequantizeLinear", [f"{tag}_bq", f"{tag}_bs", f"{tag}_bz"], [f"{tag}_b"], axis=0))
        return f"{tag}_b"

    def qconst(self, tag, values):
        """A constant as symmetric per-tensor int8 -> DequantizeLinear."""
        values = np.asarray(values, np.float32)
        s = np.float32(np.max(np.abs(values)) / 127)
        self.c(f"{tag}_cq", np.round(values / s).astype(np.int8))
        self.c(f"{tag}_cs", s), self.c(f"{tag}_cz", np.array(0, np.int8))
        self.nodes.append(helper.make_node("DequantizeLinear", [f"{tag}_cq", f"{tag}_cs", f"{tag}_cz"], [f"{tag}_c"]))
        return f"{tag}_c"

    # QOperator form: integer tensors, parameters from the calibration data in numpy
    def sc(self, tag, v):
        return self.c(tag, np.array(v, np.float32))

    def zp(self, tag, v):
        return self.c(tag, np.array(v + (128 if self.act == np.uint8 else 0), self.act))

    def quant(self, name):
        """Graph input -> QuantizeLinear with its calibrated parameters: (q, scale name, zp name)."""
        s, z = minmax(self.cal[name])
        s_n, z_n = self.sc(f"{name}_s", s), self.zp(f"{name}_z", z)
        return self.op("QuantizeLinear", [name, s_n, z_n]), s_n, z_n

    def qparams(self, tag, values):
        s, z = minmax(values)
        return self.sc(f"{tag}_s", s), self.zp(f"{tag}_z", z)

    def fq(self, name):
        """The calibration data of input NAME as its QuantizeLinear -> DequantizeLinear sees it."""
        s, z = minmax(self.cal[name])  # zero point in the int8 convention: the same grid for uint8
        return ((np.clip(np.round(self.cal[name] / s) + z, -128, 127) - z) * s).astype(np.float32)


CASES = []


def case(base, inputs=None, opsets=(13,), acts=("s8", "u8"), kind="qdq", suffix_first=False):
    """Registers fn(b, opset) -> final tensor for each activation type and opset. inputs: {name:
    (shape, mean, sd)}, default one [1, 4, 6, 6] input ~ N(0, 1.5). Names BASE_ACT, and _oOPSET for
    the opsets after the first (for all of them when suffix_first)."""
    inputs = inputs or {"input": ([1, 4, 6, 6], 0.0, 1.5)}

    def deco(fn):
        for i, opset in enumerate(opsets):
            for act in acts:
                name = f"{base}_{act}" + (f"_o{opset}" if i > 0 or suffix_first else "")
                CASES.append(dict(name=name, fn=fn, opset=opset, inputs=inputs, kind=kind,
                                  act={"s8": np.int8, "u8": np.uint8}[act]))
        return fn
    return deco


def I(*shape, mean=0.0, sd=1.5, name="input"):  # noqa: E743
    return {name: (list(shape), mean, sd)}


# --- QDQ: linear layers ---------------------------------------------------------------------------
@case("conv3x3", opsets=(13, 21))
def _conv3x3(b, opset):
    x = b.x()
    w, ws = b.w("c", (6, 4, 3, 3))
    y = b.op("Conv", [x, w, b.bias("c", "input_in", ws)], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    return b.q(y, "y")


@case("conv_dw_s2")
def _conv_dw(b, opset):
    x = b.x()
    w, ws = b.w("c", (4, 1, 3, 3))
    y = b.op("Conv", [x, w, b.bias("c", "input_in", ws)], group=4, strides=[2, 2], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    return b.q(y, "y")


@case("conv1d", inputs=I(1, 4, 12))
def _conv1d(b, opset):
    x = b.x()
    w, ws = b.w("c", (6, 4, 3))
    return b.q(b.op("Conv", [x, w, b.bias("c", "input_in", ws)], pads=[1, 1], kernel_shape=[3]), "y")


@case("convtranspose_s2")
def _convtranspose(b, opset):
    x = b.x()
    w, ws = b.w("c", (4, 5, 3, 3), axis=1)
    y = b.op("ConvTranspose", [x, w, b.bias("c", "input_in", ws)], strides=[2, 2], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    return b.q(y, "y")


@case("gemm", inputs=I(2, 16))
def _gemm(b, opset):
    x = b.x()
    w, ws = b.w("g", (8, 16), axis=0)
    return b.q(b.op("Gemm", [x, w, b.bias("g", "input_in", ws)], transB=1), "y")


@case("matmul_const", inputs=I(2, 16))
def _matmul_const(b, opset):
    x = b.x()
    w, _ = b.w("m", (16, 8), axis=1)
    return b.q(b.op("MatMul", [x, w]), "y")


@case("matmul_act", inputs={"a": ([1, 4, 6], 0.0, 1.5), "b": ([1, 6, 5], 0.3, 1.0)})
def _matmul_act(b, opset):
    return b.q(b.op("MatMul", [b.x("a"), b.x("b")]), "y")


# --- QDQ: elementwise ------------------------------------------------------------------------------
@case("add_bcast", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 4, 1, 1], 0.5, 0.8)})
def _add(b, opset):
    return b.q(b.op("Add", [b.x("a"), b.x("b")]), "y")


@case("sub", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 4, 6, 6], -0.5, 0.7)})
def _sub(b, opset):
    return b.q(b.op("Sub", [b.x("a"), b.x("b")]), "y")


@case("mul_bcast", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 1, 6, 6], 0.2, 1.0)})
def _mul(b, opset):
    return b.q(b.op("Mul", [b.x("a"), b.x("b")]), "y")


@case("add_const")
def _add_const(b, opset):
    x = b.x()
    c, _ = b.w("k", (1, 4, 1, 1), axis=1)
    return b.q(b.op("Add", [x, c]), "y")


@case("mul_const")
def _mul_const(b, opset):
    x = b.x()
    c, _ = b.w("k", (1, 4, 1, 1), axis=1)
    return b.q(b.op("Mul", [x, c]), "y")


@case("batchnorm", opsets=(13, 21))
def _batchnorm(b, opset):
    x = b.x()
    r = b.rng
    ins = [b.c("bn_scale", r.uniform(0.5, 1.5, 4).astype(np.float32)), b.c("bn_bias", r.normal(0, 0.3, 4).astype(np.float32)),
           b.c("bn_mean", r.normal(0, 0.3, 4).astype(np.float32)), b.c("bn_var", r.uniform(0.5, 2.0, 4).astype(np.float32))]
    return b.q(b.op("BatchNormalization", [x, *ins], epsilon=1e-5), "y")


def unary(base, op_type, inputs=None, opsets=(13,), fixed=None, suffix_first=False, **attrs):
    @case(base, inputs=inputs, opsets=opsets, suffix_first=suffix_first)
    def _unary(b, opset):
        y = b.op(op_type, [b.x()], **attrs)
        return b.q(y, "y", *fixed) if fixed else b.q(y, "y")
    return _unary


unary("relu", "Relu")
unary("leakyrelu", "LeakyRelu", alpha=0.1)
unary("hardswish", "HardSwish", inputs=I(1, 4, 6, 6, sd=2.5), opsets=(14,))  # HardSwish is opset 14
unary("hardsigmoid", "HardSigmoid", inputs=I(1, 4, 6, 6, sd=2.5))
unary("sigmoid", "Sigmoid", inputs=I(1, 4, 6, 6, sd=2.5), fixed=(1 / 256, -128))
unary("tanh", "Tanh", fixed=(1 / 128, 0))
unary("gelu", "Gelu", opsets=(20,), suffix_first=True)


@case("clip06", inputs=I(1, 4, 6, 6, mean=1.5, sd=3.0))
def _clip(b, opset):
    return b.q(b.op("Clip", [b.x(), b.c("lo", np.array(0.0, np.float32)), b.c("hi", np.array(6.0, np.float32))]), "y")


@case("prelu_channel")
def _prelu_channel(b, opset):
    x = b.x()
    slope, _ = b.w("slope", (4, 1, 1), axis=0)
    return b.q(b.op("PRelu", [x, slope]), "y")


@case("prelu_scalar")
def _prelu_scalar(b, opset):
    return b.q(b.op("PRelu", [b.x(), b.qconst("slope", np.array([0.25], np.float32))]), "y")


# --- QDQ: pooling and reductions --------------------------------------------------------------------
@case("maxpool")
def _maxpool(b, opset):
    return b.q(b.op("MaxPool", [b.x()], kernel_shape=[2, 2], strides=[2, 2]), "y", like="input_in")


@case("avgpool")
def _avgpool(b, opset):
    return b.q(b.op("AveragePool", [b.x()], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0), "y")


@case("globalavgpool", inputs=I(1, 4, 6, 6, mean=0.4))
def _gap(b, opset):
    return b.q(b.op("GlobalAveragePool", [b.x()]), "y")


@case("globalmaxpool")
def _gmp(b, opset):
    return b.q(b.op("GlobalMaxPool", [b.x()]), "y", like="input_in")


@case("reducemean", opsets=(13, 21), inputs=I(1, 4, 6, 6, mean=0.4))
def _reducemean(b, opset):
    x = b.x()
    if opset >= 18:
        y = b.op("ReduceMean", [x, b.c("axes", np.array([2, 3], np.int64))], keepdims=1)
    else:
        y = b.op("ReduceMean", [x], axes=[2, 3], keepdims=1)
    return b.q(y, "y")


@case("reducemax")
def _reducemax(b, opset):
    return b.q(b.op("ReduceMax", [b.x()], axes=[3], keepdims=1), "y", like="input_in")


@case("softmax", inputs=I(1, 10, sd=2.0))
def _softmax(b, opset):
    return b.q(b.op("Softmax", [b.x()], axis=-1), "y", 1 / 256, -128)


@case("logsoftmax", inputs=I(1, 10, sd=2.0))
def _logsoftmax(b, opset):
    return b.q(b.op("LogSoftmax", [b.x()], axis=-1), "y")


# --- QDQ: data moves ---------------------------------------------------------------------------------
@case("concat", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 3, 6, 6], 0.5, 0.5)})
def _concat(b, opset):
    return b.q(b.op("Concat", [b.x("a"), b.x("b")], axis=1), "y")


@case("split_concat")
def _split_concat(b, opset):
    s0, s1 = b.op("Split", [b.x(), b.c("split", np.array([2, 2], np.int64))], n_out=2, axis=1)
    s0, s1 = b.q(s0, "s0", like="input_in"), b.q(s1, "s1", like="input_in")
    return b.q(b.op("Concat", [s1, s0], axis=1), "y")


@case("slice")
def _slice(b, opset):
    ins = [b.c(n, np.array(v, np.int64)) for n, v in (("starts", [1, 1]), ("ends", [5, 4]), ("axes", [2, 3]))]
    return b.q(b.op("Slice", [b.x(), *ins]), "y", like="input_in")


@case("gather")
def _gather(b, opset):
    return b.q(b.op("Gather", [b.x(), b.c("idx", np.array([3, 0, 2], np.int64))], axis=1), "y", like="input_in")


@case("pad")
def _pad(b, opset):
    pads = b.c("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))
    return b.q(b.op("Pad", [b.x(), pads, b.c("pad_value", np.array(0.0, np.float32))], mode="constant"), "y", like="input_in")


@case("transpose")
def _transpose(b, opset):
    return b.q(b.op("Transpose", [b.x()], perm=[0, 2, 3, 1]), "y", like="input_in")


@case("reshape_flatten")
def _reshape_flatten(b, opset):
    r = b.q(b.op("Reshape", [b.x(), b.c("shape", np.array([1, 4, 36], np.int64))]), "r", like="input_in")
    return b.q(b.op("Flatten", [r], axis=1), "y", like="input_in")


@case("squeeze_unsqueeze", inputs=I(1, 4, 1, 6))
def _squeeze(b, opset):
    s = b.q(b.op("Squeeze", [b.x(), b.c("sq_axes", np.array([2], np.int64))]), "s", like="input_in")
    return b.q(b.op("Unsqueeze", [s, b.c("unsq_axes", np.array([1], np.int64))]), "y", like="input_in")


@case("resize_nearest", opsets=(13, 21))
def _resize_nearest(b, opset):
    y = b.op("Resize", [b.x(), "", b.c("scales", np.array([1, 1, 2, 2], np.float32))], mode="nearest")
    return b.q(y, "y", like="input_in")


@case("resize_linear")
def _resize_linear(b, opset):
    y = b.op("Resize", [b.x(), "", b.c("scales", np.array([1, 1, 2, 2], np.float32))], mode="linear",
             coordinate_transformation_mode="half_pixel")
    return b.q(y, "y", like="input_in")


@case("depthtospace", inputs=I(1, 8, 3, 3))
def _d2s(b, opset):
    return b.q(b.op("DepthToSpace", [b.x()], blocksize=2), "y", like="input_in")


@case("spacetodepth")
def _s2d(b, opset):
    return b.q(b.op("SpaceToDepth", [b.x()], blocksize=2), "y", like="input_in")


@case("nhwc_block", inputs=I(1, 6, 6, 4))
def _nhwc_block(b, opset):
    x = b.q(b.op("Transpose", [b.x()], perm=[0, 3, 1, 2]), "x_nchw", like="input_in")
    w, ws = b.w("c", (6, 4, 3, 3))
    r = b.op("Relu", [b.op("Conv", [x, w, b.bias("c", "x_nchw", ws)], pads=[1, 1, 1, 1], kernel_shape=[3, 3])])
    r = b.q(r, "r")
    return b.q(b.op("Transpose", [r], perm=[0, 2, 3, 1]), "y", like="r")


# --- QOperator form (com.microsoft) -------------------------------------------------------------------
def deq(b, y, s, z):
    return b.op("DequantizeLinear", [y, s, z])


@case("qgemm", inputs=I(2, 16), kind="qop")
def _qgemm(b, opset):
    x, xs, xz = b.quant("input")
    wq = b.rng.integers(-127, 128, size=(8, 16)).astype(np.int8)
    ws = np.float32(0.006)
    bias = b.rng.normal(0, 0.3, size=8).astype(np.float32)
    x_s = minmax(b.cal["input"])[0]
    bq = np.round(bias / (x_s * ws)).astype(np.int32)
    ref = b.fq("input") @ (wq.astype(np.float32) * ws).T + bq.astype(np.float32) * x_s * ws
    ys, yz = b.qparams("y", ref)
    y = b.op("QGemm", [x, xs, xz, b.c("w", wq), b.sc("w_s", ws), b.c("w_z", np.array(0, np.int8)), b.c("bias", bq), ys, yz],
             domain=MS, transB=1)
    return deq(b, y, ys, yz)


@case("qlinearconcat", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 3, 6, 6], 0.5, 0.5)}, kind="qop")
def _qconcat(b, opset):
    (a, a_s, a_z), (c, c_s, c_z) = b.quant("a"), b.quant("b")
    ys, yz = b.qparams("y", np.concatenate([b.fq("a").ravel(), b.fq("b").ravel()]))
    return deq(b, b.op("QLinearConcat", [ys, yz, a, a_s, a_z, c, c_s, c_z], domain=MS, axis=1), ys, yz)


@case("qlinearsigmoid", inputs=I(1, 4, 6, 6, sd=2.5), kind="qop")
def _qsigmoid(b, opset):
    x, xs, xz = b.quant("input")
    ys, yz = b.sc("y_s", 1 / 256), b.zp("y_z", -128)
    return deq(b, b.op("QLinearSigmoid", [x, xs, xz, ys, yz], domain=MS), ys, yz)


@case("qlinearleakyrelu", kind="qop")
def _qleaky(b, opset):
    x, xs, xz = b.quant("input")
    v = b.fq("input")
    ys, yz = b.qparams("y", np.where(v < 0, 0.1 * v, v))
    return deq(b, b.op("QLinearLeakyRelu", [x, xs, xz, ys, yz], domain=MS, alpha=0.1), ys, yz)


@case("qlinearglobalavgpool", inputs=I(1, 4, 6, 6, mean=0.4), kind="qop")
def _qgap(b, opset):
    x, xs, xz = b.quant("input")
    ys, yz = b.qparams("y", b.fq("input").mean(axis=(-2, -1)))
    return deq(b, b.op("QLinearGlobalAveragePool", [x, xs, xz, ys, yz], domain=MS, channels_last=0), ys, yz)


@case("qlinearavgpool", kind="qop")
def _qavgpool(b, opset):
    x, xs, xz = b.quant("input")
    v = np.pad(b.fq("input"), [(0, 0)] * 3 + [(1, 1), (1, 1)], constant_values=np.nan)
    ref = np.nanmean(np.lib.stride_tricks.sliding_window_view(v, (3, 3), axis=(-2, -1)), axis=(-2, -1))
    ys, yz = b.qparams("y", ref)
    y = b.op("QLinearAveragePool", [x, xs, xz, ys, yz], domain=MS, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
             count_include_pad=0)
    return deq(b, y, ys, yz)


@case("qlinearsoftmax", inputs=I(1, 10, sd=2.0), kind="qop")
def _qsoftmax(b, opset):
    x, xs, xz = b.quant("input")
    ys, yz = b.sc("y_s", 1 / 256), b.zp("y_z", -128)
    return deq(b, b.op("QLinearSoftmax", [x, xs, xz, ys, yz], domain=MS, axis=-1, opset=13), ys, yz)


@case("qlinearadd", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 4, 1, 1], 0.5, 0.8)}, kind="qop")
def _qadd(b, opset):
    (a, a_s, a_z), (c, c_s, c_z) = b.quant("a"), b.quant("b")
    ys, yz = b.qparams("y", b.fq("a") + b.fq("b"))
    return deq(b, b.op("QLinearAdd", [a, a_s, a_z, c, c_s, c_z, ys, yz], domain=MS), ys, yz)


@case("qlinearmul", inputs={"a": ([1, 4, 6, 6], 0.0, 1.5), "b": ([1, 1, 6, 6], 0.2, 1.0)}, kind="qop")
def _qmul(b, opset):
    (a, a_s, a_z), (c, c_s, c_z) = b.quant("a"), b.quant("b")
    ys, yz = b.qparams("y", b.fq("a") * b.fq("b"))
    return deq(b, b.op("QLinearMul", [a, a_s, a_z, c, c_s, c_z, ys, yz], domain=MS), ys, yz)


# --- integer operators (uint8 activations, int8 weights), float results ----------------------------------
@case("convinteger", acts=("u8",), kind="integer")
def _convinteger(b, opset):
    x, xs, xz = b.quant("input")
    wq = b.rng.integers(-127, 128, size=(6, 4, 3, 3)).astype(np.int8)
    ws = b.rng.uniform(0.002, 0.01, size=6).astype(np.float32)
    y = b.op("ConvInteger", [x, b.c("w", wq), xz, b.c("w_z", np.array(0, np.int8))], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    scale = (ws * minmax(b.cal["input"])[0]).astype(np.float32).reshape(1, 6, 1, 1)
    return b.op("Mul", [b.op("Cast", [y], to=TensorProto.FLOAT), b.c("scale", scale)])


@case("matmulinteger", inputs=I(2, 16), acts=("u8",), kind="integer")
def _matmulinteger(b, opset):
    x, xs, xz = b.quant("input")
    wq = b.rng.integers(-127, 128, size=(16, 8)).astype(np.int8)
    ws = b.rng.uniform(0.002, 0.01, size=8).astype(np.float32)
    y = b.op("MatMulInteger", [x, b.c("w", wq), xz, b.c("w_z", np.zeros(8, np.int8))])
    scale = (ws * minmax(b.cal["input"])[0]).astype(np.float32)
    return b.op("Mul", [b.op("Cast", [y], to=TensorProto.FLOAT), b.c("scale", scale)])


@case("dynamic_matmulinteger", inputs=I(2, 16), acts=("u8",), kind="integer")
def _dynamic(b, opset):
    x, xs, xz = b.op("DynamicQuantizeLinear", ["input"], n_out=3)
    wq = b.rng.integers(-127, 128, size=(16, 8)).astype(np.int8)
    y = b.op("MatMulInteger", [x, b.c("w", wq), xz, b.c("w_z", np.array(0, np.int8))])
    scale = b.op("Mul", [xs, b.c("w_s", np.array(0.006, np.float32))])
    return b.op("Mul", [b.op("Cast", [y], to=TensorProto.FLOAT), scale])


# --- driver ------------------------------------------------------------------------------------------------
def value_info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def build(c, rng_seed, cal, params):
    b = Builder(c["act"], np.random.default_rng(rng_seed), c["inputs"], cal, params)
    y = c["fn"](b, c["opset"])
    return b, y


def opsets(c, b):
    ops = [helper.make_opsetid("", c["opset"])]
    if any(n.domain == MS for n in b.nodes):
        ops.append(helper.make_opsetid(MS, 1))
    return ops


def check(model):
    """ONNX's checker, full. The checker installed (onnx 1.12) knows IR versions up to 8 and opsets up
    to 17: newer models are checked as a copy stamped with its IR version; an operator only a newer
    opset defines (Gelu-20, ReduceMean-18's axes input) cannot be checked by it: noted."""
    m = copy.deepcopy(model)
    m.ir_version = min(m.ir_version, onnx.IR_VERSION)
    try:
        onnx.checker.check_model(m, full_check=True)
    except Exception as e:  # noqa: BLE001
        opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        if opset <= onnx.defs.onnx_opset_version():
            raise
        return f"onnx {onnx.__version__}'s checker (opsets <= {onnx.defs.onnx_opset_version()}) cannot check it: " \
               + str(e).strip().splitlines()[0]
    return None


def save(out_dir, name, graph, sets, opset, ops):
    """save_with_references, for several inputs, an opset's IR version and the com.microsoft domain
    too: NAME/model.onnx, NAME/data/test_data_set_K/input_I.pb and output_0.pb (ONNX Runtime's)."""
    ir = ir_for(opset)
    if len(graph.input) == 1 and len(ops) == 1 and ir == 8:
        return save_with_references(out_dir, name, graph, [s[0] for s in sets], opset=opset)
    model = helper.make_model(graph, opset_imports=ops, producer_name="tinyc tests/qdq sweep")
    model.ir_version = ir
    msg = check(model)
    if msg:
        note(f"{name}: {msg}")
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    onnx.save(model, os.path.join(d, "model.onnx"))
    in_names, out_name = [i.name for i in graph.input], graph.output[0].name
    with tempfile.TemporaryDirectory() as work:
        outs = ort_run([(os.path.join(d, "model.onnx"), list(zip(in_names, a)), os.path.join(work, f"s{k}"))
                        for k, a in enumerate(sets)], work, "sweep")
    for k, (a, o) in enumerate(zip(sets, outs)):
        sd = os.path.join(d, "data", f"test_data_set_{k}")
        os.makedirs(sd)
        for i, (n, t) in enumerate(zip(in_names, a)):
            onnx.save_tensor(numpy_helper.from_array(t, n), os.path.join(sd, f"input_{i}.pb"))
        onnx.save_tensor(numpy_helper.from_array(o[0], out_name), os.path.join(sd, "output_0.pb"))


def make_case(out_dir, c):
    name, inputs = c["name"], c["inputs"]
    seed = [SEED, zlib.crc32(name.encode())]
    data_rng = np.random.default_rng(seed + [1])
    draws = {n: [data_rng.normal(m, sd, size=shape).astype(np.float32) for _ in range(N_CALIB + N_SETS)]
             for n, (shape, m, sd) in inputs.items()}
    cal = {n: np.stack(v[:N_CALIB]) for n, v in draws.items()}
    sets = [[draws[n][N_CALIB + k] for n in inputs] for k in range(N_SETS)]
    in_vi = [value_info(n, shape) for n, (shape, _, _) in inputs.items()]

    # pass 1: the float graph (QDQ cases) or the model itself (others) on the calibration data,
    # for the activations' ranges and the output's shape
    b, y = build(c, seed, cal, None if c["kind"] == "qdq" else {})
    watch = [t for t in dict.fromkeys([*b.observed.values(), y]) if t not in inputs]
    graph = helper.make_graph(b.nodes, name, in_vi, [value_info(t, None) for t in watch], b.inits)
    model = helper.make_model(graph, opset_imports=opsets(c, b))
    model.ir_version = ir_for(c["opset"])
    with tempfile.TemporaryDirectory() as work:
        p = os.path.join(work, "calib.onnx")
        onnx.save(model, p)
        runs = [(p, [(n, cal[n][k]) for n in inputs], os.path.join(work, f"c{k}")) for k in range(N_CALIB)]
        try:
            res = ort_run(runs, work, "calib")
        except RuntimeError as e:
            raise RuntimeError(f"calibration pass: {e}") from None
    values = {t: np.stack([r[i] for r in res]) for i, t in enumerate(watch)}
    values.update({n: cal[n] for n in inputs})
    params = {tag: minmax(values[t]) for tag, t in b.observed.items()}
    out_shape = list(values[y].shape[1:])

    # pass 2: the model
    b, y = build(c, seed, cal, params)
    assert b.nodes[-1].output[0] == y
    b.nodes[-1].output[0] = "y"
    graph = helper.make_graph(b.nodes, name, in_vi, [value_info("y", out_shape)], b.inits)
    save(os.path.join(out_dir, c["kind"]), name, graph, sets, c["opset"], opsets(c, b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="", help="only the cases whose name contains this")
    ap.add_argument("--max-opset", type=int, default=99, help="only the cases of this opset or older")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not args.only:  # no case of an earlier run is left over
        for kind in ("qdq", "qop", "integer"):
            shutil.rmtree(os.path.join(args.out, kind), ignore_errors=True)
    written, dropped = [], []
    for c in CASES:
        if args.only not in c["name"] or c["opset"] > args.max_opset:
            continue
        try:
            make_case(args.out, c)
            written.append(c["name"])
            print(f"wrote {c['name']}", flush=True)
        except Exception as e:  # noqa: BLE001 (a case ONNX Runtime cannot run is left out)
            shutil.rmtree(os.path.join(args.out, c["name"]), ignore_errors=True)
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            note(f"{c['name']} left out: {type(e).__name__}: {msg}")
            dropped.append(c["name"])
    print(f"\n{len(written)} cases written to {args.out}:")
    for n in written:
        print("  " + n)
    if dropped:
        print(f"{len(dropped)} left out: {' '.join(dropped)}")
        return 1
    if NOTES:
        print("notes:")
        for n in NOTES:
            print("  " + n)


if __name__ == "__main__":
    sys.exit(main())
