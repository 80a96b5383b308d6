#include "optimizer/optimizer.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "ops/op.h"

namespace tinyc {

// A folded DequantizeLinear of int8 weights keeps, on its float output, the scales and zero
// points it was dequantized with: the quantizer then takes the model's own integers back, bit for
// bit, instead of deriving new ones from the floats. uint8 weights are int8 ones with their zero
// point moved by 128 (zero point 128: symmetric int8).
static void remember_quantization(Graph& g, const Node& dq) {
  const Tensor& q = g.tensor(dq.inputs[0]);
  if ((q.dtype != DType::Int8 && q.dtype != DType::UInt8) || dq.inputs.size() < 2) return;
  Tensor& t = g.tensor(dq.outputs[0]);
  const std::vector<double> scale = g.tensor(dq.inputs[1]).floats();
  t.quant.scale.assign(scale.begin(), scale.end());
  t.quant.zero_point.assign(scale.size(), 0);
  if (dq.inputs.size() > 2 && !dq.inputs[2].empty()) {
    const std::vector<int64_t> zp = g.tensor(dq.inputs[2]).ints();
    t.quant.zero_point.assign(zp.begin(), zp.end());
  }
  if (q.dtype == DType::UInt8)
    for (int32_t& z : t.quant.zero_point) z -= 128;
  const int64_t rank = static_cast<int64_t>(q.shape.size()), axis = dq.get_int("axis", 1);
  t.quant.axis = static_cast<int>(axis < 0 ? axis + rank : axis);
}

void fold_constants(Graph& g) {
  std::vector<Node> kept;
  for (const Node& n : g.nodes) {
    const Lowered l = lower_node(g, n);
    bool foldable = l.kernel.empty();
    if (!foldable) {
      foldable = true;
      for (const auto& name : n.inputs)
        if (!name.empty() && !g.is_const(name)) foldable = false;
    }
    if (!foldable) {
      kept.push_back(n);
      continue;
    }
    std::vector<const void*> in(n.inputs.size(), nullptr);
    std::vector<void*> out(n.outputs.size(), nullptr);
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (!n.inputs[i].empty()) in[i] = g.tensor(n.inputs[i]).data.data();
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      Tensor& t = g.tensor(n.outputs[i]);
      t.data.assign(t.bytes() + 1, 0);
      out[i] = t.data.data();
    }
    run_lowered(l, in, out);
    for (const auto& name : n.outputs) {
      if (name.empty()) continue;
      Tensor& t = g.tensor(name);
      t.data.resize(t.bytes());
      t.is_const = true;
    }
    if (n.op == "DequantizeLinear" && n.domain.empty()) remember_quantization(g, n);
  }
  g.nodes = std::move(kept);
}

void eliminate_dead_nodes(Graph& g) {
  std::set<std::string> used(g.outputs.begin(), g.outputs.end());
  std::vector<Node> kept;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    bool live = false;
    for (const auto& o : it->outputs) live = live || (!o.empty() && used.count(o));
    if (!live) continue;
    for (const auto& i : it->inputs) used.insert(i);
    kept.push_back(*it);
  }
  g.nodes.assign(kept.rbegin(), kept.rend());
  for (const auto& i : g.inputs) used.insert(i);
  for (auto it = g.tensors.begin(); it != g.tensors.end();) {
    bool produced = false;
    for (const Node& n : g.nodes)
      for (const auto& o : n.outputs) produced = produced || o == it->first;
    if (!used.count(it->first) && !produced) it = g.tensors.erase(it);
    else ++it;
  }
}

namespace {

int consumers(const Graph& g, const std::string& t) {
  int n = 0;
  for (const Node& node : g.nodes)
    for (const auto& i : node.inputs) n += i == t;
  for (const auto& o : g.outputs) n += o == t;
  return n;
}

bool is_output(const Graph& g, const std::string& t) {
  return std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end();
}

// The node producing `t`, or nullptr.
Node* producer(Graph& g, const std::string& t) {
  for (Node& n : g.nodes)
    for (const auto& o : n.outputs)
      if (o == t) return &n;
  return nullptr;
}

// Lets `first` write what `second` (which only reads first's output) wrote, and drops `second`.
void merge_into(Graph& g, Node& first, size_t second_index) {
  const std::string old = first.outputs[0];
  first.outputs[0] = g.nodes[second_index].outputs[0];
  g.nodes.erase(g.nodes.begin() + static_cast<long>(second_index));
  g.tensors.erase(old);
}

// A new constant tensor of type t (values of the matching C++ type) under a fresh name.
template <class V>
std::string add_constant(Graph& g, const std::string& base, DType t, const Shape& s, const std::vector<V>& v) {
  std::string name = base;
  for (int i = 0; g.tensors.count(name); ++i) name = fmt::format("{}_{}", base, i);
  Tensor c;
  c.name = name, c.dtype = t, c.shape = s, c.has_shape = true, c.is_const = true;
  c.data.resize(v.size() * sizeof(V));
  std::memcpy(c.data.data(), v.data(), c.data.size());
  g.tensors[name] = c;
  return name;
}

std::vector<float> float_values(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(num_elements(t.shape)));
  std::memcpy(v.data(), t.data.data(), v.size() * sizeof(float));
  return v;
}

