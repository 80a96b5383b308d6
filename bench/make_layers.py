#!/usr/bin/python3
"""The five single layers of issue #6's yardstick (CMSIS-NN's figures), as float ONNX models with
calibration data, seeded: the convolutions take inputs in [0, 1) (so the int8 input zero point is
-128, as in the CMSIS-NN measurement) and a Relu-free output. Then the four convolutions again
as tf2onnx writes every TFLite-born model (issue #16): input NHWC, Transpose to NCHW, Conv, Relu,
Transpose back to NHWC (NAME_nhwc).

  /usr/bin/python3 bench/make_layers.py bench/layers
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LAYERS = {
    # name: (input NCHW, weight shape, attributes, MACs), as issue #6 gives them
    "conv_10x4_s2": ((1, 1, 49, 10), (64, 1, 10, 4), dict(strides=[2, 2], pads=[4, 1, 5, 2]), 320000),
    "depthwise_3x3": ((1, 64, 25, 5), (64, 1, 3, 3), dict(pads=[1, 1, 1, 1], group=64), 72000),
    "pointwise_64": ((1, 64, 25, 5), (64, 64, 1, 1), {}, 512000),
    "fc_64_12": ((1, 64), (12, 64), None, 768),
    "conv_3x3_16": ((1, 16, 32, 32), (16, 16, 3, 3), dict(pads=[1, 1, 1, 1]), 2359296),
}


def make(name, x_shape, w_shape, attrs, rng, nhwc=False):
    w = rng.normal(0, 0.2, w_shape).astype(np.float32)
    b = rng.normal(0, 0.1, w_shape[0]).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
    if attrs is None:
        node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)
        y_shape = (x_shape[0], w_shape[0])
    else:
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=list(w_shape[2:]), **attrs)
        s = attrs.get("strides", [1, 1])
        p = attrs.get("pads", [0, 0, 0, 0])
        y_shape = (1, w_shape[0]) + tuple((x_shape[2 + i] + p[i] + p[i + 2] - w_shape[2 + i]) // s[i] + 1 for i in range(2))
    nodes = [node]
    if nhwc:  # tf2onnx's form: the model's tensors are NHWC, each Conv between two Transposes
        node.input[0], node.output[0] = "x_nchw", "conv"
        nodes = [helper.make_node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]), node,
                 helper.make_node("Relu", ["conv"], ["relu"]), helper.make_node("Transpose", ["relu"], ["y"], perm=[0, 2, 3, 1])]
        x_shape = (x_shape[0],) + tuple(x_shape[2:]) + (x_shape[1],)
        y_shape = (y_shape[0],) + tuple(y_shape[2:]) + (y_shape[1],)
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tinyc bench")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def main():
    dest = sys.argv[1]
    rng = np.random.default_rng(6)
    layers = [(name, spec, False) for name, spec in LAYERS.items()]
    layers += [(name + "_nhwc", spec, True) for name, spec in LAYERS.items() if spec[2] is not None]
    for name, (x_shape, w_shape, attrs, _), nhwc in layers:
        d = os.path.join(dest, name)
        os.makedirs(os.path.join(d, "data", "test_data_set_0"), exist_ok=True)
        onnx.save(make(name, x_shape, w_shape, attrs, rng, nhwc), os.path.join(d, "model.onnx"))
        if nhwc:
            x_shape = (x_shape[0],) + tuple(x_shape[2:]) + (x_shape[1],)
        calib = rng.random((20,) + x_shape[1:], dtype=np.float32).reshape((20,) + x_shape)
        np.save(os.path.join(d, "data", "calib.npy"), calib)
        x = rng.random(x_shape, dtype=np.float32)
        with open(os.path.join(d, "data", "test_data_set_0", "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, "x").SerializeToString())


if __name__ == "__main__":
    main()
