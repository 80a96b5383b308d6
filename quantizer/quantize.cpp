#include "quantizer/quantize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "ops/evaluate.h"
#include "ops/op.h"
#include "runtime/tinyc/int8.h"

namespace tinyc {

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

  // A pre-quantized model: its QuantizeLinear and DequantizeLinear nodes give the parameters of
  // the tensors they quantize and dequantize, and the graph between them is then quantized as a
  // calibrated one is, with those parameters instead of calibrated ranges, the model's own integer
  // weights, and ONNX's rounding (float scale, round half to even) so results follow ONNX Runtime.
  QuantizeSummary lower_qdq() {
    pre_quantized_ = true;
    uint8_to_int8(g_.nodes);
    for (const Node& n : g_.nodes)
      if (QParams p; n.op == "QuantizeLinear" && scalar_params(n, &p)) fixed_.emplace(n.inputs[0], p);
    return run();
  }

  // Where a node that knows zero points reads or writes quantized data: (data input, its zero
  // point input) pairs, and the zero point input of output 0 (-1: none).
  struct ZeroPoints {
    std::vector<std::pair<size_t, size_t>> in;
    int out = -1;
  };
  static ZeroPoints zero_points(const Node& n) {
    const std::string& op = n.op;
    const bool ms = n.domain == "com.microsoft";
    if (n.domain.empty() && op == "QuantizeLinear") return {{}, 2};
    if (n.domain.empty() && op == "DequantizeLinear") return {{{0, 2}}, -1};
    if ((n.domain.empty() && (op == "QLinearConv" || op == "QLinearMatMul")) || (ms && (op == "QLinearAdd" || op == "QLinearMul")))
      return {{{0, 2}, {3, 5}}, 7};
    if (ms && op == "QGemm") return {{{0, 2}, {3, 5}}, n.inputs.size() > 8 ? 8 : -1};
    if (ms && (op == "QLinearAveragePool" || op == "QLinearGlobalAveragePool" || op == "QLinearLeakyRelu" ||
               op == "QLinearSigmoid" || op == "QLinearSoftmax"))
      return {{{0, 2}}, 4};
    ZeroPoints z;
    if (ms && op == "QLinearConcat") {  // y_scale, y_zero_point, then (x, x_scale, x_zero_point)...
      z.out = 1;
      for (size_t i = 2; i + 2 < n.inputs.size(); i += 3) z.in.push_back({i, i + 2});
    }
    return z;
  }