// The nodes that read t.
std::vector<Node*> users_of(Graph& g, const std::string& t) {
  std::vector<Node*> users;
  for (Node& n : g.nodes)
    if (std::count(n.inputs.begin(), n.inputs.end(), t)) users.push_back(&n);
  return users;
}

// Removes node i, whose output is its input's value: readers of the output read the input.
void bypass(Graph& g, size_t i) {
  const std::string from = g.nodes[i].outputs[0], to = g.nodes[i].inputs[0];
  g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
  for (Node& m : g.nodes)
    for (auto& in : m.inputs)
      if (in == from) in = to;
  g.tensors.erase(from);
}

void set_ints(Node& n, const char* name, const std::vector<int64_t>& v) {
  Attr a;
  a.kind = Attr::Ints, a.ints = v;
  n.attrs[name] = a;
}

// The factor per channel (axis 1 of a tensor of shape `out`) that constant c broadcasts to, if
// it holds one value per channel or a single value; empty otherwise.
std::vector<float> per_channel(const Tensor& c, const Shape& out) {
  if (c.dtype != DType::Float || out.size() < 2 || c.shape.size() > out.size()) return {};
  Shape aligned(out.size() - c.shape.size(), 1);
  aligned.insert(aligned.end(), c.shape.begin(), c.shape.end());
  bool ok = aligned[1] == out[1] || aligned[1] == 1;
  for (size_t j = 0; j < aligned.size(); ++j) ok = ok && (j == 1 || aligned[j] == 1);
  if (!ok) return {};
  const std::vector<float> v = float_values(c);
  return aligned[1] == 1 ? std::vector<float>(static_cast<size_t>(out[1]), v[0]) : v;
}

}  // namespace

void remove_identities(Graph& g) {
  for (size_t i = 0; i < g.nodes.size();) {
    const Node& n = g.nodes[i];
    // (a Cast to the type its input has: PyTorch writes one after every QuantizeLinear)
    const bool identity = n.op == "Identity" ||
                          (n.op == "Dropout" && n.outputs.size() == 1 &&
                           (n.inputs.size() < 3 || n.inputs[2].empty())) ||
                          (n.op == "Cast" && n.inputs.size() == 1 && g.tensors.count(n.inputs[0]) &&
                           g.tensor(n.inputs[0]).dtype != DType::Undefined &&
                           static_cast<int64_t>(g.tensor(n.inputs[0]).dtype) == n.get_int("to", -1));
    if (!identity || is_output(g, n.outputs[0])) {
      ++i;
      continue;
    }
    bypass(g, i);
  }
}

