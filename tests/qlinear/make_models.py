#!/usr/bin/python3
"""Small ONNX Runtime contrib (com.microsoft) QOperator models with references from the spec.

Each model is one QLinearAdd / QLinearMul / QLinearAveragePool / QLinearGlobalAveragePool /
QLinearLeakyRelu node (and `chain`: float -> QuantizeLinear -> QLinearAdd -> QLinearGlobalAveragePool
-> DequantizeLinear, the shape of an ONNX Runtime QOperator model) on random uint8 / int8 inputs.
The expected outputs come straight from the operators' definition, in exact rational arithmetic:
    real = f(dequantized inputs),  y = saturate(round_half_even(real / y_scale) + y_zero_point)
so no code of tinyc (or of ONNX Runtime) produced them. Seeded: running it again gives the same files.

    /usr/bin/python3 tests/qlinear/make_models.py [--out tests/qlinear]
"""
import argparse
import os
from fractions import Fraction

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
RNG = np.random.default_rng(2024)
ONNX_TYPE = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


def qparams(dtype, scale=None):
    """A random float32 scale and a zero point of dtype (initializers)."""
    info = np.iinfo(dtype)
    s = np.float32(scale if scale is not None else RNG.uniform(0.005, 0.1))
    zp = dtype(RNG.integers(info.min + 20, info.max - 20))
    return s, zp


def rand(dtype, shape):
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max + 1, size=shape).astype(dtype)


def requantize(real, scale, zp, dtype):
    """saturate(round_half_even(real / scale) + zp) for an array of Fractions."""
    info = np.iinfo(dtype)
    q = [min(max(round(r / Fraction(float(scale))) + int(zp), info.min), info.max) for r in real.ravel()]
    return np.array(q, dtype=dtype).reshape(real.shape)


def dequantize(x, scale, zp):
    return np.vectorize(lambda v: Fraction(float(scale)) * (int(v) - int(zp)), otypes=[object])(x)


def avg_pool(real, kernel, strides, pads, ceil_mode, count_include_pad):
    """ONNX AveragePool on an N-D array of Fractions (NCHW)."""
    nsp = len(kernel)
    shape = real.shape[2:]
    out = []
    for i in range(nsp):
        room = shape[i] + pads[i] + pads[i + nsp] - kernel[i]
        o = (-(-room // strides[i]) if ceil_mode else room // strides[i]) + 1
        if ceil_mode and (o - 1) * strides[i] >= shape[i] + pads[i]:
            o -= 1
        out.append(o)
    y = np.empty(real.shape[:2] + tuple(out), dtype=object)
    for idx in np.ndindex(*out):
        lo = [idx[i] * strides[i] - pads[i] for i in range(nsp)]
        hi = [lo[i] + kernel[i] for i in range(nsp)]
        inside = tuple(slice(max(lo[i], 0), min(hi[i], shape[i])) for i in range(nsp))
        if count_include_pad:
            count = np.prod([min(hi[i], shape[i] + pads[i + nsp]) - lo[i] for i in range(nsp)])
        else:
            count = np.prod([s.stop - s.start for s in inside])
        win = real[(slice(None), slice(None)) + inside]
        y[(slice(None), slice(None)) + idx] = win.reshape(win.shape[:2] + (-1,)).sum(axis=2) / int(count)
    return y


def save(out_dir, name, nodes, inputs, output_names, inits, sets):
    """Writes NAME/model.onnx and NAME/data/test_data_set_K/{input,output}_I.pb."""
    outputs = [helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], a.shape)
               for n, a in zip(output_names, sets[0][1])]
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(MS, 1)],
                              producer_name="tinyc tests/qlinear/make_models.py")
    onnx.checker.check_model(model)
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for k, (ins, outs) in enumerate(sets):
        sd = os.path.join(d, "data", f"test_data_set_{k}")
        os.makedirs(sd, exist_ok=True)
        for kind, arrays, infos in (("input", ins, inputs), ("output", outs, outputs)):
            for i, (a, info) in enumerate(zip(arrays, infos)):
                onnx.save_tensor(numpy_helper.from_array(a, info.name), os.path.join(sd, f"{kind}_{i}.pb"))


def scalar_inits(prefix, s, zp, dtype):
    return [numpy_helper.from_array(np.array(s, np.float32), prefix + "_scale"),
            numpy_helper.from_array(np.array(zp, dtype), prefix + "_zero_point")]


