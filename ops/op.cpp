#include "ops/op.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tinyc {

const Tensor& OpContext::input(size_t i) const {
  if (!has(i)) fail(fmt::format("input {} is required", i));
  return *in[i];
}

const Tensor& OpContext::const_input(size_t i) const {
  const Tensor& t = input(i);
  if (!t.is_const)
    fail(fmt::format("input {} ('{}') must be a constant (tinyc compiles static shapes)", i,
                     t.name));
  return t;
}

const Tensor& OpContext::scalar_input(size_t i) const {
  const Tensor& t = input(i);
  if (num_elements(t.shape) == 0) fail(fmt::format("input {} ('{}') holds no value", i, t.name));
  return t;
}

void OpContext::fail(const std::string& why) const {
  throw ModelError(fmt::format("{}: {}", node.label(), why));
}

const Shape& OpContext::declared_output(size_t i, const char* what) const {
  if (i < out.size() && out[i] && out[i]->has_shape) return out[i]->shape;
  fail(fmt::format("{} not constant and the output shape is not declared", what));
}

void OpContext::set_output(size_t i, DType t, const Shape& s) {
  if (i >= out.size() || !out[i]) return;
  uint64_t bytes = std::max<size_t>(dtype_size(t), 1);
  for (int64_t d : s) {
    if (d < 0) fail(fmt::format("output {} would have a negative dimension", i));
    if (d != 0 && bytes > (uint64_t(1) << 30) / static_cast<uint64_t>(d))  // the importer's cap too
      fail(fmt::format("output {} would be larger than tinyc accepts (1 GiB)", i));
    bytes *= static_cast<uint64_t>(d);
  }
  if (out[i]->has_shape && out[i]->shape != s && !out[i]->is_const)
    fail(fmt::format("output '{}' has shape {} but the model declares {}", out[i]->name,
                     shape_str(s), shape_str(out[i]->shape)));
  out[i]->dtype = t;
  out[i]->shape = s;
  out[i]->has_shape = true;
}

static OpTable make_table() {
  OpTable t;
  register_elementwise_ops(t);
  register_movement_ops(t);
  register_nn_ops(t);
  register_reduce_ops(t);
  register_misc_ops(t);
  register_rnn_ops(t);
  register_resize_ops(t);
  register_quant_ops(t);
  register_loss_ops(t);
  register_int8_ops(t);
  return t;
}

static const OpTable& table() {
  static const OpTable t = make_table();
  return t;
}

const LowerFn* find_op(const std::string& op) {
  auto it = table().find(op);
  return it == table().end() ? nullptr : &it->second;
}

// ONNX's default domain; tinyc's own operators (made by the quantizer, never read from a file); and
// the com.microsoft operators of ONNX Runtime that tinyc registers as "com.microsoft.OP".
const LowerFn* find_op(const Node& n) {
  if (n.domain == "com.microsoft") return find_op("com.microsoft." + n.op);
  return n.domain.empty() || n.domain == "ai.onnx" || n.domain == "tinyc" ? find_op(n.op) : nullptr;
}

static std::string unsupported_message(const Node& n) {
  return fmt::format("{}: operator {}{} is not supported", n.label(), n.domain.empty() ? "" : n.domain + ".", n.op);
}

void check_supported(const Graph& g) {
  std::vector<std::string> lines;
  for (const Node& n : g.nodes)
    if (!find_op(n)) lines.push_back(unsupported_message(n));
  if (!lines.empty()) throw ModelError(fmt::format("{}", fmt::join(lines, "\n")));
}

Lowered lower_node(Graph& g, const Node& n, Isa isa) {
  const LowerFn* fn = find_op(n);
  if (!fn) throw ModelError(unsupported_message(n));
  OpContext c{n, g, {}, {}, isa};
  for (const auto& name : n.inputs) c.in.push_back(name.empty() ? nullptr : &g.tensor(name));
  for (const auto& name : n.outputs) c.out.push_back(name.empty() ? nullptr : &g.tensor(name));
  for (const Tensor* t : c.in)
    if (t && !t->has_shape) c.fail(fmt::format("the shape of input '{}' is unknown", t->name));
  return (*fn)(c);
}

Lowered elementwise_in_place(const OpContext& c, Lowered l) {
  const Tensor* y = c.out[0];
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.has(i) && c.in[i]->dtype == y->dtype && c.in[i]->shape == y->shape) {
      l.in_place = static_cast<int>(i);
      l.in_place_scratch = l.scratch_bytes;
      break;
    }
  return l;
}

void run_lowered(const Lowered& l, std::vector<const void*> in, std::vector<void*> out, Kernels k) {
  std::vector<uint8_t> scratch(l.scratch_bytes + 16);
  const HostTensors t{std::move(in), std::move(out), l.scratch_bytes ? scratch.data() : nullptr};
  (k == Kernels::Reference && l.reference ? l.reference : l.run)(t);
}

std::string template_name(const char* name, std::initializer_list<const char*> types) {
  return fmt::format("{}<{}>", name, fmt::join(types, ", "));
}

std::string params_value(int32_t v) { return std::to_string(v); }

std::string params_value(float v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

int64_t norm_axis(const OpContext& c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)  // none for a scalar: the ops index its shape with it
    c.fail(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return axis < 0 ? axis + rank : axis;
}

Shape broadcast_shape(const OpContext& c, const Shape& a, const Shape& b) {
  Shape r(std::max(a.size(), b.size()));
  for (size_t i = 0; i < r.size(); ++i) {
    int64_t da = i < r.size() - a.size() ? 1 : a[i - (r.size() - a.size())];
    int64_t db = i < r.size() - b.size() ? 1 : b[i - (r.size() - b.size())];
    if (da != db && da != 1 && db != 1)
      c.fail(fmt::format("shapes {} and {} do not broadcast", shape_str(a), shape_str(b)));
    r[i] = da == 1 ? db : da;
  }
  return r;
}

void split_at(const Shape& s, int64_t axis, int64_t* outer, int64_t* inner) {
  *outer = *inner = 1;
  for (int64_t a = 0; a < static_cast<int64_t>(s.size()); ++a)
    if (a < axis) *outer *= s[a];
    else if (a > axis) *inner *= s[a];
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

int32_t i32(const OpContext& c, int64_t v) {
  if (v > INT32_MAX || v < INT32_MIN) c.fail(fmt::format("size {} exceeds the runtime's int32", v));
  return static_cast<int32_t>(v);
}

}  // namespace tinyc