void fold_batch_norm(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node bn = g.nodes[i];
    if (bn.op != "BatchNormalization" || bn.outputs.size() != 1) continue;
    bool consts = true;
    for (size_t k = 1; k < 5; ++k) consts = consts && k < bn.inputs.size() && g.is_const(bn.inputs[k]);
    Node* prev = producer(g, bn.inputs[0]);
    if (!consts || !prev || consumers(g, bn.inputs[0]) != 1 || is_output(g, bn.inputs[0])) continue;
    const bool conv = prev->op == "Conv" || prev->op == "ConvTranspose";
    const bool gemm = prev->op == "Gemm" && prev->get_float("alpha", 1) == 1 && prev->get_float("beta", 1) == 1;
    if ((!conv && !gemm) || !g.is_const(prev->inputs[1]) || (prev->inputs.size() > 2 && !prev->inputs[2].empty() && !g.is_const(prev->inputs[2])))
      continue;
    const Tensor& w = g.tensor(prev->inputs[1]);
    if (w.dtype != DType::Float || g.tensor(bn.inputs[0]).dtype != DType::Float) continue;
    const std::vector<float> scale = float_values(g.tensor(bn.inputs[1])), shift = float_values(g.tensor(bn.inputs[2])),
                             mean = float_values(g.tensor(bn.inputs[3])), var = float_values(g.tensor(bn.inputs[4]));
    const size_t ch = scale.size();
    const float eps = bn.get_float("epsilon", 1e-5f);
    std::vector<float> s(ch);
    for (size_t c = 0; c < ch; ++c) s[c] = scale[c] / std::sqrt(var[c] + eps);
    // Which weight element belongs to which output channel.
    std::vector<float> wv = float_values(w);
    const int64_t groups = prev->get_int("group", 1);
    std::function<size_t(size_t)> channel_of;
    if (prev->op == "Conv") {
      const size_t per = wv.size() / ch;
      channel_of = [per](size_t i) { return i / per; };
    } else if (prev->op == "ConvTranspose") {  // [C_in, C_out / group, k...]
      const size_t per_group_out = static_cast<size_t>(w.shape[1]);
      const size_t k = wv.size() / (static_cast<size_t>(w.shape[0]) * per_group_out);
      const size_t in_per_group = static_cast<size_t>(w.shape[0] / groups);
      channel_of = [=](size_t i) { return (i / k) % per_group_out + ((i / k) / per_group_out / in_per_group) * per_group_out; };
    } else if (prev->get_int("transB", 0)) {  // [N, K]
      const size_t k = wv.size() / ch;
      channel_of = [k](size_t i) { return i / k; };
    } else {  // [K, N]
      channel_of = [ch](size_t i) { return i % ch; };
    }
    if (wv.size() % ch) continue;
    for (size_t j = 0; j < wv.size(); ++j) wv[j] *= s[channel_of(j)];
    std::vector<float> b(ch, 0.0f);
    if (prev->inputs.size() > 2 && !prev->inputs[2].empty()) {
      const std::vector<float> old = float_values(g.tensor(prev->inputs[2]));
      if (old.size() != ch) continue;
      b = old;
    }
    for (size_t c = 0; c < ch; ++c) b[c] = (b[c] - mean[c]) * s[c] + shift[c];
    prev->inputs[1] = add_constant(g, w.name + "_bn", DType::Float, w.shape, wv);
    prev->inputs.resize(3);
    prev->inputs[2] = add_constant(g, bn.name + "_bias", DType::Float, {static_cast<int64_t>(ch)}, b);
    merge_into(g, *prev, i);
    --i;
  }
}

void fold_pad(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node pad = g.nodes[i];
    if (pad.op != "Pad" || pad.get_string("mode", "constant") != "constant" || is_output(g, pad.outputs[0])) continue;
    std::vector<int64_t> pads;
    float value = 0;
    if (g.opset < 11) {
      pads = pad.get_ints("pads");
      value = pad.get_float("value", 0);
    } else {
      if (pad.inputs.size() < 2 || !g.is_const(pad.inputs[1])) continue;
      pads = g.tensor(pad.inputs[1]).ints();
      if (pad.inputs.size() > 2 && !pad.inputs[2].empty()) {
        if (!g.is_const(pad.inputs[2])) continue;
        value = static_cast<float>(g.tensor(pad.inputs[2]).floats().at(0));
      }
    }
    const size_t r = pads.size() / 2;
    bool nothing = true;
    for (int64_t p : pads) nothing = nothing && p == 0;
    std::vector<Node*> users;
    for (Node& n : g.nodes)
      for (const auto& x : n.inputs)
        if (x == pad.outputs[0]) users.push_back(&n);
    if (!nothing) {
      // Only on spatial axes, only non-negative, into one Conv / AveragePool (zeros) or MaxPool (a
      // value no larger than any input: -inf, or 0 after a Relu).
      bool ok = users.size() == 1 && r >= 3 && pads[0] == 0 && pads[1] == 0 && pads[r] == 0 && pads[r + 1] == 0;
      for (int64_t p : pads) ok = ok && p >= 0;
      Node* u = ok ? users[0] : nullptr;
      ok = ok && u->inputs[0] == pad.outputs[0] && u->get_string("auto_pad", "NOTSET") == "NOTSET";
      if (ok && u->op == "MaxPool") {
        const Node* from = producer(g, pad.inputs[0]);
        const bool after_relu = from && (from->op == "Relu" || from->get_string("tinyc_activation", "") == "Relu");
        const std::vector<int64_t> k = u->get_ints("kernel_shape");
        ok = (value == -INFINITY || (value == 0 && after_relu)) && u->outputs.size() == 1 && k.size() == r - 2;
        for (size_t a = 0; ok && a < r - 2; ++a) ok = pads[2 + a] < k[a] && pads[r + 2 + a] < k[a];  // no window of padding only
      } else {
        ok = ok && value == 0 && (u->op == "Conv" || (u->op == "AveragePool" && u->get_int("count_include_pad", 0) == 1));
      }
      if (!ok) continue;
      const size_t nsp = r - 2;
      std::vector<int64_t> up = u->get_ints("pads", std::vector<int64_t>(2 * nsp, 0));
      if (up.size() != 2 * nsp) continue;
      for (size_t a = 0; a < nsp; ++a) up[a] += pads[2 + a], up[nsp + a] += pads[r + 2 + a];
      Attr attr;
      attr.kind = Attr::Ints, attr.ints = up;
      u->attrs["pads"] = attr;
    }
    for (Node* u : users)
      for (auto& x : u->inputs)
        if (x == pad.outputs[0]) x = pad.inputs[0];
    g.tensors.erase(pad.outputs[0]);
    g.nodes.erase(g.nodes.begin() + static_cast<long>(i));
    --i;
  }
}

