#include "quantizer/quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/evaluate.h"
#include "ops/op.h"
#include "runtime/tinyc/int8.h"

namespace tinyc {

void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift) {
  *multiplier = 0, *shift = 0;
  if (real == 0.0) return;
  int e = 0;
  const double q = std::frexp(real, &e);
  int64_t fixed = std::llround(q * (int64_t(1) << 31));
  if (fixed == (int64_t(1) << 31)) fixed /= 2, ++e;
  if (e < -31) return;  // too small: the product rounds to 0
  if (e > 30) e = 30, fixed = INT32_MAX;
  *multiplier = static_cast<int32_t>(fixed);
  *shift = e;
}

Ranges calibrate(Graph& g, const std::vector<std::vector<Tensor>>& samples, CalibrationMethod method,
                 const std::function<void(size_t, size_t)>& progress) {
  Ranges r;
  std::map<std::string, std::vector<float>> values;  // Percentile: every value seen
  auto observe = [&](const Tensor& t, const uint8_t* data) {
    if (t.dtype != DType::Float) return;
    const float* v = reinterpret_cast<const float*>(data);
    const int64_t n = num_elements(t.shape);
    auto [it, fresh] = r.try_emplace(t.name, INFINITY, -INFINITY);
    (void)fresh;
    for (int64_t i = 0; i < n; ++i)
      if (std::isfinite(v[i])) it->second.first = std::min(it->second.first, v[i]), it->second.second = std::max(it->second.second, v[i]);
    if (method == CalibrationMethod::Percentile) {
      auto& all = values[t.name];
      for (int64_t i = 0; i < n; ++i)
        if (std::isfinite(v[i])) all.push_back(v[i]);
    }
  };
  for (size_t k = 0; k < samples.size(); ++k) {
    evaluate(g, samples[k], observe);
    if (progress) progress(k + 1, samples.size());
  }
  for (auto& entry : values) {
    std::vector<float>& all = entry.second;  // a plain reference: C++17 lambdas cannot capture bindings
    if (all.empty()) continue;
    auto at = [&](double q) {
      const size_t i = std::min(all.size() - 1, static_cast<size_t>(q * static_cast<double>(all.size() - 1)));
      std::nth_element(all.begin(), all.begin() + static_cast<long>(i), all.end());
      return all[i];
    };
    r[entry.first] = {at(0.0001), at(0.9999)};
  }
  return r;
}

Agreement compare_outputs(Graph& float_graph, Graph& int8_graph, const std::vector<std::vector<Tensor>>& samples,
                          const QuantizeSummary* summary) {
  Agreement a;
  std::vector<double> signal(float_graph.outputs.size(), 0), noise(float_graph.outputs.size(), 0);
  size_t agree = 0;
  bool classifier = true;
  // Per tensor: the int8 graph's tensors that stand for a float tensor, and the sums over samples.
  std::map<std::string, const QuantizeSummary::TensorParams*> dequantized;
  if (summary)
    for (const auto& t : summary->activations) dequantized[t.int8_tensor] = &t;
  std::map<std::string, std::pair<double, double>> sums;  // int8 graph tensor -> (signal, noise)
  std::map<std::string, std::vector<float>> reference;    // float graph tensor -> values of this sample
  const Observer keep = [&](const Tensor& t, const uint8_t* data) {
    if (t.dtype != DType::Float) return;
    const float* v = reinterpret_cast<const float*>(data);
    reference[t.name].assign(v, v + num_elements(t.shape));
  };
  const Observer measure = [&](const Tensor& t, const uint8_t* data) {
    auto d = dequantized.find(t.name);
    const bool int8 = d != dequantized.end() && t.dtype == DType::Int8;
    if (!int8 && t.dtype != DType::Float) return;
    auto r = reference.find(int8 ? d->second->tensor : t.name);
    const int64_t n = num_elements(t.shape);
    if (r == reference.end() || static_cast<int64_t>(r->second.size()) != n) return;
    auto& [sig, err] = sums[t.name];
    for (int64_t i = 0; i < n; ++i) {
      const double q = int8 ? double(d->second->scale) * (reinterpret_cast<const int8_t*>(data)[i] - d->second->zero_point)
                            : double(reinterpret_cast<const float*>(data)[i]);
      const double f = r->second[i];
      sig += f * f, err += (f - q) * (f - q);
    }
  };
  for (const auto& s : samples) {
    reference.clear();
    const auto f = evaluate(float_graph, s, summary ? keep : nullptr);
    const auto q = evaluate(int8_graph, s, summary ? measure : nullptr);
    for (size_t o = 0; o < f.size(); ++o) {
      if (f[o].dtype != DType::Float || q[o].dtype != DType::Float) continue;
      const int64_t n = num_elements(f[o].shape);
      for (int64_t i = 0; i < n; ++i) {
        const double fv = f[o].as<float>()[i], d = fv - q[o].as<float>()[i];
        signal[o] += fv * fv, noise[o] += d * d;
      }
      if (o == 0 && n > 1) {
        const float* fp = f[0].as<float>();
        const float* qp = q[0].as<float>();
        agree += std::max_element(fp, fp + n) - fp == std::max_element(qp, qp + n) - qp;
      } else if (o == 0) {
        classifier = false;
      }
    }
  }
  auto sqnr = [](double sig, double err) { return err > 0 ? 10.0 * std::log10(sig / err) : INFINITY; };
  for (size_t o = 0; o < signal.size(); ++o) a.sqnr_db.push_back(sqnr(signal[o], noise[o]));
  for (const auto& [name, s] : sums) a.tensor_sqnr_db[name] = sqnr(s.first, s.second);
  if (classifier && !samples.empty()) a.top1 = static_cast<double>(agree) / static_cast<double>(samples.size());
  return a;
}

namespace {

struct QParams {
  float scale;
  int32_t zero_point;
};

// Asymmetric int8 parameters for a real range, which always includes 0 (so 0 is exact).
QParams activation_qparams(std::pair<float, float> range) {
  const double lo = std::min(0.0f, range.first), hi = std::max(0.0f, range.second);
  const double scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
  const double zp = std::round(-128.0 - lo / scale);
  return {static_cast<float>(scale), static_cast<int32_t>(std::clamp(zp, -128.0, 127.0))};
}

class Quantizer {
 public:
  Quantizer(Graph& g, const Ranges& r, const QuantizeOptions& o) : g_(g), ranges_(r), opts_(o) {}

  // A pre-quantized model: DequantizeLinear -> Conv/Gemm/AveragePool/Resize -> QuantizeLinear
  // becomes one int8 node with the model's own scales and ONNX's rounding.
  QuantizeSummary lower_qdq() {
    std::vector<Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    uint8_to_int8(nodes);
    sink_dequantize(nodes);
    auto producer = [&](const std::string& t) -> const Node* {
      for (const Node& m : nodes)
        if (!m.outputs.empty() && m.outputs[0] == t) return &m;
      return nullptr;
    };
    auto consumers = [&](const std::string& t) {
      std::vector<size_t> v;
      for (size_t i = 0; i < nodes.size(); ++i)
        for (const auto& x : nodes[i].inputs)
          if (x == t) v.push_back(i);
      return v;
    };
    auto scalar = [&](const Node& m, QParams* q) {
      if (m.inputs.size() < 3 || !g_.is_const(m.inputs[1]) || !g_.is_const(m.inputs[2])) return false;
      const Tensor &sc = g_.tensor(m.inputs[1]), &zp = g_.tensor(m.inputs[2]);
      if (num_elements(sc.shape) != 1 || num_elements(zp.shape) != 1 || zp.dtype != DType::Int8) return false;
      *q = {sc.as<float>()[0], zp.as<int8_t>()[0]};
      return true;
    };
    std::set<size_t> absorbed;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (absorbed.count(i)) continue;
      const Node& n = nodes[i];
      const Node* dq = n.inputs.empty() ? nullptr : producer(n.inputs[0]);
      const auto users = n.outputs.empty() ? std::vector<size_t>() : consumers(n.outputs[0]);
      QParams qx{}, qy{};
      const bool pattern = dq && dq->op == "DequantizeLinear" && scalar(*dq, &qx) && users.size() == 1 &&
                           nodes[users[0]].op == "QuantizeLinear" && scalar(nodes[users[0]], &qy) &&
                           std::find(g_.outputs.begin(), g_.outputs.end(), n.outputs[0]) == g_.outputs.end();
      bool done = false;
      if (pattern && linear_layer_ok(n)) {
        int32_t lo, hi;
        LinearS8 c;
        done = activation_range(n, qy, &lo, &hi) && linear_s8(n, qx, qy, true, &c);
        if (done) emit_linear_s8(n, c, dq->inputs[0], qx, nodes[users[0]].outputs[0], qy, lo, hi, true);
      } else if (pattern && (n.op == "AveragePool" || n.op == "GlobalAveragePool") && qx.scale == qy.scale &&
                 qx.zero_point == qy.zero_point && n.get_int("ceil_mode", 0) == 0 && !n.has("dilations") &&
                 n.get_string("auto_pad", "NOTSET") == "NOTSET" && n.get_int("count_include_pad", 0) == 0) {
        Node q = n;
        q.domain = "tinyc", q.op = "AvgPoolS8";
        if (n.op == "GlobalAveragePool") set_int(q, "tinyc_global", 1);
        q.inputs = {dq->inputs[0]};
        q.outputs = {nodes[users[0]].outputs[0]};
        g_.nodes.push_back(q);
        done = true;
      } else if (pattern && n.op == "Mul" && n.inputs.size() == 2 && !g_.is_const(n.inputs[1]) && !n.has("tinyc_activation")) {
        // Of two tensors: com.microsoft QLinearMul, int32 products of the offsets requantized in
        // float as ONNX Runtime does.
        const Node* dq_b = producer(n.inputs[1]);
        QParams qb{};
        done = dq_b && dq_b->op == "DequantizeLinear" && scalar(*dq_b, &qb);
        if (done) {
          Node q = n;
          q.domain = "com.microsoft", q.op = "QLinearMul";
          q.attrs.clear();
          const Node& out_q = nodes[users[0]];
          q.inputs = {dq->inputs[0], dq->inputs[1], dq->inputs[2], dq_b->inputs[0], dq_b->inputs[1], dq_b->inputs[2],
                      out_q.inputs[1], out_q.inputs[2]};
          q.outputs = {out_q.outputs[0]};
          g_.nodes.push_back(q);
          set_qparams(dq_b->inputs[0], qb);
        }
      } else if (pattern && n.op == "Concat" && n.inputs.size() <= 16) {
        std::vector<std::string> xs;
        std::vector<QParams> qxs;
        for (const auto& in : n.inputs) {
          const Node* d = producer(in);
          QParams qi{};
          if (!d || d->op != "DequantizeLinear" || !scalar(*d, &qi)) break;
          xs.push_back(d->inputs[0]), qxs.push_back(qi);
        }
        done = xs.size() == n.inputs.size();
        for (size_t k = 0; done && k < xs.size(); ++k) {
          set_qparams(xs[k], qxs[k]);
          if (qxs[k].scale == qy.scale && qxs[k].zero_point == qy.zero_point) continue;
          // Requantized to the output's parameters first, as the float path rounds (a table).
          Node same;
          same.op = "Identity", same.name = fmt::format("{}/requantize_{}", n.name, k);
          same.inputs = {xs[k]}, same.outputs = {xs[k]};
          const std::string moved = fresh(xs[k] + "/requantized");
          g_.tensor(moved).dtype = DType::Int8, g_.tensor(moved).shape = g_.tensor(xs[k]).shape;
          g_.tensor(moved).has_shape = g_.tensor(xs[k]).has_shape;
          emit_lookup_s8(same, xs[k], qxs[k], moved, qy);
          set_qparams(moved, qy);
          xs[k] = moved, qxs[k] = qy;
        }
        if (done) emit_concat_s8(n, xs, qxs, nodes[users[0]].outputs[0], qy);
      } else if (pattern && unary(n)) {
        done = emit_lookup_s8(n, dq->inputs[0], qx, nodes[users[0]].outputs[0], qy);
      } else if (pattern && n.op == "Add" && n.inputs.size() == 2) {
        const Node* dq_b = producer(n.inputs[1]);
        QParams qb{};
        int32_t lo, hi;
        if (!activation_range(n, qy, &lo, &hi)) {
        } else if (g_.is_const(n.inputs[1])) {  // a bias the optimizer folded out of its DequantizeLinear
          done = emit_bias_add_s8(n, dq->inputs[0], qx, n.inputs[1], nodes[users[0]].outputs[0], qy, lo, hi);
        } else if (dq_b && dq_b->op == "DequantizeLinear" && scalar(*dq_b, &qb)) {
          done = emit_add_s8(n, dq->inputs[0], qx, dq_b->inputs[0], qb, nodes[users[0]].outputs[0], qy, lo, hi);
          if (done) set_qparams(dq_b->inputs[0], qb);
        }
      } else if (pattern && n.op == "Softmax" && softmax_s8_ok(n)) {
        // As com.microsoft QLinearSoftmax, whose kernel does the float path's very operations:
        // pre-quantized models keep their references' integers.
        Node q = n;
        q.domain = "com.microsoft", q.op = "QLinearSoftmax";
        q.attrs.clear();
        set_int(q, "opset", 13);
        q.inputs = {dq->inputs[0], dq->inputs[1], dq->inputs[2], nodes[users[0]].inputs[1], nodes[users[0]].inputs[2]};
        q.outputs = {nodes[users[0]].outputs[0]};
        g_.nodes.push_back(q);
        done = true;
      } else if (pattern && n.op == "Resize" && n.get_string("mode", "nearest") == "nearest" &&
                 qx.scale == qy.scale && qx.zero_point == qy.zero_point) {
        Node q = n;  // nearest on the int8 values: exactly what the float Resize and requantization give
        q.inputs[0] = dq->inputs[0];
        q.outputs = {nodes[users[0]].outputs[0]};
        g_.nodes.push_back(q);
        done = true;
      }
      if (done) {
        set_qparams(dq->inputs[0], qx);
        set_qparams(nodes[users[0]].outputs[0], qy);
        absorbed.insert(users[0]);
        summary_.int8_layers.push_back(n.name);
      } else if ((n.op == "QLinearConv" || n.op == "QLinearMatMul") && n.domain.empty() && emit_qlinear_s8(n)) {
        summary_.int8_layers.push_back(n.name);
      } else {
        g_.nodes.push_back(n);
      }
    }
    return summary_;
  }

