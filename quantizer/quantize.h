// Post-training int8 quantization: calibration, then a pass that rewrites the float IR into
// tinyc's int8 operators (TFLite's int8 scheme: activations asymmetric per tensor, weights
// symmetric per output channel in [-127, 127], int32 bias with scale input_scale * weight_scale,
// fixed-point requantization by default). Operators without an int8 kernel stay in float between a
// DequantizeLinear and a QuantizeLinear.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace tinyc {

// Observed [min, max] of every float tensor over the calibration samples.
using Ranges = std::map<std::string, std::pair<float, float>>;

enum class CalibrationMethod { MinMax, Percentile };

// Runs the graph on every sample (one tensor per graph input) and records the ranges: the
// extreme values (MinMax) or the 0.01 % and 99.99 % percentiles, which ignore rare outliers.
// `progress(done, total)` is called after each sample when given.
Ranges calibrate(Graph& g, const std::vector<std::vector<Tensor>>& samples,
                 CalibrationMethod method = CalibrationMethod::MinMax,
                 const std::function<void(size_t, size_t)>& progress = nullptr);

// How int8 layers turn their int32 sums into int8: TFLite's fixed-point multiplier and shift
// (TFLite Micro's integers, no float arithmetic on the core) or ONNX's float scale rounded half
// to even (ONNX Runtime's integers).
enum class Requantization { TFLite, Onnx };

struct QuantizeOptions {
  bool per_tensor = false;  // one weight scale per tensor instead of per output channel
  Requantization requantization = Requantization::TFLite;
};

// What the pass did, for the report.
struct QuantizeSummary {
  bool pre_quantized = false;  // lower_qdq: the model has quantized operators of its own
  std::vector<std::string> int8_layers, float_layers;  // node names
  std::vector<std::string> float_reasons;               // why each float layer is float
  struct TensorParams {
    std::string tensor;       // the float tensor of the original graph
    float scale;
    int32_t zero_point;
    std::string int8_tensor;  // its int8 version in the rewritten graph
  };
  std::vector<TensorParams> activations;  // every int8 activation, in the order they were made
};

// How close the int8 graph's outputs are to the float graph's on the same samples.
struct Agreement {
  double top1 = -1;               // fraction of samples whose argmax of output 0 agrees (-1: n/a)
  std::vector<double> sqnr_db;    // per output: 10 log10(sum f^2 / sum (f - q)^2)
  // With a summary: every tensor of the int8 graph that stands for a float tensor of the float
  // graph (its int8 version, dequantized with its scale and zero point, or a float tensor of the
  // same name), keyed by the int8 graph's tensor name: the SQNR in dB over all samples
  // (INFINITY where there is no noise).
  std::map<std::string, double> tensor_sqnr_db;
};
Agreement compare_outputs(Graph& float_graph, Graph& int8_graph, const std::vector<std::vector<Tensor>>& samples,
                          const QuantizeSummary* summary = nullptr);

// Rewrites `g` (after the optimizer) to int8. The graph keeps its float inputs and outputs.
QuantizeSummary quantize_int8(Graph& g, const Ranges& ranges, const QuantizeOptions& opts = {});

// Pre-quantized models (QDQ, QOperator): the graph between their QuantizeLinear and
// DequantizeLinear nodes becomes int8 by quantize_int8's rules, with the parameters those nodes
// give and the model's own integer weights; by default with ONNX's rounding, so that results
// follow ONNX Runtime (DQ -> Softmax -> Q becomes com.microsoft QLinearSoftmax). The summary lists
// what still computes in float. A graph without quantized operators is left as it is.
QuantizeSummary lower_qdq(Graph& g, Requantization requantization = Requantization::Onnx);

}  // namespace tinyc
