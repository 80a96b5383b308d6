// Recurrent layers: RNN, GRU, LSTM.
#include "ops/op.h"
#include "runtime/tinyc/rnn.h"

namespace tinyc {
namespace {

// An activation function of a recurrent layer: how many of alpha, beta it takes, and their defaults
// (those of the ONNX operator of the same name). In the order of RnnActivation.
struct ActInfo {
  const char* name;
  int params;
  float alpha, beta;
};
constexpr ActInfo kActs[] = {
    {"Sigmoid", 0, 0, 0},      {"Tanh", 0, 0, 0},       {"Relu", 0, 0, 0},
    {"LeakyRelu", 1, 0.01f, 0}, {"ThresholdedRelu", 1, 1, 0}, {"HardSigmoid", 2, 0.2f, 0.5f},
    {"Elu", 1, 1, 0},          {"ScaledTanh", 2, 1, 1}, {"Affine", 2, 1, 0},
    {"Softsign", 0, 0, 0},     {"Softplus", 0, 0, 0},
};

// Fills p.act, p.alpha and p.beta from the activations, activation_alpha and activation_beta
// attributes. The runtime holds one alpha and one beta, so all activations must agree on them.
void fill_activations(OpContext& c, RnnParams& p, int per_dir, std::vector<std::string> defaults) {
  std::vector<std::string> names = defaults;
  if (c.node.has("activations")) names = c.node.attrs.at("activations").strings;
  if (names.size() == static_cast<size_t>(per_dir) && p.dirs == 2)
    for (int k = 0; k < per_dir; ++k) names.push_back(names[k]);  // one list for both directions
  if (names.size() != static_cast<size_t>(per_dir * p.dirs))
    c.fail(fmt::format("expected {} activations, got {}", per_dir * p.dirs, names.size()));
  const std::vector<float> alphas = c.node.get_floats("activation_alpha");
  const std::vector<float> betas = c.node.get_floats("activation_beta");
  size_t na = 0, nb = 0;
  bool have_alpha = false, have_beta = false;
  for (size_t k = 0; k < names.size(); ++k) {
    int32_t id = -1;
    for (size_t i = 0; i < std::size(kActs); ++i)
      if (names[k] == kActs[i].name) id = static_cast<int32_t>(i);
    if (id < 0) c.fail(fmt::format("activation '{}' is not supported", names[k]));
    p.act[(k / per_dir) * 3 + k % per_dir] = id;
    const ActInfo& a = kActs[id];
    auto take = [&](const std::vector<float>& v, size_t& n, float def, bool& have, float& dst) {
      const float val = n < v.size() ? v[n] : def;
      ++n;
      if (have && val != dst) c.fail("activations with different alpha or beta are not supported");
      have = true;
      dst = val;
    };
    if (a.params >= 1) take(alphas, na, a.alpha, have_alpha, p.alpha);
    if (a.params >= 2) take(betas, nb, a.beta, have_beta, p.beta);
  }
}

Lowered lower_rnn(OpContext& c, int32_t kind) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const Tensor& r = c.input(2);
  const int64_t gates = kind == kRnnLstm ? 4 : kind == kRnnGru ? 3 : 1;
  RnnParams p{};
  p.kind = kind;
  p.layout = c.opset() >= 14 ? static_cast<int32_t>(c.node.get_int("layout", 0)) : 0;
  if (p.layout != 0 && p.layout != 1) c.fail("layout must be 0 or 1");
  if (x.shape.size() != 3) c.fail("X must be 3-D");
  if (w.dtype != x.dtype || r.dtype != x.dtype) c.fail("X, W and R differ in type");
  const int64_t seq = x.shape[p.layout ? 1 : 0], batch = x.shape[p.layout ? 0 : 1], input = x.shape[2];
  const std::string direction = c.node.get_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    c.fail(fmt::format("direction '{}' is not supported", direction));
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const int64_t hidden = c.node.get_int("hidden_size", r.shape.size() == 3 ? r.shape[2] : 0);
  if (hidden < 1) c.fail(fmt::format("hidden_size {} must be positive", hidden));
  if (w.shape != Shape{dirs, gates * hidden, input}) c.fail("W has the wrong shape");
  if (r.shape != Shape{dirs, gates * hidden, hidden}) c.fail("R has the wrong shape");
  if (c.has(3) && c.input(3).shape != Shape{dirs, 2 * gates * hidden}) c.fail("B has the wrong shape");
  if (c.has(4)) {
    const Tensor& lens = c.input(4);
    if (lens.dtype != DType::Int32 && lens.dtype != DType::Int64)
      c.fail("sequence_lens must be int32 or int64");
    if (lens.shape != Shape{batch}) c.fail("sequence_lens has the wrong shape");
    if (lens.is_const)
      for (int64_t v : lens.ints())
        if (v < 0 || v > seq) c.fail(fmt::format("sequence length {} is out of range", v));
    p.lens64 = lens.dtype == DType::Int64;
  }
  const Shape state = p.layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  if (c.has(5) && c.input(5).shape != state) c.fail("initial_h has the wrong shape");
  if (kind == kRnnLstm) {
    if (c.has(6) && c.input(6).shape != state) c.fail("initial_c has the wrong shape");
    if (c.has(7) && c.input(7).shape != Shape{dirs, 3 * hidden}) c.fail("P has the wrong shape");
  }
  p.seq = i32(c, seq), p.batch = i32(c, batch), p.input = i32(c, input), p.hidden = i32(c, hidden);
  p.dirs = static_cast<int32_t>(dirs);
  p.reverse = direction == "reverse";
  if (kind == kRnnLstm) fill_activations(c, p, 3, {"Sigmoid", "Tanh", "Tanh"});
  else if (kind == kRnnGru) fill_activations(c, p, 2, {"Sigmoid", "Tanh"});
  else fill_activations(c, p, 1, {"Tanh"});
  if (c.node.has("clip")) {
    p.clip = c.node.get_float("clip", 0);
    if (!(p.clip > 0)) c.fail("clip must be positive");
  }
  p.input_forget = kind == kRnnLstm && c.node.get_int("input_forget", 0) != 0;
  p.linear_before_reset = kind == kRnnGru && c.node.get_int("linear_before_reset", 0) != 0;
  const Shape y = p.layout ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden};
  c.set_output(0, x.dtype, y);
  c.set_output(1, x.dtype, state);
  if (kind == kRnnLstm) c.set_output(2, x.dtype, state);
  Lowered l = TINYC_TYPED_KERNEL(p, tinyc::rnn, with_float_type, c, x.dtype);
  l.scratch_bytes = 3 * static_cast<size_t>(hidden) * dtype_size(x.dtype);
  return l;
}

}  // namespace

void register_rnn_ops(OpTable& t) {
  t["RNN"] = [](OpContext& c) { return lower_rnn(c, kRnnSimple); };
  t["GRU"] = [](OpContext& c) { return lower_rnn(c, kRnnGru); };
  t["LSTM"] = [](OpContext& c) { return lower_rnn(c, kRnnLstm); };
}

}  // namespace tinyc