  // uint8 quantization (ONNX Runtime's QUInt8) is int8 with the values and the zero point moved
  // by 128: the same real numbers. Every uint8 tensor that only Quantize/DequantizeLinear nodes
  // make and read inside the graph (not a graph input or output), and every uint8 constant only
  // DequantizeLinear reads, becomes int8, so the int8 patterns and kernels serve it.
  void uint8_to_int8(std::vector<Node>& nodes) {
    auto boundary = [&](const std::string& t) {
      return std::count(g_.inputs.begin(), g_.inputs.end(), t) || std::count(g_.outputs.begin(), g_.outputs.end(), t);
    };
    auto u8_scalar_zp = [&](const Node& n) {
      return n.domain.empty() && (n.op == "QuantizeLinear" || n.op == "DequantizeLinear") && n.inputs.size() == 3 &&
             g_.is_const(n.inputs[2]) && g_.tensor(n.inputs[2]).dtype == DType::UInt8;
    };
    std::map<std::string, std::string> moved;  // a uint8 constant -> its int8 twin
    auto int8_twin = [&](const std::string& name) {
      auto it = moved.find(name);
      if (it != moved.end()) return it->second;
      const Tensor& u = g_.tensor(name);
      std::vector<int8_t> v(num_elements(u.shape));
      for (size_t i = 0; i < v.size(); ++i) v[i] = int8_t(int32_t(u.as<uint8_t>()[i]) - 128);
      const std::string t = constant(name + "/int8", DType::Int8, u.shape, v);
      moved[name] = t;
      return t;
    };
    // The uint8 tensors that may change: made by a QuantizeLinear (or a constant), read only by
    // DequantizeLinear nodes, not at the graph's boundary.
    std::set<std::string> keep;
    for (const Node& n : nodes) {
      for (size_t i = 0; i < n.inputs.size(); ++i)
        if (!(n.op == "DequantizeLinear" && n.domain.empty() && i == 0 && u8_scalar_zp(n))) keep.insert(n.inputs[i]);
      if (!(n.op == "QuantizeLinear" && u8_scalar_zp(n)))
        for (const auto& o : n.outputs) keep.insert(o);
    }
    auto movable = [&](const std::string& t) { return !keep.count(t) && !boundary(t); };
    for (Node& n : nodes) {
      if (!u8_scalar_zp(n)) continue;
      const std::string& data = n.op == "QuantizeLinear" ? n.outputs[0] : n.inputs[0];
      if (!movable(data)) continue;
      if (n.op == "DequantizeLinear" && g_.is_const(n.inputs[0])) {
        if (g_.tensor(n.inputs[0]).dtype != DType::UInt8) continue;
        n.inputs[0] = int8_twin(n.inputs[0]);
      }
      n.inputs[2] = int8_twin(n.inputs[2]);
      if (n.op == "QuantizeLinear") g_.tensor(n.outputs[0]).dtype = DType::Int8;
    }
  }

  // QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B) or QLinearMatMul (a, ..., b,
  // ..., y_scale, y_zp; b constant [K, M]) on int8 with symmetric int8 weights: ConvS8 or
  // FullyConnectedS8 with the model's integers as they are and its requantization scale computed
  // as the integer reference kernel computes it (x_scale / y_scale, times the weight's scale, in
  // float), so the integers stay those of qlinear_conv / qmatmul. False: the reference kernel runs.
  bool emit_qlinear_s8(const Node& n) {
    const bool conv = n.op == "QLinearConv";
    if (n.inputs.size() < 8) return false;
    auto scalar_const = [&](size_t i, DType t) {
      return i < n.inputs.size() && !n.inputs[i].empty() && g_.is_const(n.inputs[i]) &&
             g_.tensor(n.inputs[i]).dtype == t && num_elements(g_.tensor(n.inputs[i]).shape) == 1;
    };
    if (!scalar_const(1, DType::Float) || !scalar_const(2, DType::Int8) || !scalar_const(6, DType::Float) ||
        !scalar_const(7, DType::Int8) || !g_.is_const(n.inputs[3]) || !g_.is_const(n.inputs[4]) ||
        g_.tensor(n.inputs[0]).dtype != DType::Int8)
      return false;
    const Tensor &w = g_.tensor(n.inputs[3]), &ws = g_.tensor(n.inputs[4]);
    if (w.dtype != DType::Int8 || ws.dtype != DType::Float || w.shape.size() != (conv ? g_.tensor(n.inputs[0]).shape.size() : 2) ||
        (!conv && g_.tensor(n.inputs[0]).shape.size() != 2) || num_elements(w.shape) <= 0 || w.shape[conv ? 0 : 1] <= 0)
      return false;
    if (n.inputs[5].empty() || !g_.is_const(n.inputs[5])) return false;
    for (int64_t z : g_.tensor(n.inputs[5]).ints())
      if (z != 0) return false;  // the fast kernels take symmetric weights
    const int64_t units = conv ? w.shape[0] : w.shape[1];
    const size_t per_unit = static_cast<size_t>(num_elements(w.shape) / units);
    const int64_t nscale = num_elements(ws.shape);
    if (nscale != 1 && nscale != units) return false;
    const bool has_bias = conv && n.inputs.size() > 8 && !n.inputs[8].empty();
    if (has_bias && (!g_.is_const(n.inputs[8]) || g_.tensor(n.inputs[8]).dtype != DType::Int32 ||
                     num_elements(g_.tensor(n.inputs[8]).shape) != units))
      return false;
    const QParams qx{g_.tensor(n.inputs[1]).as<float>()[0], g_.tensor(n.inputs[2]).as<int8_t>()[0]};
    const QParams qy{g_.tensor(n.inputs[6]).as<float>()[0], g_.tensor(n.inputs[7]).as<int8_t>()[0]};
    LinearS8 c;
    c.weights.resize(per_unit * size_t(units));
    for (int64_t m = 0; m < units; ++m)  // [M, rest]; a MatMul's b is [K, M]
      for (size_t j = 0; j < per_unit; ++j)
        c.weights[m * per_unit + j] = conv ? w.as<int8_t>()[m * per_unit + j] : w.as<int8_t>()[j * units + m];
    c.bias.assign(size_t(units), 0), c.mult.resize(units), c.shift.resize(units), c.fscale.resize(units), c.wscale.resize(units);
    const float ratio = qx.scale / qy.scale;
    const int64_t max_dx = std::max(128 + qx.zero_point, 127 - qx.zero_point);
    for (int64_t m = 0; m < units; ++m) {
      const float sw = ws.as<float>()[nscale == 1 ? 0 : m];
      if (!(std::isfinite(sw) && sw > 0 && std::isfinite(ratio) && ratio > 0)) return false;
      c.wscale[m] = sw;
      if (has_bias) c.bias[m] = g_.tensor(n.inputs[8]).as<int32_t>()[m];
      c.fscale[m] = ratio * sw;
      int32_t sh;
      quantize_multiplier(double(c.fscale[m]), &c.mult[m], &sh);
      c.shift[m] = static_cast<int8_t>(sh);
      int64_t largest = std::abs(int64_t(c.bias[m]));
      for (size_t j = 0; j < per_unit; ++j) largest += std::abs(int64_t(c.weights[m * per_unit + j])) * max_dx;
      if (largest >= (int64_t(1) << 30)) return false;
    }
    Node layer = n;  // the float layer emit_linear_s8 reads its form from
    layer.op = conv ? "Conv" : "Gemm";
    layer.inputs = {n.inputs[0], n.inputs[3]};
    if (!conv) layer.attrs.clear();
    emit_linear_s8(layer, c, n.inputs[0], qx, n.outputs[0], qy, -128, 127, true);
    set_qparams(n.inputs[0], qx);
    set_qparams(n.outputs[0], qy);
    return true;
  }