void fold_transposes(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& t = g.nodes[i];
    if (t.op != "Transpose" || is_output(g, t.outputs[0])) continue;
    const Tensor& x = g.tensor(t.inputs[0]);
    const size_t r = x.shape.size();
    auto perm_of = [r](const Node& n) {
      std::vector<int64_t> p = n.get_ints("perm");
      if (p.empty())
        for (size_t a = 0; a < r; ++a) p.push_back(static_cast<int64_t>(r - 1 - a));
      return p;
    };
    const std::vector<int64_t> perm = perm_of(t);
    if (perm.size() != r) continue;
    const std::vector<Node*> users = users_of(g, t.outputs[0]);
    if (users.size() == 1 && users[0]->op == "Transpose" && perm_of(*users[0]).size() == r) {
      // Two in a row: one transpose, the composition (the identity when they cancel).
      const std::vector<int64_t> second = perm_of(*users[0]);
      std::vector<int64_t> composed(r);
      for (size_t a = 0; a < r; ++a) composed[a] = perm[static_cast<size_t>(second[a])];
      set_ints(*users[0], "perm", composed);
      bypass(g, i);
      --i;
      continue;
    }
    bool identity = true, ordered = true;  // ordered: the axes that are not 1 keep their order
    int64_t prev = -1;
    for (size_t a = 0; a < r; ++a) {
      identity = identity && perm[a] == static_cast<int64_t>(a);
      if (x.shape[static_cast<size_t>(perm[a])] == 1) continue;
      ordered = ordered && perm[a] > prev;
      prev = perm[a];
    }
    if (identity) {
      bypass(g, i);
      --i;
      continue;
    }
    if (ordered) {  // only axes of size 1 move: the same bytes, a view
      const Shape out = g.tensor(t.outputs[0]).shape;
      t.op = "Reshape";
      t.attrs.clear();
      t.inputs = {t.inputs[0], add_constant(g, t.name + "_shape", DType::Int64, {static_cast<int64_t>(out.size())}, out)};
      continue;
    }
    std::vector<int64_t> to_nchw{0, static_cast<int64_t>(r) - 1};
    for (size_t a = 1; a + 1 < r; ++a) to_nchw.push_back(static_cast<int64_t>(a));
    bool convs = r >= 3 && perm == to_nchw && x.dtype == DType::Float && !users.empty();
    for (const Node* u : users)
      convs = convs && u->op == "Conv" && u->inputs[0] == t.outputs[0] &&
              std::count(u->inputs.begin(), u->inputs.end(), t.outputs[0]) == 1;
    if (convs) {  // channels-last to channels-first, read only by convolutions: they read it as is
      for (Node* u : users) {
        Attr a;
        a.kind = Attr::Int, a.i = 1;
        u->attrs["tinyc_channels_last"] = a;
      }
      bypass(g, i);
      --i;
      continue;
    }
    // Transpose, flatten, matrix product by a constant: the weights' rows take the transpose.
    if (users.size() != 1 || perm[0] != 0 || !(users[0]->op == "Reshape" || users[0]->op == "Flatten") ||
        users[0]->inputs[0] != t.outputs[0] || x.dtype != DType::Float)
      continue;
    Node* flat = users[0];
    const Shape fs = g.tensor(flat->outputs[0]).shape;
    const int64_t k = num_elements(x.shape) / std::max<int64_t>(x.shape[0], 1);
    const std::vector<Node*> gemms = users_of(g, flat->outputs[0]);
    bool ok = fs.size() == 2 && fs[0] == x.shape[0] && fs[1] == k && !gemms.empty() && !is_output(g, flat->outputs[0]);
    for (const Node* u : gemms)
      ok = ok && u->op == "Gemm" && u->inputs[0] == flat->outputs[0] && u->inputs[1] != flat->outputs[0] &&
           g.is_const(u->inputs[1]) && u->get_int("transA", 0) == 0 && g.tensor(u->inputs[1]).dtype == DType::Float;
    if (!ok) continue;
    // src[j]: where element j of the transposed, flattened row comes from in x's row.
    const Shape ts = g.tensor(t.outputs[0]).shape;
    const auto xst = strides_of(x.shape);
    std::vector<int64_t> src(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) {
      int64_t rest = j, o = 0;
      for (size_t a = r; a-- > 1;) {
        o += (rest % ts[a]) * xst[static_cast<size_t>(perm[a])];
        rest /= ts[a];
      }
      src[static_cast<size_t>(j)] = o;
    }
    for (Node* u : gemms) {
      const Tensor& b = g.tensor(u->inputs[1]);
      const bool trans = u->get_int("transB", 0) != 0;
      const int64_t m = trans ? b.shape[0] : b.shape[1];
      const std::vector<float> v = float_values(b);
      std::vector<float> w(v.size());
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < m; ++c) {
          const int64_t from = trans ? c * k + j : j * m + c;
          const int64_t to = trans ? c * k + src[j] : src[j] * m + c;
          w[static_cast<size_t>(to)] = v[static_cast<size_t>(from)];
        }
      u->inputs[1] = add_constant(g, b.name + "_t", DType::Float, b.shape, w);
    }
    bypass(g, i);
    --i;
  }
}