def binary(out_dir, name, op, dtype, a_shape, b_shape, scales=None):
    qa, qb, qc = (qparams(dtype, None if scales is None else scales[i]) for i in range(3))
    node = helper.make_node(op, ["A", "A_scale", "A_zero_point", "B", "B_scale", "B_zero_point", "C_scale",
                                 "C_zero_point"], ["C"], domain=MS)
    t = ONNX_TYPE[dtype]
    inits = scalar_inits("A", *qa, dtype) + scalar_inits("B", *qb, dtype) + scalar_inits("C", *qc, dtype)
    sets = []
    for _ in range(2):
        a, b = rand(dtype, a_shape), rand(dtype, b_shape)
        ra, rb = dequantize(a, *qa), dequantize(b, *qb)
        real = ra + rb if op == "QLinearAdd" else ra * rb
        sets.append(([a, b], [requantize(real, *qc, dtype)]))
    save(out_dir, name, [node], [helper.make_tensor_value_info("A", t, a_shape),
                                 helper.make_tensor_value_info("B", t, b_shape)],
         ["C"], inits, sets)


def pool(out_dir, name, dtype, shape, same_scale=False, global_pool=False, channels_last=0, **attrs):
    qx = qparams(dtype)
    qy = (qx[0], qparams(dtype)[1]) if same_scale else qparams(dtype)
    op = "QLinearGlobalAveragePool" if global_pool else "QLinearAveragePool"
    if global_pool:
        attrs["channels_last"] = channels_last
    node = helper.make_node(op, ["X", "X_scale", "X_zero_point", "Y_scale", "Y_zero_point"], ["Y"], domain=MS,
                            **attrs)
    t = ONNX_TYPE[dtype]
    sets = []
    for _ in range(2):
        x = rand(dtype, shape)
        real = dequantize(x, *qx)
        if global_pool:
            axes = tuple(range(1, len(shape) - 1)) if channels_last else tuple(range(2, len(shape)))
            n = int(np.prod([shape[a] for a in axes]))
            real = real.sum(axis=axes, keepdims=True) / n
        else:
            real = avg_pool(real, attrs["kernel_shape"], attrs.get("strides", [1] * (len(shape) - 2)),
                            attrs.get("pads", [0] * 2 * (len(shape) - 2)), attrs.get("ceil_mode", 0),
                            attrs.get("count_include_pad", 0))
        sets.append(([x], [requantize(real, *qy, dtype)]))
    save(out_dir, name, [node], [helper.make_tensor_value_info("X", t, shape)],
         ["Y"], scalar_inits("X", *qx, dtype) + scalar_inits("Y", *qy, dtype),
         sets)


def leaky_relu(out_dir, name, dtype, shape, alpha):
    qx, qy = qparams(dtype), qparams(dtype)
    node = helper.make_node("QLinearLeakyRelu", ["X", "X_scale", "X_zero_point", "Y_scale", "Y_zero_point"], ["Y"],
                            domain=MS, alpha=alpha)
    a = Fraction(float(np.float32(alpha)))
    t = ONNX_TYPE[dtype]
    sets = []
    for _ in range(2):
        x = rand(dtype, shape)
        real = np.vectorize(lambda r: r if r >= 0 else a * r, otypes=[object])(dequantize(x, *qx))
        sets.append(([x], [requantize(real, *qy, dtype)]))
    save(out_dir, name, [node], [helper.make_tensor_value_info("X", t, shape)],
         ["Y"], scalar_inits("X", *qx, dtype) + scalar_inits("Y", *qy, dtype),
         sets)


def chain(out_dir):
    """float x -> QuantizeLinear -> QLinearAdd(x, constant) -> QLinearGlobalAveragePool -> DequantizeLinear."""
    dtype, shape = np.uint8, [1, 4, 6, 6]
    qx, qb, qs, qy = (qparams(dtype) for _ in range(4))
    bias = rand(dtype, [1, 4, 1, 1])
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["xq"]),
        helper.make_node("QLinearAdd", ["xq", "x_scale", "x_zero_point", "bias", "b_scale", "b_zero_point",
                                        "s_scale", "s_zero_point"], ["sq"], domain=MS),
        helper.make_node("QLinearGlobalAveragePool", ["sq", "s_scale", "s_zero_point", "y_scale", "y_zero_point"],
                         ["yq"], domain=MS, channels_last=0),
        helper.make_node("DequantizeLinear", ["yq", "y_scale", "y_zero_point"], ["y"]),
    ]
    inits = (scalar_inits("x", *qx, dtype) + scalar_inits("b", *qb, dtype) + scalar_inits("s", *qs, dtype) +
             scalar_inits("y", *qy, dtype) + [numpy_helper.from_array(bias, "bias")])
    sets = []
    for _ in range(2):
        x = RNG.normal(0, 1, shape).astype(np.float32)
        # QuantizeLinear on float32 values: x / scale rounded half to even (exact here: Fractions).
        xr = np.vectorize(lambda v: Fraction(float(v)), otypes=[object])(x)
        xq = requantize(xr, *qx, dtype)
        s = requantize(dequantize(xq, *qx) + dequantize(bias, *qb), *qs, dtype)
        yq = requantize(dequantize(s, *qs).sum(axis=(2, 3), keepdims=True) / 36, *qy, dtype)
        y = (yq.astype(np.int32) - int(qy[1])).astype(np.float32) * qy[0]  # DequantizeLinear, in float32
        sets.append(([x], [y]))
    save(out_dir, "chain", nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
         ["y"], inits, sets)


