#include "codegen/emit_onnx.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <set>

#include "runtime/tinyc/int8.h"

namespace tinyc {
namespace {

constexpr int kMinOpset = 13;  // DequantizeLinear per axis (the weights' channels)

class Emitter {
 public:
  explicit Emitter(const Graph& g) : g_(g), opset_(std::max(g.opset, kMinOpset)) {
    for (const auto& entry : g.tensors) used_.insert(entry.first);
    gp_ = model_.mutable_graph();
  }

  std::string run() {
    model_.set_ir_version(8);
    model_.set_producer_name("tinyc");
    gp_->set_name(g_.name.empty() ? "tinyc" : g_.name);
    for (const auto& i : g_.inputs) value_info(gp_->add_input(), i, i);
    for (const Node& n : g_.nodes) emit(n);
    for (const auto& o : g_.outputs) value_info(gp_->add_output(), o, o);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset_);
    for (const auto& d : domains_) {
      auto* o = model_.add_opset_import();
      o->set_domain(d);
      o->set_version(1);
    }
    std::string bytes;
    model_.SerializeToString(&bytes);
    return bytes;
  }

 private:
  const Graph& g_;
  const int opset_;
  onnx::ModelProto model_;
  onnx::GraphProto* gp_;
  std::set<std::string> used_, node_names_, initialized_, domains_;
  std::map<std::string, std::string> dequantized_;  // int8 tensor -> its float form

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 0; used_.count(name); ++i) name = fmt::format("{}_{}", base, i);
    used_.insert(name);
    return name;
  }

  // The type and shape of tensor `of` under `name`.
  void value_info(onnx::ValueInfoProto* v, const std::string& name, const std::string& of) {
    const Tensor& t = g_.tensor(of);
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int>(t.dtype));
    auto* shape = tt->mutable_shape();
    for (int64_t d : t.shape) shape->add_dim()->set_dim_value(d);
  }

  void add_initializer(const std::string& name, DType dt, const Shape& shape, const void* data, size_t bytes) {
    auto* p = gp_->add_initializer();
    p->set_name(name);
    p->set_data_type(static_cast<int>(dt));
    for (int64_t d : shape) p->add_dims(d);
    p->set_raw_data(std::string(static_cast<const char*>(data), bytes));
  }

  // A constant of the graph, written once, under its own name.
  const std::string& initializer(const std::string& name) {
    if (initialized_.insert(name).second) {
      const Tensor& t = g_.tensor(name);
      add_initializer(name, t.dtype, t.shape, t.data.data(), t.data.size());
    }
    return name;
  }

  template <class T>
  std::string constant(const std::string& base, DType dt, const Shape& shape, const std::vector<T>& v) {
    const std::string name = fresh(base);
    add_initializer(name, dt, shape, v.data(), v.size() * sizeof(T));
    return name;
  }
  std::string scalar(const std::string& base, float v) { return constant(base, DType::Float, {}, std::vector<float>{v}); }

  onnx::NodeProto* node(const std::string& op, const std::string& name, const std::vector<std::string>& in,
                        const std::vector<std::string>& out, const std::string& domain = "") {
    auto* p = gp_->add_node();
    std::string unique = name;
    for (int i = 0; !node_names_.insert(unique).second; ++i) unique = fmt::format("{}_{}", name, i);
    p->set_name(unique);
    p->set_op_type(op);
    if (!domain.empty() && domain != "ai.onnx") p->set_domain(domain), domains_.insert(domain);
    for (const auto& i : in) p->add_input(i);
    for (const auto& o : out) p->add_output(o);
    return p;
  }

  static void set_attr(onnx::NodeProto* p, const std::string& name, int64_t v) {
    auto* a = p->add_attribute();
    a->set_name(name), a->set_type(onnx::AttributeProto::INT), a->set_i(v);
  }
  static void set_attr(onnx::NodeProto* p, const std::string& name, float v) {
    auto* a = p->add_attribute();
    a->set_name(name), a->set_type(onnx::AttributeProto::FLOAT), a->set_f(v);
  }
  static void set_attr(onnx::NodeProto* p, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = p->add_attribute();
    a->set_name(name), a->set_type(onnx::AttributeProto::INTS);
    for (int64_t i : v) a->add_ints(i);
  }

  // The node's ONNX attributes (tinyc's own, `tinyc_*`, say how tinyc runs it and are expressed
  // by the nodes around it instead).
  void copy_attrs(const Node& n, onnx::NodeProto* p) {
    for (const auto& [name, a] : n.attrs) {
      if (name.rfind("tinyc_", 0) == 0) continue;
      auto* out = p->add_attribute();
      out->set_name(name);
      switch (a.kind) {
        case Attr::Int: out->set_type(onnx::AttributeProto::INT), out->set_i(a.i); break;
        case Attr::Float: out->set_type(onnx::AttributeProto::FLOAT), out->set_f(a.f); break;
        case Attr::String: out->set_type(onnx::AttributeProto::STRING), out->set_s(a.s); break;
        case Attr::Ints:
          out->set_type(onnx::AttributeProto::INTS);
          for (int64_t v : a.ints) out->add_ints(v);
          break;
        case Attr::Floats:
          out->set_type(onnx::AttributeProto::FLOATS);
          for (float v : a.floats) out->add_floats(v);
          break;
        case Attr::Strings:
          out->set_type(onnx::AttributeProto::STRINGS);
          for (const auto& v : a.strings) out->add_strings(v);
          break;
        case Attr::TensorValue: {
          out->set_type(onnx::AttributeProto::TENSOR);
          auto* t = out->mutable_t();
          t->set_name(a.t->name);
          t->set_data_type(static_cast<int>(a.t->dtype));
          for (int64_t d : a.t->shape) t->add_dims(d);
          t->set_raw_data(std::string(a.t->data.begin(), a.t->data.end()));
          break;
        }
        default: throw ModelError(fmt::format("{}: attribute '{}' cannot be written to ONNX", n.label(), name));
      }
    }
  }

  // DequantizeLinear of an integer tensor by its quantization (a constant is written first).
  std::string dequantize(const std::string& x) {
    const auto known = dequantized_.find(x);
    if (known != dequantized_.end()) return known->second;
    const Tensor& t = g_.tensor(x);
    if (t.quant.empty()) throw ModelError(fmt::format("tensor '{}' has no quantization to write to ONNX", x));
    if (t.is_const) initializer(x);
    const Quantization& q = t.quant;
    const bool per_axis = q.scale.size() > 1;
    const Shape shape = per_axis ? Shape{static_cast<int64_t>(q.scale.size())} : Shape{};
    std::string zp;
    if (t.dtype == DType::Int32) {
      zp = constant(x + "/zero_point", DType::Int32, shape, q.zero_point);
    } else {
      std::vector<int8_t> z(q.zero_point.begin(), q.zero_point.end());
      zp = constant(x + "/zero_point", t.dtype, shape, z);
    }
    const std::string f = fresh(x + "/dequantized");
    auto* p = node("DequantizeLinear", x + "/dequantize", {x, constant(x + "/scale", DType::Float, shape, q.scale), zp}, {f});
    if (per_axis) set_attr(p, "axis", int64_t(q.axis));
    return dequantized_[x] = f;
  }

  // QuantizeLinear of float tensor f to int8 tensor y, by y's (per-tensor) quantization.
  void quantize(const std::string& f, const std::string& y) {
    const Quantization& q = g_.tensor(y).quant;
    if (q.empty()) throw ModelError(fmt::format("tensor '{}' has no quantization to write to ONNX", y));
    node("QuantizeLinear", y + "/quantize",
         {f, scalar(y + "/scale", q.scale[0]),  // (a uint8 zero point: the same byte)
          constant(y + "/zero_point", g_.tensor(y).dtype == DType::UInt8 ? DType::UInt8 : DType::Int8, {},
                   std::vector<int8_t>{int8_t(q.zero_point[0])})},
         {y});
  }

  // A tinyc int8 layer's output clamp [lo, hi] (a fused Relu or Clip) on its float result, before
  // it is quantized to y: Relu where it is one, else Clip at the grid values lo and hi stand for.
  std::string clamp(const Node& n, const std::string& f, const std::string& y) {
    const int64_t lo = n.get_int("tinyc_act_min", -128), hi = n.get_int("tinyc_act_max", 127);
    if (lo <= -128 && hi >= 127) return f;
    const Quantization& q = g_.tensor(y).quant;
    const int32_t zp = q.zero_point[0];
    const std::string out = fresh(y + "/clamped");
    if (lo == zp && hi >= 127) {
      node("Relu", n.name + "/relu", {f}, {out});
    } else {
      node("Clip", n.name + "/clip",
           {f, scalar(y + "/min", q.scale[0] * float(lo - zp)), scalar(y + "/max", q.scale[0] * float(hi - zp))}, {out});
    }
    return out;
  }

  // The float operator `op` over the dequantized int8 inputs, clamped and quantized to output 0.
  onnx::NodeProto* qdq(const Node& n, const std::string& op, std::vector<std::string> float_in, bool attrs = true) {
    const std::string& y = n.outputs[0];
    const std::string f = fresh(y + "/float");
    auto* p = node(op, n.name, float_in, {f});
    if (attrs) copy_attrs(n, p);
    quantize(clamp(n, f, y), y);
    return p;
  }

  // Int8 weights w (symmetric, per output channel) written as `values` in the order ONNX reads
  // them (tinyc's kernels hold some reordered), dequantized.
  std::string dequantized_weights(const Tensor& w, const std::vector<int8_t>& values) {
    const int64_t scales = static_cast<int64_t>(w.quant.scale.size());
    const Shape per = scales > 1 ? Shape{scales} : Shape{};
    const std::string wf = fresh(w.name + "/dequantized");
    auto* p = node("DequantizeLinear", w.name + "/dequantize",
                   {constant(w.name, DType::Int8, w.shape, values), constant(w.name + "/scale", DType::Float, per, w.quant.scale),
                    constant(w.name + "/zero_point", DType::Int8, per, std::vector<int8_t>(size_t(scales), 0))},
                   {wf});
    if (scales > 1) set_attr(p, "axis", int64_t(0));
    return wf;
  }

  // An integer bias as int32, for DequantizeLinear.
  std::vector<int32_t> bias_values(const Tensor& b) {
    std::vector<int32_t> v(static_cast<size_t>(num_elements(b.shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = b.dtype == DType::Int16 ? b.as<int16_t>()[i] : b.as<int32_t>()[i];
    return v;
  }
  std::string dequantized_bias(const Tensor& b, const std::vector<int32_t>& v) {
    const std::string name = constant(b.name, DType::Int32, b.shape, v);
    const std::string f = fresh(b.name + "/dequantized");
    auto* p = node("DequantizeLinear", b.name + "/dequantize",
                   {name, constant(b.name + "/scale", DType::Float, b.shape, b.quant.scale),
                    constant(b.name + "/zero_point", DType::Int32, b.shape, std::vector<int32_t>(v.size(), 0))},
                   {f});
    set_attr(p, "axis", int64_t(0));
    return f;
  }

  // Float `x` of rank r, channels-last as tinyc reads it: transposed to the NCHW the Conv expects
  // (or, back, NCHW to channels-last).
  std::string to_channels_first(const std::string& x, size_t r, const std::string& label, bool back = false) {
    std::vector<int64_t> perm{0};
    if (!back) perm.push_back(static_cast<int64_t>(r) - 1);
    for (size_t a = back ? 2 : 1; a + (back ? 0 : 1) < r; ++a) perm.push_back(static_cast<int64_t>(a));
    if (back) perm.push_back(1);
    const std::string out = fresh(x + (back ? "/nhwc" : "/nchw"));
    auto* a = node("Transpose", label + (back ? "/nhwc" : "/nchw"), {x}, {out})->add_attribute();
    a->set_name("perm"), a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : perm) a->add_ints(v);
    return out;
  }

  // A channels-last ConvS8 holds its weights as [M, k..., C/g] (reorder_conv_weights): put back.
  void conv_s8(const Node& n) {
    const size_t r = g_.tensor(n.inputs[0]).shape.size();
    std::string x = dequantize(n.inputs[0]), w = dequantize(n.inputs[1]);
    if (n.get_int("tinyc_channels_last", 0)) {
      x = to_channels_first(x, r, n.name);
      const Tensor& wt = g_.tensor(n.inputs[1]);
      const int64_t m = wt.shape[0], cg = wt.shape[1], k = num_elements(wt.shape) / (m * cg);
      std::vector<int8_t> first(static_cast<size_t>(num_elements(wt.shape)));
      reorder_conv_weights(wt.as<int8_t>(), m, cg, k, false, first.data());
      w = dequantized_weights(wt, first);
    }
    const Tensor& b = g_.tensor(n.inputs[2]);
    const std::vector<std::string> in{x, w, dequantized_bias(b, bias_values(b))};
    if (!n.get_int("tinyc_channels_last_out", 0)) {
      qdq(n, "Conv", in);
      return;
    }
    const std::string& y = n.outputs[0];
    const std::string f = fresh(y + "/float");
    copy_attrs(n, node("Conv", n.name, in, {f}));
    quantize(clamp(n, to_channels_first(f, r, n.name, true), y), y);
  }

  // FullyConnectedS8 holds its weights packed and the input's zero point folded into the bias:
  // both undone, so the Gemm reads the weights and bias of the layer.
  void fully_connected_s8(const Node& n) {
    const Tensor &w = g_.tensor(n.inputs[1]), &b = g_.tensor(n.inputs[2]);
    const int32_t units = static_cast<int32_t>(w.shape[0]), depth = static_cast<int32_t>(w.shape[1]);
    const size_t count = static_cast<size_t>(units) * static_cast<size_t>(depth);
    std::vector<uint32_t> from(count), order(count);
    std::iota(from.begin(), from.end(), 0u);
    pack_fully_connected_s8(from.data(), units, depth, order.data());
    std::vector<int8_t> rows(count);
    for (size_t i = 0; i < count; ++i) rows[order[i]] = w.as<int8_t>()[i];
    std::vector<int32_t> bias = bias_values(b);
    const int32_t zx = g_.tensor(n.inputs[0]).quant.zero_point.at(0);
    for (int32_t u = 0; u < units; ++u)
      bias[u] = static_cast<int32_t>(fold_input_zero_point(bias[u], &rows[size_t(u) * depth], depth, -zx));
    const std::string wf = dequantized_weights(w, rows);
    set_attr(qdq(n, "Gemm", {dequantize(n.inputs[0]), wf, dequantized_bias(b, bias)}, false), "transB", int64_t(1));
  }

  void lookup_s8(const Node& n) {
    const std::string fn = n.get_string("tinyc_function", "");
    const std::string x = dequantize(n.inputs[0]);
    if (fn == "HardSwish" && opset_ < 14) {  // x * HardSigmoid(x) with HardSwish's constants
      const std::string h = fresh(n.outputs[0] + "/hard_sigmoid");
      auto* p = node("HardSigmoid", n.name + "/hard_sigmoid", {x}, {h});
      set_attr(p, "alpha", 1.0f / 6.0f);
      set_attr(p, "beta", 0.5f);
      qdq(n, "Mul", {x, h}, false);
    } else {
      std::vector<std::string> in{x};  // x op c: the constant too
      if (n.has("tinyc_operand"))
        in.push_back(constant(n.name + "/operand", DType::Float, {}, std::vector<float>{n.get_float("tinyc_operand", 0)}));
      qdq(n, fn, in);  // with the function's attributes (LeakyRelu's alpha...)
    }
  }

  // Whether node n of the graph's opset has another definition at the emitted one.
  bool changed_since(const Node& n) const {
    if (opset_ == g_.opset || !(n.domain.empty() || n.domain == "ai.onnx")) return false;
    const auto* before = onnx::OpSchemaRegistry::Schema(n.op, g_.opset, "");
    const auto* now = onnx::OpSchemaRegistry::Schema(n.op, opset_, "");
    return before && now && before->since_version() != now->since_version();
  }

  // Node p (of the graph's opset) in the emitted opset, by ONNX's own version converter on a model
  // of that one node.
  void upgrade(const Node& n, const onnx::NodeProto& p) {
    onnx::ModelProto m;
    m.set_ir_version(7);
    m.add_opset_import()->set_version(g_.opset);
    auto* g = m.mutable_graph();
    g->set_name("node");
    *g->add_node() = p;
    for (int k = 0; k < p.input_size(); ++k)
      if (!p.input(k).empty()) value_info(g->add_input(), p.input(k), n.inputs[k]);
    for (int k = 0; k < p.output_size(); ++k) value_info(g->add_output(), p.output(k), n.outputs[k]);
    onnx::ModelProto up;
    try {
      up = onnx::version_conversion::ConvertVersion(m, opset_);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      throw ModelError(fmt::format("{}: cannot write it at opset {} for --emit-onnx: {}", n.label(), opset_,
                                   msg.substr(0, msg.find('\n'))));
    }
    for (const auto& t : up.graph().initializer()) *gp_->add_initializer() = t, used_.insert(t.name());
    for (auto q : up.graph().node()) {
      for (int i = 0; !node_names_.insert(q.name()).second; ++i) q.set_name(fmt::format("{}_{}", p.name(), i));
      *gp_->add_node() = q;
    }
  }

  // An operator as it is in the model, with a fused activation as the node after it.
  void standard(const Node& n) {
    std::vector<std::string> in;
    for (const auto& i : n.inputs) in.push_back(!i.empty() && g_.is_const(i) ? initializer(i) : i);
    if (n.op == "Conv" && n.get_int("tinyc_channels_last", 0)) in[0] = to_channels_first(in[0], g_.tensor(n.inputs[0]).shape.size(), n.name);
    const std::string act = n.get_string("tinyc_activation", "");
    std::vector<std::string> out = n.outputs;
    if (!act.empty()) out[0] = fresh(n.outputs[0] + "/linear");
    // ONNX's GlobalMaxPool takes floats only: on int8 it is the MaxPool of the whole plane.
    const Shape& x = n.inputs.empty() || n.inputs[0].empty() ? Shape{} : g_.tensor(n.inputs[0]).shape;
    const bool global_max = n.op == "GlobalMaxPool" && g_.tensor(n.inputs[0]).dtype != DType::Float && x.size() > 2;
    onnx::NodeProto* p = node(global_max ? "MaxPool" : n.op, n.name, in, out, n.domain);
    copy_attrs(n, p);
    if (global_max) set_attr(p, "kernel_shape", std::vector<int64_t>(x.begin() + 2, x.end()));
    if (changed_since(n)) {
      const onnx::NodeProto old = *p;
      gp_->mutable_node()->RemoveLast();
      node_names_.erase(old.name());
      upgrade(n, old);
    }
    if (act.empty()) return;
    const float a = n.get_float("tinyc_act_a", 0), b = n.get_float("tinyc_act_b", 0);
    if (act == "Relu") {
      node("Relu", n.name + "/relu", {out[0]}, {n.outputs[0]});
    } else if (act == "LeakyRelu") {
      set_attr(node("LeakyRelu", n.name + "/leaky_relu", {out[0]}, {n.outputs[0]}), "alpha", a);
    } else {
      node("Clip", n.name + "/clip",
           {out[0], std::isinf(a) ? "" : scalar(n.outputs[0] + "/min", a), std::isinf(b) ? "" : scalar(n.outputs[0] + "/max", b)},
           {n.outputs[0]});
    }
  }

  void emit(const Node& n) {
    if (n.domain != "tinyc") return standard(n);
    if (n.op == "ConvS8") return conv_s8(n);
    if (n.op == "FullyConnectedS8") return fully_connected_s8(n);
    if (n.op == "LookupS8") return lookup_s8(n);
    if (n.op == "AddS8")
      return void(qdq(n, n.get_int("tinyc_subtract", 0) ? "Sub" : "Add", {dequantize(n.inputs[0]), dequantize(n.inputs[1])}));
    if (n.op == "ReluS8") return void(qdq(n, "Relu", {dequantize(n.inputs[0])}, false));
    if (n.op == "SoftmaxS8") return void(set_attr(qdq(n, "Softmax", {dequantize(n.inputs[0])}, false), "axis", int64_t(-1)));
    if (n.op == "ConvTransposeS8") {  // weights [M, C/g, k...] back to ONNX's [C, M/g, k...]
      const Shape& ws = g_.tensor(n.inputs[1]).shape;
      const int64_t groups = n.get_int("group", 1), mg = ws[0] / groups, cg = ws[1], k = num_elements(ws) / (ws[0] * cg);
      Shape back = ws;
      back[0] = groups * cg, back[1] = mg;
      const std::string grouped = fresh(n.inputs[1] + "/grouped"), moved = fresh(n.inputs[1] + "/moved"), w = fresh(n.inputs[1] + "/by_input");
      node("Reshape", n.name + "/weights_grouped",
           {dequantize(n.inputs[1]), constant(n.name + "/grouped_shape", DType::Int64, {4}, std::vector<int64_t>{groups, mg, cg, k})},
           {grouped});
      set_attr(node("Transpose", n.name + "/weights_by_input", {grouped}, {moved}), "perm", std::vector<int64_t>{0, 2, 1, 3});
      node("Reshape", n.name + "/weights_back", {moved, constant(n.name + "/back_shape", DType::Int64, {int64_t(back.size())}, back)}, {w});
      const Tensor& b = g_.tensor(n.inputs[2]);
      return void(qdq(n, "ConvTranspose", {dequantize(n.inputs[0]), w, dequantized_bias(b, bias_values(b))}));
    }
    if (n.op == "PReluS8") {  // the slopes along the channels' axis, broadcast as ONNX does
      const std::vector<float>& v = n.attrs.at("tinyc_slopes").floats;
      Shape s{static_cast<int64_t>(v.size())};
      s.resize(g_.tensor(n.inputs[0]).shape.size() - static_cast<size_t>(n.get_int("tinyc_axis", 1)), 1);
      return void(qdq(n, "PRelu", {dequantize(n.inputs[0]), constant(n.name + "/slope", DType::Float, s, v)}, false));
    }
    if (n.op == "LogSoftmaxS8")
      return void(set_attr(qdq(n, "LogSoftmax", {dequantize(n.inputs[0])}, false), "axis", int64_t(-1)));
    if (n.op == "AvgPoolS8")
      return void(qdq(n, n.get_int("tinyc_global", 0) ? "GlobalAveragePool" : "AveragePool", {dequantize(n.inputs[0])}));
    if (n.op == "ConcatS8") {
      std::vector<std::string> in;
      for (const auto& i : n.inputs) in.push_back(dequantize(i));
      return void(qdq(n, "Concat", in));
    }
    throw ModelError(fmt::format("{}: no ONNX form for --emit-onnx", n.label()));
  }
};

}  // namespace

std::string emit_onnx(const Graph& g) { return Emitter(g).run(); }

}  // namespace tinyc