void fold_mul(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node mul = g.nodes[i];
    if (!(mul.op == "Mul" || mul.op == "Div") || mul.inputs.size() != 2) continue;
    const int k = g.is_const(mul.inputs[1]) ? 1 : (mul.op == "Mul" && g.is_const(mul.inputs[0])) ? 0 : -1;
    if (k < 0) continue;
    const std::string& x = mul.inputs[1 - k];
    const Tensor& c = g.tensor(mul.inputs[k]);
    auto factors = [&](const Shape& s) {
      std::vector<float> f = per_channel(c, s);
      if (mul.op == "Div")
        for (float& v : f) v = 1.0f / v;
      return f;
    };
    // After a layer: scale its weights and bias per output channel.
    Node* prev = producer(g, x);
    if (prev && consumers(g, x) == 1 && !is_output(g, x) && !prev->has("tinyc_activation") &&
        (prev->op == "Conv" || (prev->op == "Gemm" && g.tensor(x).shape.size() == 2)) && g.is_const(prev->inputs[1])) {
      const std::vector<float> f = factors(g.tensor(x).shape);
      const Tensor& w = g.tensor(prev->inputs[1]);
      const bool has_bias = prev->inputs.size() > 2 && !prev->inputs[2].empty();
      const size_t ch = f.size();
      if (!f.empty() && w.dtype == DType::Float && (!has_bias || (g.is_const(prev->inputs[2]) &&
                                                                  num_elements(g.tensor(prev->inputs[2]).shape) == static_cast<int64_t>(ch)))) {
        std::vector<float> wv = float_values(w);
        const bool rows = prev->op == "Conv" || prev->get_int("transB", 0);  // output channel = leading axis
        for (size_t j = 0; j < wv.size(); ++j) wv[j] *= f[rows ? j / (wv.size() / ch) : j % ch];
        prev->inputs[1] = add_constant(g, w.name + "_scaled", DType::Float, w.shape, wv);
        if (has_bias) {
          std::vector<float> b = float_values(g.tensor(prev->inputs[2]));
          for (size_t m = 0; m < ch; ++m) b[m] *= f[m];
          prev->inputs[2] = add_constant(g, mul.name + "_bias", DType::Float, {static_cast<int64_t>(ch)}, b);
        }
        merge_into(g, *prev, i);
        --i;
        continue;
      }
    }
    // Before a convolution (zero padding stays zero) or a Gemm: scale its weights per input channel.
    const std::vector<Node*> users = users_of(g, mul.outputs[0]);
    if (is_output(g, mul.outputs[0]) || users.size() != 1 || users[0]->inputs.size() < 2 || users[0]->inputs[0] != mul.outputs[0] ||
        !g.is_const(users[0]->inputs[1]))
      continue;
    Node* u = users[0];
    const bool conv = u->op == "Conv" && !u->has("tinyc_channels_last");
    const bool gemm = u->op == "Gemm" && u->get_int("transA", 0) == 0 && g.tensor(x).shape.size() == 2;
    const std::vector<float> f = factors(g.tensor(mul.outputs[0]).shape);
    const Tensor& w = g.tensor(u->inputs[1]);
    if ((!conv && !gemm) || f.empty() || w.dtype != DType::Float || g.tensor(x).shape != g.tensor(mul.outputs[0]).shape)
      continue;
    std::vector<float> wv = float_values(w);
    const int64_t in_ch = static_cast<int64_t>(f.size());
    if (conv) {  // w [M, C / group, k...]
      const int64_t m = w.shape[0], cg = w.shape[1], ks = num_elements(w.shape) / (m * cg), mg = m / (in_ch / cg);
      for (int64_t o = 0; o < m; ++o)
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t q = 0; q < ks; ++q) wv[static_cast<size_t>((o * cg + ci) * ks + q)] *= f[static_cast<size_t>(o / mg * cg + ci)];
    } else {
      const bool trans = u->get_int("transB", 0) != 0;  // [N, K] or [K, N]
      const size_t n = wv.size() / f.size();
      for (size_t j = 0; j < wv.size(); ++j) wv[j] *= f[trans ? j % f.size() : j / n];
    }
    u->inputs[1] = add_constant(g, w.name + "_scaled", DType::Float, w.shape, wv);
    bypass(g, i);
    --i;
  }
}