  // Ops that only move or select values (the maximum too: dequantizing keeps the order): on the
  // integers they give what they give on the dequantized floats, so a DequantizeLinear may run
  // after them instead of before. Pad pads with the zero point, which is the float 0.
  static bool moves_values(const Node& n) {
    static const std::set<std::string> ops = {"Reshape",   "Flatten",   "Squeeze",       "Unsqueeze",    "Transpose",
                                              "Identity",  "MaxPool",   "ReduceMax",     "ReduceMin",
                                              "Slice",     "Pad",       "DepthToSpace",  "SpaceToDepth"};
    return n.domain.empty() && ops.count(n.op) && n.outputs.size() == 1 && !n.inputs.empty();
  }

  // A Pad of the dequantized floats as a Pad of the integers: reflect and edge move values; the
  // constant 0 becomes the zero point (a constant of the integers' type), so that it dequantizes
  // to 0. False when the padding value is not 0 or cannot be given (a Pad before opset 11 pads
  // with its attribute's value, which must then be the zero point itself, 0).
  bool pad_with_zero_point(Node& pad, const Node& dq) {
    if (pad.get_string("mode", "constant") != "constant") return true;
    const Tensor& zp = g_.tensor(dq.inputs[2]);
    const int64_t z = zp.ints().at(0);
    if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
      const std::vector<double> v = g_.tensor(pad.inputs[2]).floats();
      if (v.size() != 1 || v[0] != 0) return false;
    }
    if (pad.inputs.size() < 2) return pad.get_float("value", 0.0f) == 0 && z == 0;  // opset < 11: pads attribute
    if (pad.inputs.size() < 3) pad.inputs.resize(3);
    pad.inputs[2] = zp.dtype == DType::Int8 ? constant(pad.name + "/zero_point", DType::Int8, {}, std::vector<int8_t>{int8_t(z)})
                                            : constant(pad.name + "/zero_point", DType::UInt8, {}, std::vector<uint8_t>{uint8_t(z)});
    return true;
  }

  // Pre-quantized graphs carry float islands of data moves between a DequantizeLinear and a
  // QuantizeLinear (DQ -> MaxPool -> Q, DQ -> Transpose -> Reshape -> Q). Each DequantizeLinear with
  // scalar parameters whose one reader moves values is moved after it, so the move runs on the
  // integers; then a QuantizeLinear of a DequantizeLinear with the same parameters is the integer
  // tensor itself, and its readers read that.
  void sink_dequantize(std::vector<Node>& nodes) {
    auto readers = [&](const std::string& t) {
      std::vector<size_t> v;
      for (size_t i = 0; i < nodes.size(); ++i)
        if (std::count(nodes[i].inputs.begin(), nodes[i].inputs.end(), t)) v.push_back(i);
      return v;
    };
    auto is_output = [&](const std::string& t) { return std::count(g_.outputs.begin(), g_.outputs.end(), t) != 0; };
    auto scalar_qdq = [&](const Node& m) {
      return m.domain.empty() && m.inputs.size() == 3 && g_.is_const(m.inputs[1]) && g_.is_const(m.inputs[2]) &&
             num_elements(g_.tensor(m.inputs[1]).shape) == 1 && num_elements(g_.tensor(m.inputs[2]).shape) == 1;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < nodes.size() && !changed; ++i) {
        if (nodes[i].op != "DequantizeLinear" || !scalar_qdq(nodes[i]) || is_output(nodes[i].outputs[0])) continue;
        const auto r = readers(nodes[i].outputs[0]);
        if (r.size() != 1 || !moves_values(nodes[r[0]]) || nodes[r[0]].inputs[0] != nodes[i].outputs[0]) continue;
        Node& m = nodes[r[0]];
        if (!std::all_of(m.inputs.begin() + 1, m.inputs.end(), [&](const std::string& t) { return t.empty() || g_.is_const(t); }))
          continue;
        if (m.op == "Pad" && !pad_with_zero_point(m, nodes[i])) continue;
        // m reads the integers and writes integers of its output's shape, which the DequantizeLinear,
        // now after it, reads.
        Node dq = nodes[i];
        const Tensor& q = g_.tensor(dq.inputs[0]);
        const std::string moved = fresh(m.outputs[0] + "/int8");
        Tensor& t = g_.tensor(moved);
        t.dtype = q.dtype, t.shape = g_.tensor(m.outputs[0]).shape, t.has_shape = g_.tensor(m.outputs[0]).has_shape;
        m.inputs[0] = dq.inputs[0];
        dq.inputs[0] = moved;
        dq.outputs[0] = m.outputs[0];
        m.outputs[0] = moved;
        nodes[i] = m;
        nodes[r[0]] = dq;
        changed = true;
      }
    }
    // QuantizeLinear(DequantizeLinear(t)) with the same parameters: t.
    std::map<std::string, std::string> same;
    std::vector<Node> kept;
    for (Node& n : nodes) {
      for (auto& in : n.inputs)
        if (same.count(in)) in = same.at(in);
      const Node* dq = nullptr;
      for (const Node& m : kept)
        if (n.op == "QuantizeLinear" && m.op == "DequantizeLinear" && m.outputs[0] == n.inputs[0]) dq = &m;
      if (dq && scalar_qdq(*dq) && scalar_qdq(n) && !is_output(n.outputs[0]) &&
          g_.tensor(dq->inputs[0]).dtype == g_.tensor(n.inputs[2]).dtype &&
          g_.tensor(dq->inputs[1]).floats() == g_.tensor(n.inputs[1]).floats() &&
          g_.tensor(dq->inputs[2]).ints() == g_.tensor(n.inputs[2]).ints()) {
        same[n.outputs[0]] = dq->inputs[0];
        continue;
      }
      kept.push_back(std::move(n));
    }
    nodes = std::move(kept);
  }

  // x + bias (a float constant along axis 1 of x, or one value) as a depthwise 1x1 ConvS8 over x
  // viewed as [N, C, rest, 1]: weights 1 (127 at scale 1/127), the bias in int32 at the
  // accumulator's scale, so that only the output is rounded (ONNX's rounding), as ONNX Runtime
  // rounds the float sum of the two dequantized inputs.
  bool emit_bias_add_s8(const Node& n, const std::string& x, QParams qx, const std::string& bias,
                        const std::string& y, QParams qy, int32_t lo, int32_t hi) {
    const Shape& s = g_.tensor(x).shape;
    const Tensor& b = g_.tensor(bias);
    if (s.size() < 2 || b.dtype != DType::Float || b.shape.size() > s.size()) return false;
    const int64_t channels = s[1];
    // The bias varies along axis 1 of x at most.
    if (num_elements(b.shape) != 1 && channel_axis(b.shape, s) != 1) return false;
    std::vector<double> per = b.floats();
    if (per.size() == 1) per.assign(size_t(channels), per[0]);
    return emit_channel_affine_s8(n, x, s, qx, std::vector<double>(size_t(channels), 1.0), per, y, qy, lo, hi, true);
  }

  // y = x * scale[c] + shift[c] along axis 1 of int8 x of shape s (C channels): a depthwise 1x1
  // ConvS8 over x viewed as [N, C, rest, 1], the scales as its weights and the shifts as its bias.
  // (The channels may be another axis: x is then viewed as [before it, C, after it, 1].)
  bool emit_channel_affine_s8(const Node& n, const std::string& x, const Shape s, QParams qx,
                              const std::vector<double>& scale, const std::vector<double>& shift, const std::string& y,
                              QParams qy, int32_t lo, int32_t hi, bool onnx_rounding, size_t axis = 1) {
    const int64_t channels = s.size() <= axis ? 0 : s[axis];
    if (channels <= 0 || num_elements(s) <= 0 || int64_t(scale.size()) != channels || int64_t(shift.size()) != channels)
      return false;
    int64_t outer = 1;
    for (size_t a = 0; a < axis; ++a) outer *= s[a];
    const Shape view{outer, channels, num_elements(s) / (outer * channels), 1};
    Node conv;
    conv.name = n.name, conv.op = "Conv";
    const std::string w = constant(n.name + "/scale", DType::Float, {channels, 1, 1, 1}, std::vector<float>(scale.begin(), scale.end())),
                      b = constant(n.name + "/shift", DType::Float, {channels}, std::vector<float>(shift.begin(), shift.end()));
    const std::string x4 = fresh(n.name + "/view");
    Tensor& v = g_.tensor(x4);
    v.dtype = DType::Int8, v.shape = view, v.has_shape = true;
    conv.inputs = {x4, w, b};
    Attr group, kernel;
    group.kind = Attr::Int, group.i = channels;
    kernel.kind = Attr::Ints, kernel.ints = {1, 1};
    conv.attrs["group"] = group, conv.attrs["kernel_shape"] = kernel;
    LinearS8 c;
    if (!linear_s8(conv, qx, qy, onnx_rounding, &c)) return false;
    add_node("Reshape", n.name + "/view", {x, constant(n.name + "/view_shape", DType::Int64, {4}, view)}, x4);
    set_qparams(x4, qx);
    const std::string y4 = fresh(y + "/view");
    Tensor& t = g_.tensor(y4);
    t.dtype = DType::Int8, t.shape = view, t.has_shape = true;
    emit_linear_s8(conv, c, x4, qx, y4, qy, lo, hi, onnx_rounding);
    set_qparams(y4, qy);
    add_node("Reshape", n.name + "/unview", {y4, constant(n.name + "/out_shape", DType::Int64, {int64_t(s.size())}, s)}, y);
    return true;
  }

  // Calibrated: x + c, x - c, c - x, x * c, x / c with a constant c of one value per channel
  // (along any one axis of x; one value is a table, quantize_lookup) the optimizer could not fold
  // into a layer before it: a per-channel affine in int8.
  bool quantize_constant_affine(Node& n) {
    static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div"};
    if (!ops.count(n.op) || !n.domain.empty() || n.inputs.size() != 2 || n.has("tinyc_activation")) return false;
    const int k = g_.is_const(n.inputs[1]) ? 1 : g_.is_const(n.inputs[0]) ? 0 : -1;
    if (k < 0 || (n.op == "Div" && k == 0) || !has_range(n.inputs[1 - k]) || !has_range(n.outputs[0])) return false;
    const Tensor& c = g_.tensor(n.inputs[k]);
    const Shape& s = g_.tensor(n.inputs[1 - k]).shape;
    if (c.dtype != DType::Float || c.shape.size() > s.size() || num_elements(c.shape) <= 1 ||
        g_.tensor(n.outputs[0]).shape != s)
      return false;
    const size_t axis = channel_axis(c.shape, s);
    if (axis == s.size()) return false;
    const std::vector<double> v = c.floats();
    std::vector<double> scale(v.size(), 1.0), shift(v.size(), 0.0);
    for (size_t i = 0; i < v.size(); ++i) {
      if (n.op == "Add") shift[i] = v[i];
      if (n.op == "Sub") (k == 1 ? shift[i] = -v[i] : (scale[i] = -1.0, shift[i] = v[i]));
      if (n.op == "Mul") scale[i] = v[i];
      if (n.op == "Div") scale[i] = 1.0 / v[i];
    }
    const QParams qy = activation_qparams(ranges_.at(n.outputs[0]));
    const std::string x = as_int8(n.inputs[1 - k]);
    const size_t before = g_.nodes.size();
    if (emit_channel_affine_s8(n, x, s, qparams(x), scale, shift, int8_output(n.outputs[0], qy), qy, -128, 127, false, axis))
      return true;
    g_.nodes.resize(before);
    int8_.erase(n.outputs[0]);
    summary_.activations.pop_back();
    return false;
  }

  // The one axis of x (shape s) along which constant c varies, if c broadcasts to s so; s.size()
  // if c is one value or varies along more than one axis.
  static size_t channel_axis(const Shape& c, const Shape& s) {
    size_t axis = s.size();
    for (size_t i = 0; i < c.size() && c.size() <= s.size(); ++i) {
      const size_t a = s.size() - c.size() + i;
      if (c[i] == 1) continue;
      if (axis != s.size() || c[i] != s[a]) return s.size();
      axis = a;
    }
    return c.size() <= s.size() ? axis : s.size();
  }

  // Calibrated: PRelu with one slope per channel (one slope: a table, quantize_lookup) as
  // PReluS8, each side requantized by its own multiplier.
  bool quantize_prelu(Node& n) {
    if (n.op != "PRelu" || n.inputs.size() != 2 || !g_.is_const(n.inputs[1]) || !has_range(n.inputs[0]) ||
        !has_range(n.outputs[0]))
      return false;
    const Tensor& slope = g_.tensor(n.inputs[1]);
    const Shape& s = g_.tensor(n.inputs[0]).shape;
    const size_t axis = channel_axis(slope.shape, s);
    if (slope.dtype != DType::Float || axis == s.size()) return refuse("its slope is not one value per channel");
    const QParams qy = activation_qparams(ranges_.at(n.outputs[0]));
    const std::string x = as_int8(n.inputs[0]);
    const QParams qx = qparams(x);
    const std::vector<double> v = slope.floats();
    std::vector<int32_t> mult(v.size());
    std::vector<int8_t> shift(v.size()), sign(v.size());
    for (size_t c = 0; c < v.size(); ++c) {
      int32_t sh;
      quantize_multiplier(std::fabs(v[c]) * qx.scale / qy.scale, &mult[c], &sh);
      shift[c] = int8_t(sh), sign[c] = v[c] < 0 ? -1 : 1;
    }
    int32_t m, sh;
    quantize_multiplier(double(qx.scale) / qy.scale, &m, &sh);
    Node q;
    q.name = n.name, q.domain = "tinyc", q.op = "PReluS8";
    set_int(q, "tinyc_axis", int64_t(axis));
    set_int(q, "tinyc_input_zero_point", qx.zero_point);
    set_int(q, "tinyc_output_zero_point", qy.zero_point);
    set_int(q, "tinyc_multiplier", m);
    set_int(q, "tinyc_shift", sh);
    Attr slopes;  // for --emit-onnx
    slopes.kind = Attr::Floats, slopes.floats.assign(v.begin(), v.end());
    q.attrs["tinyc_slopes"] = slopes;
    const Shape per{int64_t(v.size())};
    q.inputs = {x, constant(n.name + "/multiplier", DType::Int32, per, mult), constant(n.name + "/shift", DType::Int8, per, shift),
                constant(n.name + "/sign", DType::Int8, per, sign)};
    q.outputs = {int8_output(n.outputs[0], qy)};
    g_.nodes.push_back(q);
    return true;
  }

  // Calibrated: an inference BatchNormalization the optimizer could not fold into a layer before
  // it (one after a Relu) as a per-channel affine in int8.
  bool quantize_batch_norm(Node& n) {
    if (n.op != "BatchNormalization" || n.inputs.size() < 5 || n.outputs.size() != 1 || !has_range(n.inputs[0]) ||
        !has_range(n.outputs[0]) || n.get_int("training_mode", 0))
      return false;
    for (size_t i = 1; i < 5; ++i)
      if (!g_.is_const(n.inputs[i])) return false;
    const std::vector<double> gamma = g_.tensor(n.inputs[1]).floats(), beta = g_.tensor(n.inputs[2]).floats(),
                              mean = g_.tensor(n.inputs[3]).floats(), var = g_.tensor(n.inputs[4]).floats();
    const double eps = n.get_float("epsilon", 1e-5f);
    std::vector<double> scale(gamma.size()), shift(gamma.size());
    for (size_t c = 0; c < gamma.size(); ++c) {
      scale[c] = gamma[c] / std::sqrt(var[c] + eps);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    const QParams qy = activation_qparams(ranges_.at(n.outputs[0]));
    int32_t lo, hi;
    if (!activation_range(n, qy, &lo, &hi)) return false;
    const Shape& s = g_.tensor(n.inputs[0]).shape;
    if (s.size() < 2 || s[1] != int64_t(gamma.size())) return false;
    const std::string x = as_int8(n.inputs[0]);
    const size_t before = g_.nodes.size();
    if (emit_channel_affine_s8(n, x, s, qparams(x), scale, shift, int8_output(n.outputs[0], qy), qy, lo, hi, false))
      return true;
    g_.nodes.resize(before);
    int8_.erase(n.outputs[0]);
    summary_.activations.pop_back();
    return false;
  }

  QuantizeSummary run() {
    for (const auto& i : g_.inputs) float_.insert(i);
    std::vector<Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    for (const Node& n : nodes)
      if (n.op == "LSTM" || n.op == "GRU" || n.op == "RNN") recurrent_inputs_.insert(n.inputs[0]);
    for (Node& n : nodes) {
      why_.clear();
      if (!quantize_node(n)) {
        for (auto& in : n.inputs)
          if (!in.empty() && !g_.is_const(in)) in = as_float(in);
        for (const auto& o : n.outputs) float_.insert(o);
        g_.nodes.push_back(n);
        summary_.float_layers.push_back(n.name);
        summary_.float_reasons.push_back(why_.empty() ? fmt::format("no int8 kernel for {}", n.op) : why_);
      }
    }
    for (const auto& o : g_.outputs) {
      if (!int8_.count(o) && has_range(o)) quantize_float_output(o);
      as_float(o);
    }
    return summary_;
  }

 private:
  Graph& g_;
  const Ranges& ranges_;
  QuantizeOptions opts_;
  QuantizeSummary summary_;
  std::string why_;                            // why the node being quantized stays float, if it does
  std::set<std::string> float_;                // float tensors that exist in the new graph
  std::map<std::string, std::string> int8_;    // float tensor -> its int8 version
  std::set<std::string> recurrent_inputs_;     // tensors a recurrent cell (float) reads

  bool has_range(const std::string& t) const { return ranges_.count(t) != 0; }
  // Records why the node stays float; false.
  bool refuse(std::string why) {
    why_ = std::move(why);
    return false;
  }

  // The parameters of an int8 tensor, kept in the IR (Tensor::quant).
  QParams qparams(const std::string& t) const {
    const Quantization& q = g_.tensor(t).quant;
    return {q.scale.at(0), q.zero_point.at(0)};
  }
  void set_qparams(const std::string& t, QParams q) { g_.tensor(t).quant = {{q.scale}, {q.zero_point}, 0}; }

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 0; g_.tensors.count(name); ++i) name = fmt::format("{}_{}", base, i);
    Tensor& t = g_.tensors[name];
    t.name = name;
    return name;
  }

  template <class T>
  std::string constant(const std::string& base, DType dt, const Shape& shape, const std::vector<T>& v) {
    const std::string name = fresh(base);
    Tensor& t = g_.tensors[name];
    t.dtype = dt, t.shape = shape, t.has_shape = true, t.is_const = true;
    t.data.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
    return name;
  }

  void add_node(const std::string& op, const std::string& name, std::vector<std::string> in, std::string out,
                const std::string& domain = "") {
    Node n;
    n.op = op, n.domain = domain, n.name = name, n.inputs = std::move(in), n.outputs = {std::move(out)};
    g_.nodes.push_back(n);
  }

  // The int8 version of float tensor t (a QuantizeLinear is added the first time), or "".
  std::string as_int8(const std::string& t) {
    auto it = int8_.find(t);
    if (it != int8_.end()) return it->second;
    if (!has_range(t) || g_.is_const(t)) return "";
    const QParams q = activation_qparams(ranges_.at(t));
    const std::string out = fresh(t + "/int8");
    add_node("QuantizeLinear", t + "/quantize",
             {as_float(t), constant(t + "/scale", DType::Float, {}, std::vector<float>{q.scale}),
              constant(t + "/zero_point", DType::Int8, {}, std::vector<int8_t>{int8_t(q.zero_point)})},
             out);
    int8_[t] = out;
    set_qparams(out, q);
    summary_.activations.push_back({t, q.scale, q.zero_point, out});
    return out;
  }

  // The quantization parameters as_int8(t) gives, without making anything yet.
  QParams input_qparams(const std::string& t) const {
    const auto known = int8_.find(t);
    return known != int8_.end() ? qparams(known->second) : activation_qparams(ranges_.at(t));
  }

  // The float tensor t, dequantized from its int8 version if only that exists.
  std::string as_float(const std::string& t) {
    if (float_.count(t) || g_.is_const(t)) return t;
    const std::string q = int8_.at(t);
    const QParams p = qparams(q);
    add_node("DequantizeLinear", t + "/dequantize",
             {q, constant(t + "/scale", DType::Float, {}, std::vector<float>{p.scale}),
              constant(t + "/zero_point", DType::Int8, {}, std::vector<int8_t>{int8_t(p.zero_point)})},
             t);
    float_.insert(t);
    return t;
  }

  // A graph output computed in float (after a float fallback layer) still gets an int8 form, so
  // the model has an int8 boundary (NAME_run_int8): its producer writes a renamed float tensor,
  // which is quantized, and the output is dequantized from that.
  void quantize_float_output(const std::string& o) {
    const std::string f = fresh(o + "/float");
    for (Node& n : g_.nodes) {
      for (auto& x : n.outputs) x = x == o ? f : x;
      for (auto& x : n.inputs) x = x == o ? f : x;
    }
    float_.erase(o);
    float_.insert(f);
    const QParams q = activation_qparams(ranges_.at(o));
    const std::string out = fresh(o + "/int8");
    add_node("QuantizeLinear", o + "/quantize",
             {f, constant(o + "/scale", DType::Float, {}, std::vector<float>{q.scale}),
              constant(o + "/zero_point", DType::Int8, {}, std::vector<int8_t>{int8_t(q.zero_point)})},
             out);
    int8_[o] = out;
    set_qparams(out, q);
    summary_.activations.push_back({o, q.scale, q.zero_point, out});
  }

  // Declares the int8 output of float tensor t with parameters q.
  std::string int8_output(const std::string& t, QParams q) {
    const std::string out = fresh(t + "/int8");
    int8_[t] = out;
    set_qparams(out, q);
    summary_.activations.push_back({t, q.scale, q.zero_point, out});
    return out;
  }

  // Clamp range of a fused activation in the output's quantized domain; false if not expressible.
  bool activation_range(const Node& n, QParams y, int32_t* lo, int32_t* hi) {
    const std::string act = n.get_string("tinyc_activation", "");
    *lo = -128, *hi = 127;
    auto q = [&](float v) { return std::isinf(v) ? (v > 0 ? 127 : -128) : int32_t(std::lround(v / y.scale)) + y.zero_point; };
    if (act.empty()) return true;
    if (act == "Relu") {
      *lo = std::max(-128, y.zero_point);
      return true;
    }
    if (act == "Clip") {
      *lo = std::max(-128, q(n.get_float("tinyc_act_a", 0)));
      *hi = std::min(127, q(n.get_float("tinyc_act_b", 0)));
      return *lo <= *hi;
    }
    return false;
  }

  static void set_int(Node& n, const char* name, int64_t v) {
    Attr a;
    a.kind = Attr::Int, a.i = v;
    n.attrs[name] = a;
  }

  // Weights [M, ...] (or transposed [K, M] for a Gemm without transB) quantized per output
  // channel: returns int8 values laid out [M, rest] and the scale of each channel.
  // recover_grid: the weights were dequantized from int8 (a pre-quantized model); use one scale
  // for the tensor when every weight lies on that scale's grid, so the original integers return.
  // floor: the least scale of each channel (none: empty).
  std::vector<int8_t> quantize_weights(const Tensor& w, bool channels_last, std::vector<float>* scales,
                                       bool recover_grid = false, const std::vector<double>& floor = {}) {
    const std::vector<double> v = w.floats();
    const size_t m = static_cast<size_t>(channels_last ? w.shape.back() : w.shape[0]);
    const size_t rest = v.size() / m;
    auto at = [&](size_t ch, size_t j) { return channels_last ? v[j * m + ch] : v[ch * rest + j]; };
    std::vector<int8_t> exact;
    if (recover_grid && model_integers(w, channels_last, m, rest, &exact, scales)) return exact;
    scales->assign(m, 0.0f);
    double all = 0;
    for (size_t ch = 0; ch < m; ++ch) {
      double mx = 0;
      for (size_t j = 0; j < rest; ++j) mx = std::max(mx, std::fabs(at(ch, j)));
      (*scales)[ch] = static_cast<float>(mx / 127.0);
      all = std::max(all, mx);
    }
    bool per_tensor = opts_.per_tensor;
    if (recover_grid && all > 0) {
      const double step = static_cast<float>(all / 127.0);
      per_tensor = true;
      for (double x : v) per_tensor = per_tensor && std::fabs(x / step - std::round(x / step)) < 1e-3;
    }
    for (size_t ch = 0; ch < m; ++ch) {
      float& s = (*scales)[ch];
      if (per_tensor) s = static_cast<float>(all / 127.0);
      if (s == 0) s = 1.0f;
      if (!floor.empty()) s = std::max(s, static_cast<float>(floor[ch]));
    }
    std::vector<int8_t> q(v.size());
    for (size_t ch = 0; ch < m; ++ch)
      for (size_t j = 0; j < rest; ++j)
        q[ch * rest + j] = int8_t(std::clamp<long>(std::lround(at(ch, j) / (*scales)[ch]), -127, 127));
    return q;
  }

  // The integers and per-channel scales a pre-quantized model's weights were dequantized from
  // (fold_constants keeps them on the float tensor), laid out [M, rest]: when they are symmetric,
  // per tensor or per output channel, and give back every float bit for bit. False otherwise.
  bool model_integers(const Tensor& w, bool channels_last, size_t m, size_t rest, std::vector<int8_t>* q,
                      std::vector<float>* scales) const {
    const Quantization& wq = w.quant;
    const int unit_axis = channels_last ? static_cast<int>(w.shape.size()) - 1 : 0;
    if (wq.empty() || w.dtype != DType::Float || (wq.scale.size() != 1 && (wq.scale.size() != m || wq.axis != unit_axis)))
      return false;
    for (int32_t z : wq.zero_point)
      if (z != 0) return false;
    const float* f = w.as<float>();
    scales->assign(m, 0.0f);
    q->assign(m * rest, 0);
    for (size_t ch = 0; ch < m; ++ch) {
      const float s = wq.scale[wq.scale.size() == 1 ? 0 : ch];
      if (!(std::isfinite(s) && s > 0)) return false;
      (*scales)[ch] = s;
      for (size_t j = 0; j < rest; ++j) {
        const float x = channels_last ? f[j * m + ch] : f[ch * rest + j];
        const long k = std::lround(double(x) / double(s));
        if (k < -128 || k > 127 || float(int32_t(k)) * s != x) return false;  // as DequantizeLinear computes it
        (*q)[ch * rest + j] = static_cast<int8_t>(k);
      }
    }
    return true;
  }

  // Conv or Gemm -> ConvS8 / FullyConnectedS8.
  // Whether n is a Conv or a Gemm with constant float weights (and bias) that int8 can run.
  bool linear_layer_ok(const Node& n) const {
    if (n.op == "Conv") {
      if (!g_.is_const(n.inputs[1])) return false;
    } else if (n.op != "Gemm" || n.get_int("transA", 0) || n.get_float("alpha", 1) != 1 ||
               n.get_float("beta", 1) != 1 || !g_.is_const(n.inputs[1]) || g_.tensor(n.inputs[0]).shape.size() != 2) {
      return false;
    }
    const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
    if (has_bias && !g_.is_const(n.inputs[2])) return false;
    const Tensor& w = g_.tensor(n.inputs[1]);
    const bool transposed = n.op == "Gemm" && !n.get_int("transB", 0);
    const int64_t units = transposed ? w.shape[1] : w.shape[0];
    return w.dtype == DType::Float && (!has_bias || num_elements(g_.tensor(n.inputs[2]).shape) == units);
  }

  // The int32 biases, stored as int16 when every value fits (the arithmetic is the same).
  std::string compact_bias(const std::string& layer, const std::vector<int32_t>& bias) {
    const Shape per{static_cast<int64_t>(bias.size())};
    for (int32_t b : bias)
      if (b < INT16_MIN || b > INT16_MAX) return constant(layer + "/bias_int32", DType::Int32, per, bias);
    return constant(layer + "/bias_int16", DType::Int16, per, std::vector<int16_t>(bias.begin(), bias.end()));
  }

  // The int8 constants of Conv/Gemm n: weights, int32 biases, multipliers and shifts, and
  // (ONNX's rounding) the float scales.
  struct LinearS8 {
    std::vector<int8_t> weights, shift;
    std::vector<int32_t> bias, mult;
    std::vector<float> fscale, wscale;  // wscale: each output channel's weight scale
  };

  // False when the kernels' int32 arithmetic cannot hold some output channel: its largest possible
  // sum |bias| + sum |w_q| |x_q - zx|, shifted left by the multiplier's positive exponent before the
  // high multiply, must stay below 2^30 (room for the zero point). Extreme weights against a small
  // output range break that (the fuzzer's model: one weight of -6e16 before a Relu); such a layer
  // stays in float rather than overflow.
  // So does a layer with NaN or infinite weights or biases, or (a pre-quantized model) scales that
  // are not positive and finite: they have no int8 form.
  bool linear_s8(const Node& n, QParams qx, QParams qy, bool onnx_rounding, LinearS8* c) {
    const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
    const Tensor& w = g_.tensor(n.inputs[1]);
    const bool transposed = n.op == "Gemm" && !n.get_int("transB", 0);
    const int64_t units = transposed ? w.shape[1] : w.shape[0];
    const std::vector<double> b = has_bias ? g_.tensor(n.inputs[2]).floats() : std::vector<double>();
    auto usable_scale = [](float v) { return std::isfinite(v) && v > 0; };
    if (units <= 0 || !usable_scale(qx.scale) || !usable_scale(qy.scale)) return refuse("its scales are not positive and finite");
    for (const std::vector<double>& values : {w.floats(), b})
      for (double v : values)
        if (!std::isfinite(v)) return refuse("its weights or bias are not finite");
    // A channel whose weights are all but zero next to its bias (a dead unit: 1e-21 against 0.2)
    // would get a scale so small that its bias overflows int32: its scale is floored so that the
    // bias stays below 2^24 steps, where those weights round to 0 and contribute nothing anyway.
    std::vector<double> floor(size_t(units), 0.0);
    for (int64_t m = 0; has_bias && m < units; ++m) floor[m] = std::fabs(b[m]) / (double(qx.scale) * (1 << 24));
    std::vector<float> sw;
    c->weights = quantize_weights(w, transposed, &sw, onnx_rounding, floor);
    c->wscale = sw;
    c->bias.assign(units, 0), c->mult.resize(units), c->shift.resize(units), c->fscale.resize(units);
    const int64_t max_dx = std::max(128 + qx.zero_point, 127 - qx.zero_point);
    const size_t per_unit = units ? c->weights.size() / units : 0;
    for (int64_t m = 0; m < units; ++m) {
      const double s = double(qx.scale) * sw[m];
      if (has_bias) c->bias[m] = static_cast<int32_t>(std::clamp<double>(std::round(b[m] / s), INT32_MIN, INT32_MAX));
      int32_t sh;
      quantize_multiplier(s / qy.scale, &c->mult[m], &sh);
      c->shift[m] = static_cast<int8_t>(sh);
      c->fscale[m] = qx.scale * sw[m] / qy.scale;  // in float, as ONNX Runtime computes it
      if (!std::isfinite(c->fscale[m])) return refuse("its requantization scale is not finite");
      int64_t largest = std::abs(int64_t(c->bias[m]));
      for (size_t j = 0; j < per_unit; ++j) largest += std::abs(int64_t(c->weights[m * per_unit + j])) * max_dx;
      const int left = onnx_rounding ? 0 : std::max(sh, 0);
      if (largest >= (int64_t(1) << (30 - left)))
        return refuse("its int32 sums could overflow: weights or bias extreme for the output's range");
    }
    return true;
  }

  // Emits the int8 form of Conv/Gemm n reading int8 tensor x and writing int8 tensor y, with the
  // constants c and the output clamp [lo, hi]. With onnx_rounding the requantization is ONNX
  // Runtime's (float scale, round half to even).
  void emit_linear_s8(const Node& n, const LinearS8& c, const std::string& x, QParams qx, const std::string& y,
                      QParams qy, int32_t lo, int32_t hi, bool onnx_rounding) {
    const bool conv = n.op == "Conv";
    const Tensor& w = g_.tensor(n.inputs[1]);
    const bool transposed = !conv && !n.get_int("transB", 0);
    const int64_t units = transposed ? w.shape[1] : w.shape[0];
    Shape wshape = w.shape;
    if (transposed) std::swap(wshape[0], wshape[1]);
    Node q;
    q.name = n.name;
    q.domain = "tinyc";
    q.op = conv ? "ConvS8" : "FullyConnectedS8";
    if (conv)
      for (const char* a : {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", "tinyc_channels_last"})
        if (n.has(a)) q.attrs[a] = n.attrs.at(a);
    if (conv) set_int(q, "tinyc_input_zero_point", qx.zero_point);  // a fully connected layer's is in its bias
    set_int(q, "tinyc_output_zero_point", qy.zero_point);
    set_int(q, "tinyc_act_min", lo);
    set_int(q, "tinyc_act_max", hi);
    const Shape per{units};
    std::vector<int8_t> weights = c.weights;
    std::vector<int32_t> bias = c.bias;
    if (conv && n.get_int("tinyc_channels_last", 0)) {  // read channels-last: w [M, k..., C/g] (weight_index)
      const int64_t cg = wshape[1];
      reorder_conv_weights(c.weights.data(), units, cg, num_elements(wshape) / (units * cg), true, weights.data());
    }
    if (!conv) {  // the fully connected kernel's own order, and the input's zero point in the bias
      const int32_t depth = static_cast<int32_t>(wshape[1]);
      for (int64_t m = 0; m < units; ++m)  // fits: linear_s8 bounds |bias| + 128 sum |w| below 2^30
        bias[m] = static_cast<int32_t>(fold_input_zero_point(bias[m], &c.weights[m * depth], depth, qx.zero_point));
      pack_fully_connected_s8(c.weights.data(), static_cast<int32_t>(units), depth, weights.data());
    }
    const std::string wname = constant(n.name + "/weights_int8", DType::Int8, wshape, weights),
                      bname = compact_bias(n.name, bias);
    g_.tensor(wname).quant = {c.wscale, std::vector<int32_t>(c.wscale.size(), 0), 0};
    Quantization& bq = g_.tensor(bname).quant;
    bq.zero_point.assign(c.wscale.size(), 0);
    for (float sw : c.wscale) bq.scale.push_back(float(double(qx.scale) * sw));
    q.inputs = {x, wname, bname,
                constant(n.name + "/multiplier", DType::Int32, per, c.mult),
                constant(n.name + "/shift", DType::Int8, per, c.shift)};
    if (onnx_rounding) q.inputs.push_back(constant(n.name + "/scale", DType::Float, per, c.fscale));
    q.outputs = {y};
    g_.nodes.push_back(q);
  }

  // Conv or Gemm -> ConvS8 / FullyConnectedS8, with calibrated ranges.
  bool quantize_linear_layer(Node& n) {
    if (n.op != "Conv" && n.op != "Gemm") return false;
    if (!linear_layer_ok(n)) return refuse("its weights or bias are not constant float, or its form has no int8 kernel");
    if (!has_range(n.outputs[0]) || !has_range(n.inputs[0])) return refuse("no calibrated range");
    return emit_calibrated_linear(n, n);
  }

  // n as the int8 form of `layer` (n itself, or the Conv that computes the same) with calibrated
  // ranges: its output clamp, weights, biases and requantization.
  bool emit_calibrated_linear(const Node& n, const Node& layer) {
    const QParams y = activation_qparams(ranges_.at(n.outputs[0]));
    int32_t lo, hi;
    if (!activation_range(n, y, &lo, &hi))
      return refuse(fmt::format("its fused {} has no int8 clamp", n.get_string("tinyc_activation", "")));
    const QParams qx = input_qparams(n.inputs[0]);
    LinearS8 c;
    if (!linear_s8(layer, qx, y, false, &c)) return false;
    const std::string x = as_int8(n.inputs[0]);
    emit_linear_s8(layer, c, x, qparams(x), int8_output(n.outputs[0], y), y, lo, hi, false);
    return true;
  }

  // ConvTranspose as ConvTransposeS8: its weights [C, M/g, k...] reordered to the [M, C/g, k...]
  // of a Conv, quantized per output channel as a Conv's are.
  bool quantize_conv_transpose(Node& n) {
    if (n.op != "ConvTranspose" || n.inputs.size() < 2 || !g_.is_const(n.inputs[1])) return false;
    const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
    const Tensor& w = g_.tensor(n.inputs[1]);
    const int64_t groups = n.get_int("group", 1);
    if (w.dtype != DType::Float || w.shape.size() < 3 || (has_bias && !g_.is_const(n.inputs[2])) || groups < 1 ||
        w.shape[0] % groups)
      return false;
    if (!has_range(n.inputs[0]) || !has_range(n.outputs[0])) return refuse("no calibrated range");
    const int64_t cg = w.shape[0] / groups, mg = w.shape[1], k = num_elements(w.shape) / std::max<int64_t>(w.shape[0] * mg, 1);
    const std::vector<double> v = w.floats();
    std::vector<float> t(v.size());
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t m = 0; m < mg; ++m)
          for (int64_t j = 0; j < k; ++j)
            t[size_t(((g * mg + m) * cg + c) * k + j)] = float(v[size_t(((g * cg + c) * mg + m) * k + j)]);
    Shape ts = w.shape;
    ts[0] = groups * mg, ts[1] = cg;
    Node conv = n;  // the same product as a Conv's, for linear_s8 and emit_linear_s8
    conv.op = "Conv";
    conv.inputs = {n.inputs[0], constant(n.name + "/weights_by_output", DType::Float, ts, t)};
    if (has_bias) conv.inputs.push_back(n.inputs[2]);
    if (!emit_calibrated_linear(n, conv)) return false;
    Node& q = g_.nodes.back();
    q.op = "ConvTransposeS8";
    for (const char* a : {"output_padding", "output_shape"})
      if (n.has(a)) q.attrs[a] = n.attrs.at(a);
    return true;
  }

  bool quantize_add(Node& n) {
    if (n.inputs.size() != 2 || g_.is_const(n.inputs[0]) || g_.is_const(n.inputs[1]) || !has_range(n.outputs[0]) ||
        !has_range(n.inputs[0]) || !has_range(n.inputs[1]))
      return false;
    const QParams y = activation_qparams(ranges_.at(n.outputs[0]));
    int32_t lo, hi;
    if (!activation_range(n, y, &lo, &hi))
      return refuse(fmt::format("its fused {} has no int8 clamp", n.get_string("tinyc_activation", "")));
    const QParams qa = input_qparams(n.inputs[0]), qb = input_qparams(n.inputs[1]);
    if (!add_s8_fits(qa, qb, y)) return false;
    return emit_add_s8(n, as_int8(n.inputs[0]), qa, as_int8(n.inputs[1]), qb, int8_output(n.outputs[0], y), y, lo, hi);
  }

  // QLinear inputs of binary n: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
  // y_zero_point (scalar constants).
  std::vector<std::string> qlinear_inputs(const Node& n, QParams qy) {
    std::vector<std::string> in;
    for (const std::string& t : {as_int8(n.inputs[0]), as_int8(n.inputs[1]), std::string()}) {
      const QParams q = t.empty() ? qy : qparams(t);
      if (!t.empty()) in.push_back(t);
      in.push_back(constant(n.name + "/scale", DType::Float, {}, std::vector<float>{q.scale}));
      in.push_back(constant(n.name + "/zero_point", DType::Int8, {}, std::vector<int8_t>{int8_t(q.zero_point)}));
    }
    return in;
  }

  // Mul of two tensors (a squeeze-and-excitation gate, with broadcasting): com.microsoft
  // QLinearMul, the exact int32 product of the offsets requantized in float.
  bool quantize_mul(Node& n) {
    if (n.op != "Mul" || n.inputs.size() != 2 || g_.is_const(n.inputs[0]) || g_.is_const(n.inputs[1]) ||
        n.has("tinyc_activation") || !has_range(n.inputs[0]) || !has_range(n.inputs[1]) || !has_range(n.outputs[0]))
      return false;
    const QParams qy = activation_qparams(ranges_.at(n.outputs[0]));
    const std::vector<std::string> in = qlinear_inputs(n, qy);
    Node q;
    q.name = n.name, q.domain = "com.microsoft", q.op = "QLinearMul", q.inputs = in;
    q.outputs = {int8_output(n.outputs[0], qy)};
    g_.nodes.push_back(q);
    return true;
  }

  // MatMul of two tensors (attention, a Gram matrix): QLinearMatMul, the exact int32 sums of the
  // products of the offsets requantized in float.
  bool quantize_matmul(Node& n) {
    if (n.op != "MatMul" || n.inputs.size() != 2 || g_.is_const(n.inputs[0]) || g_.is_const(n.inputs[1]) ||
        !has_range(n.inputs[0]) || !has_range(n.inputs[1]) || !has_range(n.outputs[0]))
      return false;
    const QParams qy = activation_qparams(ranges_.at(n.outputs[0]));
    const std::vector<std::string> in = qlinear_inputs(n, qy);
    add_node("QLinearMatMul", n.name, in, int8_output(n.outputs[0], qy));
    return true;
  }

  // The sum of the two rescaled inputs is shifted left by the output multiplier's positive
  // exponent: an output scale millions of times below the inputs' (a fuzzed model) would overflow
  // int32 there, so such an Add stays in float.
  bool add_s8_fits(QParams qa, QParams qb, QParams y) {
    const double twice_max = 2.0 * std::max(qa.scale, qb.scale);
    int32_t m, s;
    quantize_multiplier(twice_max / ((1 << 20) * double(y.scale)), &m, &s);
    auto largest = [](QParams q) { return double(std::max(128 + q.zero_point, 127 - q.zero_point)); };
    const double sum = (largest(qa) * qa.scale + largest(qb) * qb.scale) / twice_max * (1 << 20) + 2;
    if (sum * std::ldexp(1.0, std::max(s, 0)) >= std::ldexp(1.0, 30))
      return refuse("its output scale is far below its inputs' (the int32 sum would overflow)");
    return true;
  }

  // Add n as AddS8 (TFLite's quantized Add) of int8 tensors a and b into int8 tensor y.
  bool emit_add_s8(const Node& n, const std::string& a, QParams qa, const std::string& b, QParams qb,
                   const std::string& y, QParams qy, int32_t lo, int32_t hi) {
    if (!add_s8_fits(qa, qb, qy)) return false;
    const double twice_max = 2.0 * std::max(qa.scale, qb.scale);
    int32_t m[3], s[3];
    quantize_multiplier(qa.scale / twice_max, &m[0], &s[0]);
    quantize_multiplier(qb.scale / twice_max, &m[1], &s[1]);
    quantize_multiplier(twice_max / ((1 << 20) * double(qy.scale)), &m[2], &s[2]);
    Node q;
    q.name = n.name, q.domain = "tinyc", q.op = "AddS8";
    if (n.op == "Sub") set_int(q, "tinyc_subtract", 1);  // a - b
    Attr zp, mult, shift;
    zp.kind = mult.kind = shift.kind = Attr::Ints;
    zp.ints = {qa.zero_point, qb.zero_point};
    mult.ints = {m[0], m[1], m[2]};
    shift.ints = {s[0], s[1], s[2]};
    q.attrs["tinyc_zero_points"] = zp, q.attrs["tinyc_multipliers"] = mult, q.attrs["tinyc_shifts"] = shift;
    set_int(q, "tinyc_output_zero_point", qy.zero_point);
    set_int(q, "tinyc_act_min", lo);
    set_int(q, "tinyc_act_max", hi);
    q.inputs = {a, b};
    q.outputs = {y};
    g_.nodes.push_back(q);
    return true;
  }

  // Ops whose int8 output keeps the input's parameters: pools, views, Relu, Pad (its constant
  // quantized: 0 pads with the zero point), Split, and Resize (nearest copies the integers; linear
  // rounds the interpolated integers, as requantizing to the same parameters would).
  bool quantize_same_scale(Node& n) {
    const std::string& in = n.inputs.empty() ? "" : n.inputs[0];
    const bool constant_operands = std::all_of(n.inputs.begin() + (in.empty() ? 0 : 1), n.inputs.end(),
                                               [&](const std::string& t) { return t.empty() || g_.is_const(t); });
    // Views and data moves: the same values in another order (a Transpose on int8 is an int8 copy).
    const bool view = !n.inputs.empty() && (n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" || n.op == "Unsqueeze" ||
                       n.op == "Transpose" || n.op == "Gather" || n.op == "Slice" || n.op == "DepthToSpace" ||
                       n.op == "SpaceToDepth") &&
                      std::all_of(n.inputs.begin() + 1, n.inputs.end(),
                                  [&](const std::string& t) { return t.empty() || g_.is_const(t); });
    const bool avg = (n.op == "AveragePool" && n.get_int("ceil_mode", 0) == 0 && !n.has("dilations") &&
                      n.get_string("auto_pad", "NOTSET") == "NOTSET") ||
                     n.op == "GlobalAveragePool";
    const std::string mode = n.get_string("mode", "nearest");
    const bool resize = n.op == "Resize" && (mode == "nearest" || mode == "linear") &&
                        std::all_of(n.inputs.begin() + 1, n.inputs.end(),
                                    [&](const std::string& t) { return t.empty() || g_.is_const(t); });
    const bool pool = (n.op == "MaxPool" && n.outputs.size() == 1) || n.op == "GlobalMaxPool" || avg || resize ||
                      ((n.op == "ReduceMax" || n.op == "ReduceMin" || n.op == "Split" || (n.op == "Pad" && g_.opset >= 11)) &&
                       constant_operands);
    if (in.empty() || !(view || pool || n.op == "Relu")) return false;
    if (avg && n.get_int("count_include_pad", 0)) {
      for (int64_t p : n.get_ints("pads"))
        if (p) return false;  // padding counts as real zeros, which are not the zero point
    }
    // A view or Relu follows its input's representation where that is int8. On the model's float
    // input a view quantizes it, as a pool or Resize does; elsewhere a float input is a float
    // layer's output (a recurrent cell's), which is quantized where it is smallest, after the
    // data moves.
    const bool graph_input = std::count(g_.inputs.begin(), g_.inputs.end(), in) != 0 &&
                             !recurrent_inputs_.count(n.outputs[0]);
    if (!int8_.count(in) && (n.op == "Relu" || !(view && graph_input && has_range(in))) && !pool)
      return refuse("its input is float");
    if (pool && !has_range(in)) return false;
    const std::string x = as_int8(in);
    const QParams qx = qparams(x);
    Node q = n;
    q.inputs[0] = x;
    if (n.op == "Relu") {
      q.domain = "tinyc", q.op = "ReluS8";
      q.attrs.clear();
      set_int(q, "tinyc_act_min", std::max(-128, qx.zero_point));
    } else if (avg) {
      q.domain = "tinyc", q.op = "AvgPoolS8";
      if (n.op == "GlobalAveragePool") set_int(q, "tinyc_global", 1);
    } else if (n.op == "Pad" && n.get_string("mode", "constant") == "constant") {
      const std::vector<double> v = n.inputs.size() > 2 && !n.inputs[2].empty() ? g_.tensor(n.inputs[2]).floats()
                                                                                 : std::vector<double>{0.0};
      if (v.size() != 1) return false;
      const double level = std::clamp<double>(round_half_even(float(v[0] / qx.scale)) + qx.zero_point, -128, 127);
      q.inputs.resize(3);
      q.inputs[2] = constant(n.name + "/int8_value", DType::Int8, {}, std::vector<int8_t>{int8_t(level)});
    }
    for (size_t i = 0; i < n.outputs.size(); ++i)
      q.outputs[i] = n.outputs[i].empty() ? "" : int8_output(n.outputs[i], qx);
    g_.nodes.push_back(q);
    return true;
  }

  // ReduceMean over a run of adjacent axes (a global average pool, also channels-last: axes 1 and
  // 2 of NHWC, as tf2onnx writes it) as AvgPoolS8 on a view [outer, 1, reduced, inner] with a
  // window [reduced, 1]: the same parameters in and out, the sum rounded to the nearest.
  bool quantize_reduce_mean(Node& n) {
    if (n.op != "ReduceMean" || n.inputs.empty() || !has_range(n.inputs[0]) || !g_.tensor(n.inputs[0]).has_shape)
      return false;
    const Shape s = g_.tensor(n.inputs[0]).shape;
    const int64_t r = static_cast<int64_t>(s.size());
    std::vector<int64_t> axes = n.get_ints("axes");
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      if (!g_.is_const(n.inputs[1])) return refuse("its axes are known at run time only");
      axes = g_.tensor(n.inputs[1]).ints();
    }
    if (axes.empty())
      for (int64_t a = 0; a < r; ++a) axes.push_back(a);
    for (int64_t& a : axes) a = a < 0 ? a + r : a;
    std::sort(axes.begin(), axes.end());
    if (axes.front() < 0 || axes.back() >= r || axes.back() - axes.front() + 1 != static_cast<int64_t>(axes.size()))
      return refuse("its axes are not adjacent");
    int64_t outer = 1, reduced = 1, inner = 1;
    for (int64_t a = 0; a < r; ++a) (a < axes.front() ? outer : a > axes.back() ? inner : reduced) *= s[static_cast<size_t>(a)];
    const std::string x = as_int8(n.inputs[0]);
    const QParams qx = qparams(x);
    const std::string view = fresh(n.outputs[0] + "/pool_in"), pooled = fresh(n.outputs[0] + "/pooled");
    set_qparams(view, qx), set_qparams(pooled, qx);
    add_node("Reshape", n.name + "/view", {x, constant(n.name + "/view_shape", DType::Int64, {4}, std::vector<int64_t>{outer, 1, reduced, inner})}, view);
    add_node("AvgPoolS8", n.name, {view}, pooled, "tinyc");
    Node& pool = g_.nodes.back();
    Attr k;
    k.kind = Attr::Ints, k.ints = {reduced, 1};
    pool.attrs["kernel_shape"] = k;
    Shape out = s;  // keepdims, or the reduced axes gone
    for (auto a = axes.rbegin(); a != axes.rend(); ++a) {
      if (n.get_int("keepdims", 1)) out[static_cast<size_t>(*a)] = 1;
      else out.erase(out.begin() + *a);
    }
    add_node("Reshape", n.name + "/unview",
             {pooled, constant(n.name + "/out_shape", DType::Int64, {static_cast<int64_t>(out.size())}, out)},
             int8_output(n.outputs[0], qx));
    return true;
  }

  // Elementwise functions of one tensor, set by their attributes alone (or by one constant value:
  // x + c, x * c, ...): on int8 each is a table of its 256 values.
  bool unary(const Node& n) const {
    static const std::set<std::string> ops = {
        "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Elu", "Selu", "Celu", "Softplus",
        "Softsign", "Mish", "ThresholdedRelu", "Clip", "Exp", "Log", "Abs", "Neg", "Sqrt", "Reciprocal", "Erf"};
    static const std::set<std::string> with_scalar = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"};
    if (!n.domain.empty() || n.inputs.empty() || n.outputs.size() != 1) return false;
    if (with_scalar.count(n.op))  // x op c, c one constant value: a function of x alone
      return n.inputs.size() == 2 && g_.is_const(n.inputs[1]) && num_elements(g_.tensor(n.inputs[1]).shape) == 1 &&
             g_.tensor(n.inputs[1]).shape.size() <= g_.tensor(n.inputs[0]).shape.size() &&
             !n.has("tinyc_activation");
    if (!ops.count(n.op)) return false;
    return std::all_of(n.inputs.begin() + 1, n.inputs.end(), [](const std::string& t) { return t.empty(); });
  }

  // Calibrated: an elementwise function as a table between the int8 grids of input and output.
  bool quantize_lookup(Node& n) {
    if (!unary(n) || !has_range(n.inputs[0]) || !has_range(n.outputs[0])) return false;
    const std::string x = as_int8(n.inputs[0]);
    return emit_lookup_s8(n, x, qparams(x), int8_output(n.outputs[0], activation_qparams(ranges_.at(n.outputs[0]))),
                          activation_qparams(ranges_.at(n.outputs[0])));
  }

  // Elementwise n from int8 x to int8 y as LookupS8: the table holds, for each of the 256 inputs,
  // the node's own float kernel on the dequantized value (the evaluator runs it), quantized as
  // QuantizeLinear does (round half to even): the integers of the float path.
  bool emit_lookup_s8(const Node& n, const std::string& x, QParams qx, const std::string& y, QParams qy) {
    Graph f;
    f.opset = g_.opset;
    Tensor& in = f.tensors["x"];
    in.name = "x", in.dtype = DType::Float, in.shape = {256}, in.has_shape = true;
    Node fn = n;
    fn.inputs[0] = "x", fn.outputs = {"y"};
    for (size_t i = 1; i < fn.inputs.size(); ++i)
      if (!fn.inputs[i].empty()) f.tensors[fn.inputs[i]] = g_.tensor(fn.inputs[i]);
    f.tensors["y"].name = "y";
    f.nodes = {fn};
    f.inputs = {"x"}, f.outputs = {"y"};
    Tensor grid = in;
    grid.data.resize(256 * sizeof(float));
    for (int i = 0; i < 256; ++i) grid.as<float>()[i] = float(i - 128 - qx.zero_point) * qx.scale;  // as DequantizeLinear
    const std::vector<Tensor> out = evaluate(f, {grid});
    if (out.size() != 1 || out[0].dtype != DType::Float || num_elements(out[0].shape) != 256) return false;
    std::vector<int8_t> table(256);
    for (int i = 0; i < 256; ++i)
      table[i] = int8_t(std::clamp<float>(round_half_even(out[0].as<float>()[i] / qy.scale) + float(qy.zero_point), -128, 127));
    add_node("LookupS8", n.name, {x, constant(n.name + "/table", DType::Int8, {256}, table)}, y, "tinyc");
    Node& l = g_.nodes.back();
    l.attrs = n.attrs;  // the function's own, for --emit-onnx
    Attr what;
    what.kind = Attr::String, what.s = n.op;  // what the table holds
    l.attrs["tinyc_function"] = what;
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {  // x op c: the constant, for --emit-onnx
      Attr c;
      c.kind = Attr::Float, c.f = float(g_.tensor(n.inputs[1]).floats().at(0));
      l.attrs["tinyc_operand"] = c;
    }
    return true;
  }

  // Softmax over the last axis, integer-only; output scale 1/256, zero point -128 (as TFLite).
  // LogSoftmax: on the calibrated output range, one logarithm per row.
  bool quantize_softmax(Node& n) {
    if (n.op == "LogSoftmax" && has_range(n.inputs[0]) && has_range(n.outputs[0])) {
      if (!softmax_s8_ok(n)) return false;
      const QParams qy = activation_qparams(ranges_.at(n.outputs[0]));
      const std::string x = as_int8(n.inputs[0]);
      const QParams qx = qparams(x);
      const double ratio = std::round(65536.0 * qx.scale / qy.scale);
      if (!(ratio >= 1 && ratio < 8388608.0)) return refuse("its input and output scales are too far apart for int8");
      std::vector<uint16_t> table(256);
      for (int d = 0; d < 256; ++d) table[d] = uint16_t(std::lround(65535.0 * std::exp(-double(qx.scale) * d)));
      Node q;
      q.name = n.name, q.domain = "tinyc", q.op = "LogSoftmaxS8";
      set_int(q, "tinyc_output_zero_point", qy.zero_point);
      set_int(q, "tinyc_ratio", int64_t(ratio));
      Attr inv;
      inv.kind = Attr::Float, inv.f = 1.0f / qy.scale;
      q.attrs["tinyc_inv_output_scale"] = inv;
      q.inputs = {x, constant(n.name + "/exp_table", DType::UInt16, {256}, table)};
      q.outputs = {int8_output(n.outputs[0], qy)};
      g_.nodes.push_back(q);
      return true;
    }
    if (n.op != "Softmax" || !has_range(n.inputs[0])) return false;
    const QParams qy{1.0f / 256.0f, -128};
    if (!softmax_s8_ok(n)) return false;
    const std::string x = as_int8(n.inputs[0]);
    return emit_softmax_s8(n, x, qparams(x), int8_output(n.outputs[0], qy), qy);
  }

  // Whether Softmax (or QLinearSoftmax) n normalizes along its input's last axis.
  bool softmax_s8_ok(const Node& n) {
    const Shape& s = g_.tensor(n.inputs[0]).shape;
    const int64_t r = static_cast<int64_t>(s.size());
    const int64_t opset = n.op == "QLinearSoftmax" ? n.get_int("opset", 13) : g_.opset;
    const int64_t axis = n.get_int("axis", opset < 13 ? 1 : -1);
    if (r == 0 || (axis != -1 && axis != r - 1)) return refuse("softmax over an axis other than the last");
    return true;
  }

  // Softmax n along the last axis of int8 x into int8 y, integer-only: exp(-scale d) for each
  // difference d from the row's maximum in a table.
  bool emit_softmax_s8(const Node& n, const std::string& x, QParams qx, const std::string& y, QParams qy) {
    if (!softmax_s8_ok(n)) return false;
    const double inv_scale = std::round(65536.0 / qy.scale);
    if (!(inv_scale >= 1 && inv_scale < 2147483648.0)) return refuse("its output scale has no int8 softmax");
    std::vector<uint16_t> table(256);
    for (int d = 0; d < 256; ++d) table[d] = uint16_t(std::lround(65535.0 * std::exp(-double(qx.scale) * d)));
    Node q;
    q.name = n.name, q.domain = "tinyc", q.op = "SoftmaxS8";
    set_int(q, "tinyc_output_zero_point", qy.zero_point);
    set_int(q, "tinyc_inv_output_scale", int64_t(inv_scale));
    q.inputs = {x, constant(n.name + "/exp_table", DType::UInt16, {256}, table)};
    q.outputs = {y};
    g_.nodes.push_back(q);
    return true;
  }

  // Concat: every input requantized to the output's parameters (a plain copy where they agree).
  bool quantize_concat(Node& n) {
    if (n.op != "Concat" || n.inputs.size() > 16 || !has_range(n.outputs[0])) return false;
    for (const auto& in : n.inputs)
      if (g_.is_const(in) || !has_range(in) || g_.tensor(in).dtype != DType::Float) return false;
    const QParams y = activation_qparams(ranges_.at(n.outputs[0]));
    std::vector<std::string> xs;
    std::vector<QParams> qxs;
    for (const auto& in : n.inputs) xs.push_back(as_int8(in)), qxs.push_back(qparams(xs.back()));
    emit_concat_s8(n, xs, qxs, int8_output(n.outputs[0], y), y);
    return true;
  }

  // Concat n of int8 tensors xs into int8 y, each input requantized to y's parameters (a plain
  // copy where they agree).
  void emit_concat_s8(const Node& n, const std::vector<std::string>& xs, const std::vector<QParams>& qxs,
                      const std::string& y, QParams qy) {
    Node q = n;
    q.domain = "tinyc", q.op = "ConcatS8";
    Attr zp, mult, shift;
    zp.kind = mult.kind = shift.kind = Attr::Ints;
    for (const QParams& x : qxs) {
      int32_t m = 0, s = 0;
      if (x.scale != qy.scale || x.zero_point != qy.zero_point) quantize_multiplier(double(x.scale) / qy.scale, &m, &s);
      zp.ints.push_back(x.zero_point), mult.ints.push_back(m), shift.ints.push_back(s);
    }
    q.attrs["tinyc_zero_points"] = zp, q.attrs["tinyc_multipliers"] = mult, q.attrs["tinyc_shifts"] = shift;
    set_int(q, "tinyc_output_zero_point", qy.zero_point);
    q.inputs = xs;
    q.outputs = {y};
    g_.nodes.push_back(q);
  }

  bool quantize_node(Node& n) {
    if (n.op == "LSTM" || n.op == "GRU" || n.op == "RNN")
      return refuse("a recurrent cell: its state passes through every time step, where int8 rounding would "
                    "compound, so it stays float");
    const bool done = quantize_linear_layer(n) || quantize_conv_transpose(n) || quantize_batch_norm(n) || quantize_constant_affine(n) || quantize_lookup(n) || quantize_prelu(n) || ((n.op == "Add" || n.op == "Sub") && quantize_add(n)) || quantize_mul(n) || quantize_matmul(n) ||
                      quantize_same_scale(n) || quantize_reduce_mean(n) || quantize_softmax(n) || quantize_concat(n);
    if (done) summary_.int8_layers.push_back(n.name);
    return done;
  }
};

}  // namespace