def softmax(out_dir, name, dtype, shape):
    """QLinearSoftmax along the last axis, output scale 1/256 (as ONNX Runtime's quantizer gives
    it); the reference's exp in float64, far finer than an output step."""
    qx = qparams(dtype)
    qy = (np.float32(1 / 256), dtype(-128 if dtype == np.int8 else 0))
    node = helper.make_node("QLinearSoftmax", ["X", "X_scale", "X_zero_point", "Y_scale", "Y_zero_point"], ["Y"],
                            domain=MS, axis=-1, opset=13)
    sets = []
    for _ in range(2):
        x = rand(dtype, shape)
        d = (x.astype(np.float64) - x.max(axis=-1, keepdims=True)) * float(qx[0])
        e = np.exp(d)
        p = e / e.sum(axis=-1, keepdims=True)
        sets.append(([x], [requantize(np.vectorize(Fraction, otypes=[object])(p), *qy, dtype)]))
    save(out_dir, name, [node], [helper.make_tensor_value_info("X", ONNX_TYPE[dtype], shape)],
         ["Y"], scalar_inits("X", *qx, dtype) + scalar_inits("Y", *qy, dtype), sets)


def unsupported(out_dir):
    """A com.microsoft operator tinyc does not know: compiling it must fail with one clear line."""
    node = helper.make_node("QLinearReduceMean", ["X", "X_scale", "X_zero_point", "Y_scale", "Y_zero_point"], ["Y"],
                            domain=MS, axes=[1], keepdims=1)
    qx, qy = qparams(np.uint8), qparams(np.uint8)
    graph = helper.make_graph([node], "unsupported", [helper.make_tensor_value_info("X", TensorProto.UINT8, [1, 8])],
                              [helper.make_tensor_value_info("Y", TensorProto.UINT8, [1, 8])],
                              scalar_inits("X", *qx, np.uint8) + scalar_inits("Y", *qy, np.uint8))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(MS, 1)])
    onnx.save(model, os.path.join(out_dir, "unsupported.onnx"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    out = ap.parse_args().out
    binary(out, "add_u8", "QLinearAdd", np.uint8, [1, 3, 4, 5], [1, 3, 1, 5])
    binary(out, "add_s8", "QLinearAdd", np.int8, [2, 3, 4], [4])
    # c_scale = 2 * a_scale = 2 * b_scale: every odd sum of offsets is an exact tie (half to even).
    binary(out, "add_s8_ties", "QLinearAdd", np.int8, [4, 16], [4, 16], scales=[0.02, 0.02, 0.04])
    binary(out, "mul_u8", "QLinearMul", np.uint8, [1, 4, 6, 6], [1, 4, 1, 1])
    binary(out, "mul_s8", "QLinearMul", np.int8, [3, 5], [3, 5])
    pool(out, "avgpool_u8", np.uint8, [1, 3, 9, 9], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
         count_include_pad=1)
    pool(out, "avgpool_s8_ceil", np.int8, [1, 2, 7, 8], kernel_shape=[2, 3], strides=[2, 2], pads=[0, 1, 0, 1],
         ceil_mode=1)
    # Same scale in and out (as ONNX Runtime's quantizer makes it): sum / count ties are exact.
    pool(out, "avgpool_s8_same_scale", np.int8, [1, 3, 8, 8], same_scale=True, kernel_shape=[2, 2],
         strides=[2, 2])
    pool(out, "avgpool_u8_1d", np.uint8, [2, 3, 10], kernel_shape=[3], pads=[1, 1])
    pool(out, "gap_u8", np.uint8, [1, 8, 5, 5], global_pool=True)
    pool(out, "gap_s8_nhwc", np.int8, [2, 4, 3, 6], global_pool=True, channels_last=1)
    leaky_relu(out, "leaky_relu_u8", np.uint8, [1, 3, 8, 8], 0.1)
    leaky_relu(out, "leaky_relu_s8", np.int8, [2, 50], 0.25)
    chain(out)
    softmax(out, "softmax_s8", np.int8, [3, 10])
    softmax(out, "softmax_u8", np.uint8, [2, 2, 7])
    unsupported(out)


if __name__ == "__main__":
    main()