void matmul_to_gemm(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if (n.op != "MatMul" || !g.is_const(n.inputs[1])) continue;
    const Tensor &a = g.tensor(n.inputs[0]), &b = g.tensor(n.inputs[1]);
    if (a.shape.size() < 2 || b.shape.size() != 2 || a.dtype != DType::Float || b.dtype != DType::Float ||
        a.shape.back() != b.shape[0] || !a.has_shape)
      continue;
    n.op = "Gemm";  // alpha = beta = 1, no transposes: the same product
    if (a.shape.size() == 2) continue;
    // [..., K] x [K, N]: the rows of a as a matrix [rows, K], the product viewed back as [..., N].
    const int64_t k = a.shape.back(), rows = num_elements(a.shape) / std::max<int64_t>(k, 1);
    Shape out(a.shape.begin(), a.shape.end() - 1);
    out.push_back(b.shape[1]);
    const std::string y = n.outputs[0], rows_in = y + "_rows_in", rows_out = y + "_rows";
    for (const std::string& t : {rows_in, rows_out}) {
      Tensor v;
      v.name = t, v.dtype = DType::Float, v.shape = t == rows_in ? Shape{rows, k} : Shape{rows, b.shape[1]}, v.has_shape = true;
      g.tensors[t] = v;
    }
    Node in_view, out_view;
    in_view.op = out_view.op = "Reshape";
    in_view.name = n.name + "_rows", out_view.name = n.name + "_unrows";
    in_view.inputs = {n.inputs[0], add_constant(g, n.name + "_rows_shape", DType::Int64, {2}, Shape{rows, k})};
    in_view.outputs = {rows_in};
    out_view.inputs = {rows_out, add_constant(g, n.name + "_out_shape", DType::Int64, {static_cast<int64_t>(out.size())}, out)};
    out_view.outputs = {y};
    // A constant [N] added to the product (a Linear's bias) is the Gemm's bias.
    const std::vector<Node*> users = users_of(g, y);
    if (users.size() == 1 && users[0]->op == "Add" && users[0]->inputs.size() == 2 && !is_output(g, y)) {
      Node& add = *users[0];
      const std::string& c = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
      const Tensor& ct = g.tensor(c);
      if (c != y && g.is_const(c) && ct.dtype == DType::Float && !ct.shape.empty() && ct.shape.back() == b.shape[1] &&
          num_elements(ct.shape) == b.shape[1] && g.tensor(add.outputs[0]).shape == out) {
        n.inputs.push_back(add_constant(g, add.name + "_bias", DType::Float, {b.shape[1]}, float_values(ct)));
        out_view.outputs = {add.outputs[0]};
        add.op.clear();  // removed below
      }
    }
    n.inputs[0] = rows_in, n.outputs[0] = rows_out;
    g.nodes.insert(g.nodes.begin() + static_cast<std::ptrdiff_t>(i) + 1, out_view);
    g.nodes.insert(g.nodes.begin() + static_cast<std::ptrdiff_t>(i), in_view);
    i += 2;
  }
  g.nodes.erase(std::remove_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op.empty(); }), g.nodes.end());
}

void fold_add_into_bias(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node add = g.nodes[i];
    if (add.op != "Add" || add.inputs.size() != 2) continue;
    const int k = g.is_const(add.inputs[1]) ? 1 : g.is_const(add.inputs[0]) ? 0 : -1;
    if (k < 0) continue;
    const std::string& x = add.inputs[1 - k];
    Node* prev = producer(g, x);
    if (!prev || consumers(g, x) != 1 || is_output(g, x) || prev->has("tinyc_activation") ||
        !(prev->op == "Conv" || prev->op == "ConvTranspose" || prev->op == "Gemm"))
      continue;
    if (prev->op == "Gemm" && (prev->get_float("beta", 1) != 1 || g.tensor(x).shape.size() != 2)) continue;
    // The constant must hold one value per output channel (axis 1) or a single value.
    const std::vector<float> v = g.tensor(x).dtype == DType::Float ? per_channel(g.tensor(add.inputs[k]), g.tensor(x).shape)
                                                                   : std::vector<float>{};
    if (v.empty()) continue;
    const int64_t ch = static_cast<int64_t>(v.size());
    std::vector<float> bias(static_cast<size_t>(ch), 0.0f);
    if (prev->inputs.size() > 2 && !prev->inputs[2].empty()) {
      if (!g.is_const(prev->inputs[2]) || num_elements(g.tensor(prev->inputs[2]).shape) != ch) continue;
      bias = float_values(g.tensor(prev->inputs[2]));
    }
    for (int64_t m = 0; m < ch; ++m) bias[m] += v[m];
    prev->inputs.resize(3);
    prev->inputs[2] = add_constant(g, add.name + "_bias", DType::Float, {ch}, bias);
    merge_into(g, *prev, i);
    --i;
  }
}