static void drop_unused_tensors(Graph& g) {
  std::set<std::string> used(g.outputs.begin(), g.outputs.end());
  used.insert(g.inputs.begin(), g.inputs.end());
  for (const Node& n : g.nodes) {
    used.insert(n.inputs.begin(), n.inputs.end());
    used.insert(n.outputs.begin(), n.outputs.end());
  }
  for (auto it = g.tensors.begin(); it != g.tensors.end();)
    it = used.count(it->first) ? std::next(it) : g.tensors.erase(it);
}

// int8 Transposes between channels-last and NCHW next to convolutions, as tf2onnx writes every
// TFLite-born model and ONNX Runtime's quantizer keeps them (Transpose, Conv, Relu, Transpose back):
// a ConvS8 reads a channels-last input itself when the Transpose to NCHW feeds only convolutions
// (their weights reordered to [M, k..., C/g]), and writes channels-last when only a Transpose back
// reads its output. The int8 copies go.
static void fold_conv_transposes(Graph& g) {
  std::map<std::string, std::vector<Node*>> readers;
  for (Node& n : g.nodes)
    for (const std::string& i : n.inputs) readers[i].push_back(&n);
  const std::set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  auto set_flag = [](Node& n, const char* name) {
    Attr a;
    a.kind = Attr::Int, a.i = 1;
    n.attrs[name] = a;
  };
  for (Node& t : g.nodes) {
    const std::vector<int64_t> perm = t.get_ints("perm");  // (the int8 tensors have no shapes yet)
    const size_t r = perm.size();
    if (t.op != "Transpose" || r < 3 || outputs.count(t.outputs[0])) continue;
    std::vector<int64_t> to_first{0, static_cast<int64_t>(r) - 1}, to_last{0};
    for (size_t a = 1; a + 1 < r; ++a) to_first.push_back(static_cast<int64_t>(a)), to_last.push_back(static_cast<int64_t>(a + 1));
    to_last.push_back(1);
    Node* conv = nullptr;
    for (Node& n : g.nodes)
      if (n.op == "ConvS8" && n.outputs[0] == t.inputs[0]) conv = &n;
    if (perm == to_last && conv && readers[conv->outputs[0]].size() == 1 && !outputs.count(conv->outputs[0]) &&
        !conv->get_int("tinyc_channels_last_out", 0)) {
      set_flag(*conv, "tinyc_channels_last_out");
      g.tensors.erase(conv->outputs[0]);
      conv->outputs[0] = t.outputs[0];
      t.op.clear();  // removed below
      continue;
    }
    const std::vector<Node*>& users = readers[t.outputs[0]];
    bool convs = perm == to_first && !users.empty();
    for (const Node* u : users)
      convs = convs && u->op == "ConvS8" && u->inputs[0] == t.outputs[0] && !u->get_int("tinyc_channels_last", 0) &&
              std::count(u->inputs.begin(), u->inputs.end(), t.outputs[0]) == 1;
    if (!convs) continue;
    for (Node* u : users) {
      const Tensor w = g.tensor(u->inputs[1]);
      const int64_t m = w.shape[0], cg = w.shape[1];
      Tensor last = w;
      last.name = w.name + "/channels_last";
      reorder_conv_weights(w.as<int8_t>(), m, cg, num_elements(w.shape) / (m * cg), true, last.as<int8_t>());
      g.tensors[last.name] = last;
      u->inputs[1] = last.name;
      u->inputs[0] = t.inputs[0];
      set_flag(*u, "tinyc_channels_last");
    }
    t.op.clear();
  }
  g.nodes.erase(std::remove_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op.empty(); }), g.nodes.end());
}

