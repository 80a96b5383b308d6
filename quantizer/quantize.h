// Post-training int8 quantization: calibration, then a pass that rewrites the float IR into
// tinyc's int8 operators (TFLite's int8 scheme: activations asymmetric per tensor, weights
// symmetric per output channel in [-127, 127], int32 bias with scale input_scale * weight_scale,
// fixed-point requantization). Operators without an int8 kernel stay in float between a
// DequantizeLinear and a QuantizeLinear.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace tinyc {

// Observed [min, max] of every float tensor over the calibration samples.
using Ranges = std::map<std::string, std::pair<float, float>>;

// Runs the graph on every sample (one tensor per graph input) and records the ranges.
Ranges calibrate(Graph& g, const std::vector<std::vector<Tensor>>& samples);

struct QuantizeOptions {
  bool per_tensor = false;  // one weight scale per tensor instead of per output channel
};

// What the pass did, for the report.
struct QuantizeSummary {
  std::vector<std::string> int8_layers, float_layers;  // node names
};

// Rewrites `g` (after the optimizer) to int8. The graph keeps its float inputs and outputs.
QuantizeSummary quantize_int8(Graph& g, const Ranges& ranges, const QuantizeOptions& opts = {});

// TFLite's QuantizeMultiplier: real = multiplier * 2^shift / 2^31, multiplier in [2^30, 2^31).
void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift);

}  // namespace tinyc