void fuse_activations(Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node act = g.nodes[i];
    float a = 0, b = 0;
    if (act.op == "Relu") {
    } else if (act.op == "LeakyRelu") {
      a = act.get_float("alpha", 0.01f);
    } else if (act.op == "Clip") {
      a = -INFINITY, b = INFINITY;
      if (g.opset < 11) {
        a = act.get_float("min", a), b = act.get_float("max", b);
      } else {
        if (act.inputs.size() > 1 && !act.inputs[1].empty()) {
          if (!g.is_const(act.inputs[1])) continue;
          a = static_cast<float>(g.tensor(act.inputs[1]).floats().at(0));
        }
        if (act.inputs.size() > 2 && !act.inputs[2].empty()) {
          if (!g.is_const(act.inputs[2])) continue;
          b = static_cast<float>(g.tensor(act.inputs[2]).floats().at(0));
        }
      }
    } else {
      continue;
    }
    Node* prev = producer(g, act.inputs[0]);
    if (!prev || consumers(g, act.inputs[0]) != 1 || is_output(g, act.inputs[0]) || prev->has("tinyc_activation") ||
        !(prev->op == "Conv" || prev->op == "ConvTranspose" || prev->op == "Gemm" ||
          (prev->op == "Add" && prev->inputs.size() == 2)) ||
        g.tensor(act.inputs[0]).dtype != DType::Float)
      continue;
    Attr kind;
    kind.kind = Attr::String, kind.s = act.op;
    Attr fa, fb;
    fa.kind = fb.kind = Attr::Float, fa.f = a, fb.f = b;
    prev->attrs["tinyc_activation"] = kind;
    prev->attrs["tinyc_act_a"] = fa;
    prev->attrs["tinyc_act_b"] = fb;
    merge_into(g, *prev, i);
    --i;
  }
}

void use_final_state(Graph& g) {
  static const std::set<std::string> views = {"Reshape", "Squeeze", "Unsqueeze", "Flatten"};
  for (Node& n : g.nodes) {
    if (!(n.op == "LSTM" || n.op == "GRU" || n.op == "RNN") || n.outputs.empty() || n.outputs[0].empty() ||
        n.get_string("direction", "forward") != "forward")
      continue;
    const Shape y = g.tensor(n.outputs[0]).shape;  // [S, 1, 1, H] (layout 0) or [1, S, 1, H] (layout 1)
    const bool batch_first = n.get_int("layout", 0) != 0;
    if (y.size() != 4 || y[2] != 1 || (batch_first ? y[0] : y[1]) != 1) continue;
    const int64_t steps = batch_first ? y[1] : y[0], hidden = y[3];
    std::string t = n.outputs[0];  // Y through views; then the one reader that takes its last step
    std::vector<Node*> users = users_of(g, t);
    while (users.size() == 1 && views.count(users[0]->op) && users[0]->inputs[0] == t && !is_output(g, t))
      t = users[0]->outputs[0], users = users_of(g, t);
    if (users.size() != 1 || is_output(g, t) || users[0]->inputs[0] != t) continue;
    Node& u = *users[0];
    const Shape s = g.tensor(t).shape;
    int64_t axis = 0, last = INT64_MIN;
    auto constant = [&](size_t i) {
      return i < u.inputs.size() && !u.inputs[i].empty() && g.is_const(u.inputs[i]) &&
                     num_elements(g.tensor(u.inputs[i]).shape) == 1
                 ? g.tensor(u.inputs[i]).ints().at(0)
                 : INT64_MIN;
    };
    if (u.op == "Gather") {
      axis = u.get_int("axis", 0), last = constant(1);
    } else if (u.op == "Slice" && g.opset >= 10) {  // x[..., -1:, ...] on one axis, step 1
      axis = u.inputs.size() > 3 && !u.inputs[3].empty() ? constant(3) : 0;
      const int64_t end = constant(2), step = u.inputs.size() > 4 && !u.inputs[4].empty() ? constant(4) : 1;
      last = end >= steps && step == 1 ? constant(1) : INT64_MIN;
    }
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    if (axis < 0 || axis >= static_cast<int64_t>(s.size()) || s[static_cast<size_t>(axis)] != steps ||
        (last != -1 && last != steps - 1))
      continue;
    int64_t before = 1, after = 1;
    for (int64_t a = 0; a < static_cast<int64_t>(s.size()); ++a) {
      if (a < axis) before *= s[static_cast<size_t>(a)];
      if (a > axis) after *= s[static_cast<size_t>(a)];
    }
    if (before != 1 || after != hidden) continue;
    // The last step is the final state Y_h [1, 1, H]: its values in the same order.
    if (n.outputs.size() < 2) n.outputs.resize(2);
    if (n.outputs[1].empty()) {
      n.outputs[1] = n.outputs[0] + "_final_state";
      Tensor h;
      h.name = n.outputs[1], h.dtype = g.tensor(n.outputs[0]).dtype, h.shape = {1, 1, hidden}, h.has_shape = true;
      g.tensors[h.name] = h;
    }
    const Shape out = g.tensor(u.outputs[0]).shape;
    u.op = "Reshape";
    u.attrs.clear();
    u.inputs = {n.outputs[1], add_constant(g, u.name + "_shape", DType::Int64, {static_cast<int64_t>(out.size())}, out)};
  }
  eliminate_dead_nodes(g);
  for (Node& n : g.nodes)  // outputs that nothing reads are not stored (all three are optional)
    if (n.op == "LSTM" || n.op == "GRU" || n.op == "RNN")
      for (std::string& o : n.outputs)
        if (!o.empty() && !consumers(g, o) && !is_output(g, o)) g.tensors.erase(o), o.clear();
}