QuantizeSummary lower_qdq(Graph& g) {
  const bool pre_quantized = std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
    return n.op == "QuantizeLinear" || n.op == "DequantizeLinear" || n.domain == "com.microsoft" ||
           n.op.rfind("QLinear", 0) == 0 || n.op == "ConvInteger" || n.op == "MatMulInteger";
  });
  const Ranges none;
  QuantizeSummary s = Quantizer(g, none, {}).lower_qdq();
  s.pre_quantized = pre_quantized;
  // DequantizeLinear nodes that fed only the absorbed layers are dead now.
  std::set<std::string> read(g.outputs.begin(), g.outputs.end());
  for (const Node& n : g.nodes) read.insert(n.inputs.begin(), n.inputs.end());
  std::vector<Node> kept;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    if (it->op == "DequantizeLinear" && !read.count(it->outputs[0])) continue;
    kept.push_back(*it);
  }
  g.nodes.assign(kept.rbegin(), kept.rend());
  fold_conv_transposes(g);
  drop_unused_tensors(g);
  // What still computes in float in a pre-quantized model: a float island between its
  // DequantizeLinear and QuantizeLinear nodes. Views of the float input or output have no code.
  if (pre_quantized) {
    static const std::set<std::string> views = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
    for (const Node& n : g.nodes) {
      if (n.op == "QuantizeLinear" || n.op == "DequantizeLinear" || (n.domain.empty() && views.count(n.op))) continue;
      const bool on_float = std::any_of(n.outputs.begin(), n.outputs.end(), [&](const std::string& o) {
        return !o.empty() && g.tensor(o).dtype == DType::Float;
      });
      if (!on_float) continue;
      s.float_layers.push_back(n.name);
      s.float_reasons.push_back(fmt::format("{} between DequantizeLinear and QuantizeLinear has no int8 form here", n.op));
    }
  }
  return s;
}

QuantizeSummary quantize_int8(Graph& g, const Ranges& ranges, const QuantizeOptions& opts) {
  QuantizeSummary s = Quantizer(g, ranges, opts).run();
  fold_conv_transposes(g);
  drop_unused_tensors(g);  // the float weights of quantized layers
  return s;
}

}  // namespace tinyc
