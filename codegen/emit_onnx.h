// The graph as tinyc runs it (after the optimizer and the quantizer), written back as a standard
// ONNX model (`--emit-onnx`): tinyc's int8 layers in QDQ form (DequantizeLinear on their int8
// inputs and tinyc's own integer weights and biases, the float operator, the clamp of a fused
// activation, QuantizeLinear to the output's int8 parameters), everything else as it runs. Same
// inputs and outputs as NAME_run. ONNX Runtime then evaluates tinyc's quantization on any data.
#pragma once

#include <string>

#include "ir/ir.h"

namespace tinyc {

// The serialized ModelProto (opset 13 or the graph's own if newer, IR version 8).
std::string emit_onnx(const Graph& g);

}  // namespace tinyc