const std::vector<Pass>& passes() {
  static const std::vector<Pass> p = {{"fold_constants", fold_constants},
                                      {"remove_identities", remove_identities},
                                      {"fold_pad", fold_pad},
                                      {"fold_batch_norm", fold_batch_norm},
                                      {"matmul_to_gemm", matmul_to_gemm},
                                      {"fold_transposes", fold_transposes},
                                      {"fold_mul", fold_mul},
                                      {"fold_add_into_bias", fold_add_into_bias},
                                      {"fuse_activations", fuse_activations},
                                      {"use_final_state", use_final_state},
                                      {"eliminate_dead_nodes", eliminate_dead_nodes}};
  return p;
}

void optimize(Graph& g, const OptimizeOptions& opts) {
  for (const auto& name : opts.disabled) {
    bool known = false;
    for (const Pass& p : passes()) known = known || name == p.name;
    if (!known) throw ModelError(fmt::format("unknown pass '{}'", name));
  }
  for (const Pass& p : passes()) {
    if (!opts.disabled.count(p.name) || std::string(p.name) == "fold_constants") p.run(g);
    if (opts.dump && opts.dump_after == p.name) *opts.dump << dump_ir(g);
  }
}

std::string dump_ir(const Graph& g) {
  auto describe = [&](const std::string& t) {
    if (t.empty()) return std::string("-");
    const Tensor& x = g.tensor(t);
    return fmt::format("%{}:{}[{}]{}", t, dtype_name(x.dtype), shape_str(x.shape), x.is_const ? "=const" : "");
  };
  std::string s = fmt::format("graph '{}' opset {}\n", g.name, g.opset);
  for (const auto& i : g.inputs) s += "  input " + describe(i) + "\n";
  for (const Node& n : g.nodes) {
    std::vector<std::string> ins, outs, attrs;
    for (const auto& i : n.inputs) ins.push_back(describe(i));
    for (const auto& o : n.outputs) outs.push_back(describe(o));
    for (const auto& [k, a] : n.attrs) {
      switch (a.kind) {
        case Attr::Int: attrs.push_back(fmt::format("{}={}", k, a.i)); break;
        case Attr::Float: attrs.push_back(fmt::format("{}={}", k, a.f)); break;
        case Attr::String: attrs.push_back(fmt::format("{}='{}'", k, a.s)); break;
        case Attr::Ints: attrs.push_back(fmt::format("{}=[{}]", k, fmt::join(a.ints, ","))); break;
        default: attrs.push_back(k); break;
      }
    }
    s += fmt::format("  {} = {}({}) {{{}}}  # {}\n", fmt::join(outs, ", "), n.op, fmt::join(ins, ", "),
                     fmt::join(attrs, " "), n.name);
  }
  for (const auto& o : g.outputs) s += "  output " + describe(o) + "\n";
  return s;
}

}  // namespace tinyc