  // uint8 quantization (ONNX Runtime's QUInt8) is int8 with the values and the zero point moved
  // by 128: the same real numbers, and the same integer arithmetic on x - zero_point. Every uint8
  // tensor that only nodes knowing its zero point make and read (QuantizeLinear, DequantizeLinear,
  // the QLinear operators) becomes int8, with those nodes' zero points, so the int8 patterns and
  // kernels serve it; a graph input or output among them keeps its uint8 form beside an int8 twin.
  void uint8_to_int8(std::vector<Node>& nodes) {
    auto u8 = [&](const std::string& t) { return !t.empty() && g_.tensor(t).dtype == DType::UInt8; };
    auto u8_const = [&](const Node& n, int i) {
      return i >= 0 && size_t(i) < n.inputs.size() && g_.is_const(n.inputs[size_t(i)]) && u8(n.inputs[size_t(i)]);
    };
    // The uint8 data each node reads or writes with a zero point; every other uint8 tensor stays.
    std::set<std::string> stays;
    std::vector<std::vector<std::string>> data(nodes.size());
    for (size_t k = 0; k < nodes.size(); ++k) {
      const Node& n = nodes[k];
      const ZeroPoints z = zero_points(n);
      std::set<size_t> zps;
      for (const auto& [d, zp] : z.in) zps.insert(zp);
      if (z.out >= 0) zps.insert(size_t(z.out));
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        if (!u8(n.inputs[i]) || zps.count(i)) continue;
        const bool with_zp = std::any_of(z.in.begin(), z.in.end(), [&](const auto& p) { return p.first == i && u8_const(n, int(p.second)); });
        (with_zp ? data[k].push_back(n.inputs[i]) : void(stays.insert(n.inputs[i])));
      }
      for (size_t o = 0; o < n.outputs.size(); ++o) {
        if (!u8(n.outputs[o])) continue;
        (o == 0 && u8_const(n, z.out) ? data[k].push_back(n.outputs[o]) : void(stays.insert(n.outputs[o])));
      }
    }
    // A node changes with all its uint8 data or not at all.
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& d : data)
        if (std::any_of(d.begin(), d.end(), [&](const std::string& t) { return stays.count(t); }))
          for (const auto& t : d) changed = stays.insert(t).second || changed;
    }
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
    // uint8 graph inputs and outputs keep their type: a byte table moves each to or from an int8
    // twin (the same real values), which the nodes read and write instead.
    std::map<std::string, std::string> twin;
    std::vector<Node> first, last;
    auto params_of = [&](const Node& n, size_t zp) {  // (x, x_scale, x_zero_point): x's parameters, if known
      Quantization q;
      const std::string& scale = n.inputs[zp - 1];
      const std::vector<int64_t> z = g_.tensor(n.inputs[zp]).ints();
      if (scale.empty() || !g_.is_const(scale) || num_elements(g_.tensor(scale).shape) != 1 || z.size() != 1) return q;
      q.scale = {float(g_.tensor(scale).floats().at(0))};
      q.zero_point = {int32_t(z[0])};
      return q;
    };
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (data[k].empty() || std::any_of(data[k].begin(), data[k].end(), [&](const std::string& t) { return stays.count(t); }))
        continue;
      const ZeroPoints z = zero_points(nodes[k]);
      for (const auto& [d, zp] : z.in) {
        const std::string& x = nodes[k].inputs[d];
        if (!u8(x) || g_.is_const(x) || twin.count(x) || !std::count(g_.inputs.begin(), g_.inputs.end(), x)) continue;
        g_.tensor(x).quant = params_of(nodes[k], zp);
        twin[x] = fresh(x + "/int8");
        g_.tensor(twin[x]).quant = moved_by_128(g_.tensor(x).quant);
        first.push_back(byte_move(x, twin[x], DType::Int8));
      }
      const std::string& y = nodes[k].outputs[0];
      if (u8_const(nodes[k], z.out) && std::count(g_.outputs.begin(), g_.outputs.end(), y) && !twin.count(y)) {
        g_.tensor(y).quant = params_of(nodes[k], size_t(z.out));
        twin[y] = fresh(y + "/int8");
        g_.tensor(twin[y]).quant = moved_by_128(g_.tensor(y).quant);
        last.push_back(byte_move(twin[y], y, DType::UInt8));
      }
    }
    std::set<std::string> changes;
    for (size_t k = 0; k < nodes.size(); ++k) {
      Node& n = nodes[k];
      if (data[k].empty() || std::any_of(data[k].begin(), data[k].end(), [&](const std::string& t) { return stays.count(t); }))
        continue;
      const ZeroPoints z = zero_points(n);
      for (const auto& [d, zp] : z.in)
        if (u8(n.inputs[d])) {
          if (g_.is_const(n.inputs[d])) n.inputs[d] = int8_twin(n.inputs[d]);
          n.inputs[zp] = int8_twin(n.inputs[zp]);
        }
      if (u8_const(n, z.out)) {
        n.inputs[size_t(z.out)] = int8_twin(n.inputs[size_t(z.out)]);
        changes.insert(n.outputs[0]);
      }
    }
    for (const auto& t : changes) g_.tensor(t).dtype = DType::Int8;
    for (Node& n : nodes) {
      for (auto& x : n.inputs) x = twin.count(x) ? twin.at(x) : x;
      for (auto& x : n.outputs) x = twin.count(x) ? twin.at(x) : x;
    }
    for (const auto& [u, t] : twin) g_.tensor(t).dtype = DType::Int8, g_.tensor(t).shape = g_.tensor(u).shape;
    nodes.insert(nodes.begin(), first.begin(), first.end());
    nodes.insert(nodes.end(), last.begin(), last.end());
  }

  static Quantization moved_by_128(Quantization q) {  // a uint8 tensor's parameters for its int8 twin
    for (int32_t& z : q.zero_point) z -= 128;
    return q;
  }

  // LookupS8 from uint8 bytes to int8 ones or back (to: the output's type): each value moved by
  // 128, the zero point with it.
  Node byte_move(const std::string& from, const std::string& to, DType type) {
    std::vector<int8_t> table(256);  // indexed by the input byte read as int8, plus 128
    for (int i = 0; i < 256; ++i) table[size_t(i)] = type == DType::Int8 ? int8_t(((i + 128) & 255) - 128) : int8_t(uint8_t(i));
    Node m;
    m.name = to + "/bytes", m.domain = "tinyc", m.op = "LookupS8";
    const std::string t = constant(to + "/table", DType::Int8, {256}, table);
    g_.tensor(t).dtype = type;  // (the same bytes)
    m.inputs = {from, t}, m.outputs = {to};
    m.attrs["tinyc_function"].kind = Attr::String, m.attrs["tinyc_function"].s = "Identity";
    return m;
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
      if (largest >= (int64_t(1) << (30 - (onnx_rounding_ ? 0 : std::max(sh, 0))))) return false;
    }
    Node layer = n;  // the float layer emit_linear_s8 reads its form from
    layer.op = conv ? "Conv" : "Gemm";
    layer.inputs = {n.inputs[0], n.inputs[3]};
    if (!conv) layer.attrs.clear();
    emit_linear_s8(layer, c, n.inputs[0], qx, n.outputs[0], -128, 127, onnx_rounding_);
    set_qparams(n.inputs[0], qx);
    set_qparams(n.outputs[0], qy);
    return true;
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
    emit_linear_s8(conv, c, x4, qx, y4, lo, hi, onnx_rounding);
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
    const QParams qy = target(n.outputs[0]);
    const std::string x = as_int8(n.inputs[1 - k]);
    const size_t before = g_.nodes.size();
    if (emit_channel_affine_s8(n, x, s, qparams(x), scale, shift, int8_output(n.outputs[0], qy), qy, -128, 127, onnx_rounding_, axis))
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
    const QParams qy = target(n.outputs[0]);
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
    Node q;
    q.name = n.name, q.domain = "tinyc", q.op = "PReluS8";
    set_int(q, "tinyc_axis", int64_t(axis));
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
    const QParams qy = target(n.outputs[0]);
    int32_t lo, hi;
    if (!activation_range(n, qy, &lo, &hi)) return false;
    const Shape& s = g_.tensor(n.inputs[0]).shape;
    if (s.size() < 2 || s[1] != int64_t(gamma.size())) return false;
    const std::string x = as_int8(n.inputs[0]);
    const size_t before = g_.nodes.size();
    if (emit_channel_affine_s8(n, x, s, qparams(x), scale, shift, int8_output(n.outputs[0], qy), qy, lo, hi, onnx_rounding_))
      return true;
    g_.nodes.resize(before);
    int8_.erase(n.outputs[0]);
    summary_.activations.pop_back();
    return false;
  }

  QuantizeSummary run() {
    for (const auto& i : g_.inputs)
      if (!pre_quantized_ || g_.tensor(i).dtype == DType::Float) float_.insert(i);
    std::vector<Node> nodes = std::move(g_.nodes);
    g_.nodes.clear();
    for (const Node& n : nodes)
      if (n.op == "LSTM" || n.op == "GRU" || n.op == "RNN") recurrent_inputs_.insert(n.inputs[0]);
    static const std::set<std::string> views = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
    for (Node& n : nodes) {
      why_.clear();
      for (auto& in : n.inputs)
        if (alias_.count(in)) in = alias_.at(in);
      if (pre_quantized_ && lower_quantized_node(n)) continue;
      if (!quantize_node(n)) {
        for (auto& in : n.inputs)
          if (!in.empty() && !g_.is_const(in)) in = as_float(in);
        for (const auto& o : n.outputs)  // (a pre-quantized model's integers stay integers)
          if (!pre_quantized_ || g_.tensor(o).dtype == DType::Float) float_.insert(o);
        g_.nodes.push_back(n);
        // (A pre-quantized model's own conversions, and views of its float input, are not layers.)
        if (pre_quantized_ && (n.op == "QuantizeLinear" || n.op == "DequantizeLinear" || views.count(n.op))) continue;
        summary_.float_layers.push_back(n.name);
        summary_.float_reasons.push_back(why_.empty() ? fmt::format("no int8 kernel for {}", n.op) : why_);
      }
    }
    for (const auto& o : g_.outputs) {
      if (!int8_.count(o) && has_range(o)) quantize_float_output(o);
      if (int8_.count(o) || float_.count(o)) as_float(o);  // (not an int8 output of a pre-quantized model)
    }
    if (onnx_rounding_)  // averages rounded half to even, as ONNX Runtime's QLinear pools
      for (Node& n : g_.nodes)
        if (n.op == "AvgPoolS8") set_int(n, "tinyc_round_half_even", 1);
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
  // A pre-quantized model (lower_qdq): the parameters its QuantizeLinear nodes give the float
  // tensors they read, the int8 tensors that are another's twin, and ONNX's rounding.
  std::map<std::string, QParams> fixed_;
  std::map<std::string, std::string> alias_;
  bool pre_quantized_ = false;
  const bool onnx_rounding_ = opts_.requantization == Requantization::Onnx;

  bool has_range(const std::string& t) const { return ranges_.count(t) || fixed_.count(t) || int8_.count(t); }
  // The int8 parameters of float tensor t: the model's own, or those of its calibrated range.
  QParams target(const std::string& t) const {
    const auto f = fixed_.find(t);
    return f != fixed_.end() ? f->second : activation_qparams(ranges_.at(t));
  }

  // The scalar scale and int8 zero point of QuantizeLinear or DequantizeLinear m, if it has them.
  bool scalar_params(const Node& m, QParams* q) const {
    if (!m.domain.empty() || m.inputs.size() < 3 || !g_.is_const(m.inputs[1]) || !g_.is_const(m.inputs[2])) return false;
    const Tensor &sc = g_.tensor(m.inputs[1]), &zp = g_.tensor(m.inputs[2]);
    if (num_elements(sc.shape) != 1 || num_elements(zp.shape) != 1 || sc.dtype != DType::Float || zp.dtype != DType::Int8)
      return false;
    *q = {sc.as<float>()[0], zp.as<int8_t>()[0]};
    return true;
  }

  // A pre-quantized model's own integer nodes: a DequantizeLinear makes its int8 input the int8
  // version of its output; a QuantizeLinear of a tensor already int8 with its parameters is that
  // tensor (else a requantization, or the QuantizeLinear itself where the tensor is float);
  // QLinearConv and QLinearMatMul run on the fast kernels; other nodes on integers run as they
  // are. False: the node is a float one, for quantize_node.
  bool lower_quantized_node(const Node& n) {
    QParams p;
    const bool scalar = scalar_params(n, &p);
    if (n.op == "DequantizeLinear" && scalar && !g_.is_const(n.inputs[0]) && !float_.count(n.inputs[0]) &&
        !int8_.count(n.inputs[0])) {
      int8_[n.outputs[0]] = n.inputs[0];
      set_qparams(n.inputs[0], p);
      return true;
    }
    if (n.op == "QuantizeLinear" && scalar) {
      const std::string& t = n.inputs[0];
      const auto known = int8_.find(t);
      if (known == int8_.end()) {  // t is float here
        Node q = n;
        q.inputs[0] = as_float(t);
        g_.nodes.push_back(q);
        int8_[t] = n.outputs[0];
        set_qparams(n.outputs[0], p);
        return true;
      }
      const QParams k = qparams(known->second);
      if (!same(k, p)) {
        alias_[n.outputs[0]] = requantize(n, known->second, k, p);
        return true;
      }
      if (std::count(g_.outputs.begin(), g_.outputs.end(), n.outputs[0])) {
        rename(known->second, n.outputs[0]);
        set_qparams(n.outputs[0], p);
      } else {
        alias_[n.outputs[0]] = known->second;
      }
      return true;
    }
    if ((n.op == "QLinearConv" || n.op == "QLinearMatMul") && n.domain.empty() && emit_qlinear_s8(n)) {
      summary_.int8_layers.push_back(n.name);
      return true;
    }
    const bool on_integers = std::any_of(n.inputs.begin(), n.inputs.end(), [&](const std::string& t) {
      return !t.empty() && !g_.is_const(t) && !float_.count(t) && !int8_.count(t);
    });
    if (!on_integers) return false;
    g_.nodes.push_back(n);
    bool on_float = false;
    for (const auto& o : n.outputs)
      if (!o.empty() && g_.tensor(o).dtype == DType::Float) float_.insert(o), on_float = true;
    if (n.op == "DequantizeLinear") {
    } else if (on_float) {
      summary_.float_layers.push_back(n.name);
      summary_.float_reasons.push_back(fmt::format("{} computes in float on integers", n.op));
    } else {
      summary_.int8_layers.push_back(n.name);
    }
    return true;
  }

  // Every reference to int8 tensor `from` in the new graph refers to `to` instead.
  void rename(const std::string& from, const std::string& to) {
    for (Node& m : g_.nodes) {
      for (auto& x : m.inputs) x = x == from ? to : x;
      for (auto& x : m.outputs) x = x == from ? to : x;
    }
    for (auto& [t, q] : int8_)
      if (q == from) q = to;
    for (auto& a : summary_.activations)
      if (a.int8_tensor == from) a.int8_tensor = to;
  }

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
    const QParams q = target(t);
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
    return known != int8_.end() ? qparams(known->second) : target(t);
  }

  // The float tensor t, dequantized from its int8 version if only that exists.
  std::string as_float(const std::string& t) {
    if (float_.count(t) || g_.is_const(t) || !int8_.count(t)) return t;  // (or integers of a pre-quantized model)
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
    const QParams q = target(o);
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
    c->weights = quantize_weights(w, transposed, &sw, pre_quantized_, floor);
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
                      int32_t lo, int32_t hi, bool onnx_rounding) {
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
    const QParams y = target(n.outputs[0]);
    int32_t lo, hi;
    if (!activation_range(n, y, &lo, &hi))
      return refuse(fmt::format("its fused {} has no int8 clamp", n.get_string("tinyc_activation", "")));
    const QParams qx = input_qparams(n.inputs[0]);
    LinearS8 c;
    if (!linear_s8(layer, qx, y, onnx_rounding_, &c)) return false;
    const std::string x = as_int8(n.inputs[0]);
    emit_linear_s8(layer, c, x, qparams(x), int8_output(n.outputs[0], y), lo, hi, onnx_rounding_);
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
    const Quantization& wq = w.quant;  // a pre-quantized model's integers: per tensor, or per axis 1
    if (wq.scale.size() == 1 || (wq.axis == 1 && int64_t(wq.scale.size()) == mg)) {
      Quantization& by_output = g_.tensor(conv.inputs[1]).quant;
      for (int64_t o = 0; o < groups * mg; ++o) {
        by_output.scale.push_back(wq.scale[wq.scale.size() == 1 ? 0 : size_t(o % mg)]);
        by_output.zero_point.push_back(wq.zero_point[wq.zero_point.size() == 1 ? 0 : size_t(o % mg)]);
      }
      if (wq.scale.size() == 1) by_output.scale.resize(1), by_output.zero_point.resize(1);
    }
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
    const QParams y = target(n.outputs[0]);
    int32_t lo, hi;
    if (!activation_range(n, y, &lo, &hi))
      return refuse(fmt::format("its fused {} has no int8 clamp", n.get_string("tinyc_activation", "")));
    const QParams qa = input_qparams(n.inputs[0]), qb = input_qparams(n.inputs[1]);
    if (!add_s8_fits(qa, qb, y)) return false;
    return emit_add_s8(n, as_int8(n.inputs[0]), qa, as_int8(n.inputs[1]), qb, int8_output(n.outputs[0], y), y, lo, hi);
  }

  // The inputs of a QLinear operator: each int8 input of xs with its scale and zero point, then
  // the output's (scalar constants): a, a_scale, a_zero_point, [b, ...,] y_scale, y_zero_point.
  std::vector<std::string> qlinear_inputs(const Node& n, std::vector<std::string> xs, QParams qy) {
    std::vector<std::string> in;
    xs.push_back("");  // then the output's
    for (const std::string& t : xs) {
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
    const QParams qy = target(n.outputs[0]);
    const std::vector<std::string> in = qlinear_inputs(n, {as_int8(n.inputs[0]), as_int8(n.inputs[1])}, qy);
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
    const QParams qy = target(n.outputs[0]);
    const std::vector<std::string> in = qlinear_inputs(n, {as_int8(n.inputs[0]), as_int8(n.inputs[1])}, qy);
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
    Node q;  // (its multipliers: lower_add_s8, from the tensors' parameters)
    q.name = n.name, q.domain = "tinyc", q.op = "AddS8";
    if (n.op == "Sub") set_int(q, "tinyc_subtract", 1);  // a - b
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
    if (n.op == "Relu" && fixed_.count(n.outputs[0]) && !same(fixed_.at(n.outputs[0]), qx)) {
      // A model's own output parameters (PyTorch quantizes a Relu's output on its own): max(x, 0)
      // and the requantization in one table.
      const QParams qy = fixed_.at(n.outputs[0]);
      return emit_lookup_s8(n, x, qx, int8_output(n.outputs[0], qy), qy);
    }
    Node q = n;
    q.inputs[0] = x;
    if (n.op == "Relu") {
      q.domain = "tinyc", q.op = "ReluS8";  // max(x, zero point)
      q.attrs.clear();
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
    std::vector<std::pair<std::string, std::string>> moved;  // a model's own output parameters differ
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      const std::string& o = n.outputs[i];
      if (o.empty()) continue;
      if (fixed_.count(o) && !same(fixed_.at(o), qx) && avg) {  // the kernel requantizes (average_s8)
        q.outputs[i] = int8_output(o, fixed_.at(o));
      } else if (fixed_.count(o) && !same(fixed_.at(o), qx)) {
        q.outputs[i] = fresh(o + "/same_scale");
        set_qparams(q.outputs[i], qx);
        moved.emplace_back(o, q.outputs[i]);
      } else {
        q.outputs[i] = int8_output(o, qx);
      }
    }
    g_.nodes.push_back(q);
    for (const auto& [o, y] : moved) int8_[o] = requantize(n, y, qx, fixed_.at(o));
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
    const QParams qy = fixed_.count(n.outputs[0]) ? fixed_.at(n.outputs[0]) : qx;  // (a model's own: requantized)
    const std::string view = fresh(n.outputs[0] + "/pool_in"), pooled = fresh(n.outputs[0] + "/pooled");
    set_qparams(view, qx), set_qparams(pooled, qy);
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
             int8_output(n.outputs[0], qy));
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
    return std::all_of(n.inputs.begin() + 1, n.inputs.end(), [&](const std::string& t) {
      return t.empty() || (n.op == "Clip" && g_.is_const(t));  // Clip's bounds as constant inputs (opset 11)
    });
  }

  // Calibrated: an elementwise function as a table between the int8 grids of input and output.
  bool quantize_lookup(Node& n) {
    if (!unary(n) || !has_range(n.inputs[0]) || !has_range(n.outputs[0])) return false;
    const std::string x = as_int8(n.inputs[0]);
    const QParams qy = target(n.outputs[0]);
    return emit_lookup_s8(n, x, qparams(x), int8_output(n.outputs[0], qy), qy);
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
      const QParams qy = target(n.outputs[0]);
      const std::string x = as_int8(n.inputs[0]);
      const QParams qx = qparams(x);
      const double ratio = std::round(65536.0 * qx.scale / qy.scale);
      if (!(ratio >= 1 && ratio < 8388608.0)) return refuse("its input and output scales are too far apart for int8");
      Node q;
      q.name = n.name, q.domain = "tinyc", q.op = "LogSoftmaxS8";
      q.inputs = {x, exp_table(n, qx)};
      q.outputs = {int8_output(n.outputs[0], qy)};
      g_.nodes.push_back(q);
      return true;
    }
    if (n.op != "Softmax" || !has_range(n.inputs[0]) || !softmax_s8_ok(n)) return false;
    const std::string x = as_int8(n.inputs[0]);
    if (onnx_rounding_ && has_range(n.outputs[0])) {
      // com.microsoft QLinearSoftmax, whose kernel does the float path's very operations: a
      // pre-quantized model keeps its references' integers.
      const QParams qy = target(n.outputs[0]);
      Node q;
      q.name = n.name, q.domain = "com.microsoft", q.op = "QLinearSoftmax";
      set_int(q, "opset", 13);
      q.inputs = qlinear_inputs(n, {x}, qy);
      q.outputs = {int8_output(n.outputs[0], qy)};
      g_.nodes.push_back(q);
      return true;
    }
    const QParams qy = fixed_.count(n.outputs[0]) ? fixed_.at(n.outputs[0]) : QParams{1.0f / 256.0f, -128};
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

  // The table of 65535 exp(-scale d) for each difference d from a row's maximum, of SoftmaxS8 and
  // LogSoftmaxS8 over x with parameters qx.
  std::string exp_table(const Node& n, QParams qx) {
    std::vector<uint16_t> table(256);
    for (int d = 0; d < 256; ++d) table[d] = uint16_t(std::lround(65535.0 * std::exp(-double(qx.scale) * d)));
    return constant(n.name + "/exp_table", DType::UInt16, {256}, table);
  }

  // Softmax n along the last axis of int8 x into int8 y, integer-only: exp(-scale d) for each
  // difference d from the row's maximum in a table.
  bool emit_softmax_s8(const Node& n, const std::string& x, QParams qx, const std::string& y, QParams qy) {
    if (!softmax_s8_ok(n)) return false;
    const double inv_scale = std::round(65536.0 / qy.scale);
    if (!(inv_scale >= 1 && inv_scale < 2147483648.0)) return refuse("its output scale has no int8 softmax");
    Node q;
    q.name = n.name, q.domain = "tinyc", q.op = "SoftmaxS8";
    q.inputs = {x, exp_table(n, qx)};
    q.outputs = {y};
    g_.nodes.push_back(q);
    return true;
  }

  // Concat: every input requantized to the output's parameters (a plain copy where they agree).
  bool quantize_concat(Node& n) {
    if (n.op != "Concat" || n.inputs.size() > 16 || !has_range(n.outputs[0])) return false;
    for (const auto& in : n.inputs)
      if (g_.is_const(in) || !has_range(in) || g_.tensor(in).dtype != DType::Float) return false;
    const QParams y = target(n.outputs[0]);
    std::vector<std::string> xs;
    std::vector<QParams> qxs;
    for (const auto& in : n.inputs) {
      xs.push_back(as_int8(in)), qxs.push_back(qparams(xs.back()));
      if (onnx_rounding_ && !same(qxs.back(), y)) xs.back() = requantize(n, xs.back(), qxs.back(), y), qxs.back() = y;
    }
    emit_concat_s8(n, xs, qxs, int8_output(n.outputs[0], y));
    return true;
  }

  static bool same(QParams a, QParams b) { return a.scale == b.scale && a.zero_point == b.zero_point; }

  // int8 x (parameters qx) on the grid of qy, rounded as DequantizeLinear -> QuantizeLinear
  // round (a table): the new tensor.
  std::string requantize(const Node& n, const std::string& x, QParams qx, QParams qy) {
    Node identity;
    identity.op = "Identity", identity.name = fmt::format("{}/requantize", n.name), identity.inputs = {x};
    const std::string y = fresh(x + "/requantized");
    g_.tensor(y).dtype = DType::Int8, g_.tensor(y).shape = g_.tensor(x).shape, g_.tensor(y).has_shape = g_.tensor(x).has_shape;
    emit_lookup_s8(identity, x, qx, y, qy);
    set_qparams(y, qy);
    return y;
  }

  // Concat n of int8 tensors xs into int8 y, each input requantized to y's parameters (a plain
  // copy where they agree).
  void emit_concat_s8(const Node& n, const std::vector<std::string>& xs, const std::vector<QParams>& qxs,
                      const std::string& y) {
    Node q = n;
    q.domain = "tinyc", q.op = "ConcatS8";
    for (size_t k = 0; k < xs.size(); ++k) set_qparams(xs[k], qxs[k]);
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

QuantizeSummary lower_qdq(Graph& g, Requantization requantization) {
  const bool pre_quantized = std::any_of(g.nodes.begin(), g.nodes.end(), [](const Node& n) {
    return n.op == "QuantizeLinear" || n.op == "DequantizeLinear" || n.domain == "com.microsoft" ||
           n.op.rfind("QLinear", 0) == 0 || n.op == "ConvInteger" || n.op == "MatMulInteger";
  });
  if (!pre_quantized) return {};
  const Ranges none;
  QuantizeOptions opts;
  opts.requantization = requantization;
  QuantizeSummary s = Quantizer(g, none, opts).lower_qdq();
  s.pre_quantized = true;
  fold_conv_transposes(g);
  drop_unused_tensors(g);
  return s;
}

QuantizeSummary quantize_int8(Graph& g, const Ranges& ranges, const QuantizeOptions& opts) {
  QuantizeSummary s = Quantizer(g, ranges, opts).run();
  fold_conv_transposes(g);
  drop_unused_tensors(g);  // the float weights of quantized layers
  return s;
}

}  // namespace tinyc
