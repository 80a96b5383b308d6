// Neural-network layers: Conv, ConvTranspose, pooling, Gemm, MatMul, normalizations, Softmax.
#include <algorithm>

#include "ops/op.h"
#include "runtime/tinyc/int8.h"
#include "runtime/tinyc/nn.h"
#include "runtime/tinyc/quant.h"

namespace tinyc {
namespace {

// Spatial geometry of a convolution or pooling window along each axis.
struct Window {
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, out;
};

// Output size and padding per ONNX's rules for pads / auto_pad (and ceil_mode for pools).
Window window_of(OpContext& c, const Shape& x, const std::vector<int64_t>& kernel, bool ceil_mode) {
  const size_t nsp = x.size() - 2;
  if (kernel.size() != nsp) c.fail("kernel rank does not match the input");
  if (nsp < 1 || nsp > 3) c.fail(fmt::format("{}-D windows are not supported", nsp));
  Window w;
  w.in.assign(x.begin() + 2, x.end());
  w.kernel = kernel;
  w.stride = c.node.get_ints("strides", std::vector<int64_t>(nsp, 1));
  w.dilation = c.node.get_ints("dilations", std::vector<int64_t>(nsp, 1));
  std::vector<int64_t> pads = c.node.get_ints("pads", std::vector<int64_t>(2 * nsp, 0));
  if (w.stride.size() != nsp || w.dilation.size() != nsp || pads.size() != 2 * nsp)
    c.fail("strides, dilations or pads do not match the input rank");
  const std::string auto_pad = c.node.get_string("auto_pad", "NOTSET");
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t k = w.kernel[i], s = w.stride[i], d = w.dilation[i];
    if (k < 1 || s < 1 || d < 1) c.fail("kernel, strides and dilations must be positive");
    const int64_t span = (k - 1) * d + 1;
    int64_t pb = pads[i], pe = pads[i + nsp], o;
    if (pb < 0 || pe < 0) c.fail("negative pads");
    if (std::max({k, s, d, pb, pe}) > INT32_MAX) c.fail("kernel, strides, dilations or pads beyond int32");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      o = (w.in[i] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (o - 1) * s + span - w.in[i]);
      pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      if (auto_pad == "VALID") pb = pe = 0;
      else if (auto_pad != "NOTSET") c.fail(fmt::format("auto_pad '{}' is not supported", auto_pad));
      const int64_t room = w.in[i] + pb + pe - span;
      if (room < 0) c.fail("the window is larger than the padded input");
      o = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
      if (ceil_mode && (o - 1) * s >= w.in[i] + pb) --o;  // no window may start in the end padding
    }
    w.pad_begin.push_back(pb);
    w.pad_end.push_back(pe);
    w.out.push_back(o);
  }
  return w;
}

// Copies a Window into the 3-axis arrays of a params struct (1-D and 2-D get leading unit axes).
template <class P>
void fill_spatial(OpContext& c, const Window& w, P& p) {
  const size_t off = 3 - w.in.size();
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= off;
    const size_t j = i - off;
    p.in[i] = real ? i32(c, w.in[j]) : 1;
    p.out[i] = real ? i32(c, w.out[j]) : 1;
    p.kernel[i] = real ? i32(c, w.kernel[j]) : 1;
    p.stride[i] = real ? i32(c, w.stride[j]) : 1;
    p.dilation[i] = real ? i32(c, w.dilation[j]) : 1;
    p.pad[i] = real ? i32(c, w.pad_begin[j]) : 0;
  }
}

// Fused activation, set by the optimizer as attributes of the producing node.
template <class P>
void fill_activation(const Node& n, P& p) {
  const std::string act = n.get_string("tinyc_activation", "");
  p.act = act == "Relu" ? kActRelu : act == "Clip" ? kActClip : act == "LeakyRelu" ? kActLeakyRelu : kActNone;
  p.act_a = n.get_float("tinyc_act_a", 0);
  p.act_b = n.get_float("tinyc_act_b", 0);
}

}  // namespace

ConvParams conv_params(OpContext& c, const Tensor& x, const Tensor& w, const Tensor* bias, DType out_type,
                       bool channels_last_out) {
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) c.fail("input and weight ranks differ");
  const bool channels_last = c.node.get_int("tinyc_channels_last", 0) != 0;  // set by the optimizer
  Shape xs = x.shape;  // as [N, C, spatial...]
  if (channels_last) {
    xs = {x.shape.front(), x.shape.back()};
    xs.insert(xs.end(), x.shape.begin() + 1, x.shape.end() - 1);
  }
  const int64_t groups = c.node.get_int("group", 1);
  std::vector<int64_t> kernel = c.node.get_ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w.shape.begin() + 2, w.shape.end());
  // The kernels walk the weights by kernel_shape: it must be the weights' own (found by the fuzzer).
  if (!std::equal(kernel.begin(), kernel.end(), w.shape.begin() + 2, w.shape.end()))
    c.fail(fmt::format("kernel_shape [{}] differs from the weights' {}", fmt::join(kernel, ", "), shape_str(w.shape)));
  const Window win = window_of(c, xs, kernel, false);
  const int64_t m = w.shape[0];
  if (groups < 1 || xs[1] % groups || m % groups || w.shape[1] != xs[1] / groups)  // no product: group is any int64
    c.fail("channels do not match the weights and groups");
  if (bias && num_elements(bias->shape) != m) c.fail("bias size differs from the output channels");
  Shape out{xs[0]};
  if (!channels_last_out) out.push_back(m);
  out.insert(out.end(), win.out.begin(), win.out.end());
  if (channels_last_out) out.push_back(m);
  c.set_output(0, out_type, out);
  ConvParams p{};
  p.channels_last = channels_last;
  p.batch = i32(c, xs[0]);
  p.in_ch = i32(c, xs[1]);
  p.out_ch = i32(c, m);
  p.groups = i32(c, groups);
  fill_spatial(c, win, p);
  fill_activation(c.node, p);
  return p;
}

bool conv_in_place(const ConvParams& p) {
  if (p.channels_last) return false;
  if (is_pointwise(p)) return p.out_ch <= p.in_ch || p.batch == 1;
  const int64_t in_size = int64_t(p.in[0]) * p.in[1] * p.in[2], out_size = int64_t(p.out[0]) * p.out[1] * p.out[2];
  return p.groups == p.in_ch && p.out_ch == p.in_ch && out_size <= in_size;
}

Lowered lower_add_activation(OpContext& c) {
  const Tensor &a = c.input(0), &b = c.input(1);
  if (c.num_inputs() != 2 || a.dtype != b.dtype) c.fail("expects two inputs of one type");
  const Shape out = broadcast_shape(c, a.shape, b.shape);
  c.set_output(0, a.dtype, out);
  AddActParams p{};
  p.shape = make_broadcast(c, out, {a.shape, b.shape});
  fill_activation(c.node, p);
  return elementwise_in_place(c, TINYC_TYPED_KERNEL(p, tinyc::add_act, with_float_type, c, a.dtype));
}

bool pool_in_place(const int32_t in[3], const int32_t out[3], const int32_t pad_begin[3]) {
  for (int a = 0; a < 3; ++a)
    if (pad_begin[a] != 0 || out[a] > in[a]) return false;
  return true;
}

namespace {

Lowered lower_conv(OpContext& c) {
  const Tensor& x = c.input(0);
  const ConvParams p = conv_params(c, x, c.input(1), c.has(2) ? &c.input(2) : nullptr, x.dtype);
  Lowered l = TINYC_TYPED_KERNEL(p, tinyc::conv, with_float_type, c, x.dtype);
  const size_t elem = dtype_size(x.dtype);
  if (is_pointwise(p)) l.scratch_bytes = elem * static_cast<size_t>(p.in_ch);
  if (conv_in_place(p)) {
    l.in_place = 0;
    l.in_place_scratch = is_pointwise(p) ? l.scratch_bytes : elem * static_cast<size_t>(p.in[0] * p.in[1] * p.in[2]);
  }
  return l;
}

// Calls f(TX{}, TW{}, TO{}) for 8-bit integer input and weight types and an int32, int8 or uint8
// output: the type combinations of the integer convolutions and matrix products.
template <class F>
Lowered with_int8_types(OpContext& c, DType tx, DType tw, DType to, F f) {
  auto pick_out = [&](auto x, auto w) -> Lowered {
    if (to == DType::Int32) return f(x, w, int32_t{});
    if (to == DType::Int8) return f(x, w, int8_t{});
    if (to == DType::UInt8) return f(x, w, uint8_t{});
    c.fail(fmt::format("output type {} is not supported", dtype_name(to)));
  };
  auto pick_w = [&](auto x) -> Lowered {
    if (tw == DType::Int8) return pick_out(x, int8_t{});
    if (tw == DType::UInt8) return pick_out(x, uint8_t{});
    c.fail(fmt::format("weight type {} is not supported", dtype_name(tw)));
  };
  if (tx == DType::Int8) return pick_w(int8_t{});
  if (tx == DType::UInt8) return pick_w(uint8_t{});
  c.fail(fmt::format("input type {} is not supported", dtype_name(tx)));
}

// The output type of ConvInteger, MatMulInteger (int32) and QLinearConv, QLinearMatMul (that of
// y_zero_point, uint8 without).
DType integer_output_type(const OpContext& c, bool qlinear) {
  return qlinear ? (c.has(7) ? c.input(7).dtype : DType::UInt8) : DType::Int32;
}

// Whether the weight-side zero point or scale (QLinear only) is per channel.
bool per_channel(const OpContext& c, bool qlinear) {
  const size_t zp = qlinear ? 5 : 3;
  return (c.has(zp) && num_elements(c.input(zp).shape) > 1) || (qlinear && num_elements(c.input(4).shape) > 1);
}

// ConvInteger (x, w, x_zp, w_zp) and QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B).
Lowered lower_qconv(OpContext& c, bool qlinear) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(qlinear ? 3 : 1);
  const DType out_type = integer_output_type(c, qlinear);
  QConvParams p{};
  p.conv = conv_params(c, x, w, qlinear && c.has(8) ? &c.input(8) : nullptr, out_type);
  p.qlinear = qlinear;
  p.w_per_channel = per_channel(c, qlinear);
  if (qlinear) return TINYC_TYPED_KERNEL(p, tinyc::qlinear_conv, with_int8_types, c, x.dtype, w.dtype, out_type);
  return TINYC_TYPED_KERNEL(p, tinyc::conv_integer, with_int8_types, c, x.dtype, w.dtype, out_type);
}

Lowered lower_conv_transpose(OpContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size()) c.fail("input and weight ranks differ");
  const int64_t groups = c.node.get_int("group", 1);
  if (groups < 1 || groups > x.shape[1]) c.fail("channels do not match the weights");  // and m fits
  if (w.shape[0] != x.shape[1] || x.shape[1] % groups) c.fail("channels do not match the weights");
  const ConvParams p = conv_transpose_params(c, x, w.shape[1] * groups, Shape(w.shape.begin() + 2, w.shape.end()), x.dtype);
  return TINYC_TYPED_KERNEL(p, tinyc::conv_transpose, with_float_type, c, x.dtype);
}

}  // namespace

ConvParams conv_transpose_params(OpContext& c, const Tensor& x, int64_t m, const Shape& window, DType out_type) {
  const size_t nsp = x.shape.size() - 2;
  if (x.shape.size() < 3 || window.size() != nsp) c.fail("input and weight ranks differ");
  if (nsp > 3) c.fail("more than 3 spatial axes");
  const int64_t groups = c.node.get_int("group", 1);
  std::vector<int64_t> kernel = c.node.get_ints("kernel_shape");
  if (kernel.empty()) kernel = window;
  // The kernels walk the weights by kernel_shape: it must be the weights' own (found by the fuzzer).
  if (kernel != window)
    c.fail(fmt::format("kernel_shape [{}] differs from the weights' [{}]", fmt::join(kernel, ", "), fmt::join(window, ", ")));
  auto stride = c.node.get_ints("strides", std::vector<int64_t>(nsp, 1));
  auto dil = c.node.get_ints("dilations", std::vector<int64_t>(nsp, 1));
  auto pads = c.node.get_ints("pads", std::vector<int64_t>(2 * nsp, 0));
  auto out_pad = c.node.get_ints("output_padding", std::vector<int64_t>(nsp, 0));
  auto out_shape = c.node.get_ints("output_shape");
  const std::string auto_pad = c.node.get_string("auto_pad", "NOTSET");
  if (kernel.size() != nsp || stride.size() != nsp || dil.size() != nsp || pads.size() != 2 * nsp ||
      out_pad.size() != nsp)
    c.fail("attributes do not match the input rank");
  Window win;
  win.in.assign(x.shape.begin() + 2, x.shape.end());
  win.kernel = kernel, win.stride = stride, win.dilation = dil;
  if (!out_shape.empty() && out_shape.size() < nsp) c.fail("output_shape does not match the input rank");
  auto big = [](int64_t v) { return v < INT32_MIN || v > INT32_MAX; };
  for (size_t i = 0; i < nsp; ++i) {
    if (big(stride[i]) || big(dil[i]) || big(out_pad[i]) || big(pads[i]) || big(pads[i + nsp]) ||
        (!out_shape.empty() && big(out_shape[out_shape.size() - nsp + i])))
      c.fail("strides, dilations, pads or output_shape beyond int32");
    const int64_t full = stride[i] * (win.in[i] - 1) + out_pad[i] + (kernel[i] - 1) * dil[i] + 1;
    int64_t o, pb;
    if (!out_shape.empty()) {
      o = out_shape[out_shape.size() - nsp + i];
      // A requested output larger than the full one is padded at the end (like output_padding).
      const int64_t total = std::max<int64_t>(0, full - o);
      pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      o = win.in[i] * stride[i];
      const int64_t total = full - o;
      pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      pb = auto_pad == "VALID" ? 0 : pads[i];
      const int64_t pe = auto_pad == "VALID" ? 0 : pads[i + nsp];
      o = full - pb - pe;
    }
    win.out.push_back(o);
    win.pad_begin.push_back(pb);
  }
  Shape out{x.shape[0], m};
  out.insert(out.end(), win.out.begin(), win.out.end());
  c.set_output(0, out_type, out);
  ConvParams p{};
  p.batch = i32(c, x.shape[0]);
  p.in_ch = i32(c, x.shape[1]);
  p.out_ch = i32(c, m);
  p.groups = i32(c, groups);
  fill_spatial(c, win, p);
  fill_activation(c.node, p);
  return p;
}

namespace {

Lowered lower_pool(OpContext& c, int32_t kind, bool global) {
  const Tensor& x = c.input(0);
  if (x.shape.size() < 3) c.fail("input must have spatial axes");
  if (c.out.size() > 1 && c.out[1]) c.fail("the Indices output is not supported");
  std::vector<int64_t> kernel = global ? Shape(x.shape.begin() + 2, x.shape.end())
                                       : c.node.get_ints("kernel_shape");
  Window win;
  if (global) {
    win.in = kernel, win.kernel = kernel;
    const size_t nsp = kernel.size();
    if (nsp > 3) c.fail("more than 3 spatial axes");
    win.stride = win.dilation = win.out = std::vector<int64_t>(nsp, 1);
    win.pad_begin = win.pad_end = std::vector<int64_t>(nsp, 0);
  } else {
    win = window_of(c, x.shape, kernel, c.node.get_int("ceil_mode", 0) != 0);
  }
  Shape out{x.shape[0], x.shape[1]};
  out.insert(out.end(), win.out.begin(), win.out.end());
  c.set_output(0, x.dtype, out);
  PoolParams p{};
  p.kind = kind;
  p.planes = i32(c, x.shape[0] * x.shape[1]);
  fill_spatial(c, win, p);
  const size_t off = 3 - win.in.size();
  for (size_t i = 0; i < 3; ++i) p.pad_end[i] = i >= off ? i32(c, win.pad_end[i - off]) : 0;
  p.count_include_pad = static_cast<int32_t>(c.node.get_int("count_include_pad", 0));
  p.p = static_cast<float>(c.node.get_int("p", 2));
  if (kind == kPoolMax && x.dtype == DType::Int8 && p.in[0] == 1 && p.kernel[0] == 1) {  // rows, DSP
    Lowered l = with_reference(TINYC_KERNEL(p, tinyc::max_pool_s8), p, &pool<int8_t>);
    l.scratch_bytes = static_cast<size_t>(p.in[2]);
    if (pool_in_place(p.in, p.out, p.pad)) l.in_place = 0, l.in_place_scratch = l.scratch_bytes;
    return l;
  }
  Lowered l = kind != kPoolMax ? TINYC_TYPED_KERNEL(p, tinyc::pool, with_float_type, c, x.dtype)
                                : TINYC_TYPED_KERNEL(p, tinyc::pool, with_type, c, x.dtype);  // max: integers too
  if (pool_in_place(p.in, p.out, p.pad)) l.in_place = 0;
  return l;
}

Lowered lower_gemm(OpContext& c) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  if (a.shape.size() != 2 || b.shape.size() != 2) c.fail("A and B must be 2-D");
  GemmParams p{};
  p.trans_a = static_cast<int32_t>(c.node.get_int("transA", 0));
  p.trans_b = static_cast<int32_t>(c.node.get_int("transB", 0));
  const int64_t m = p.trans_a ? a.shape[1] : a.shape[0], k = p.trans_a ? a.shape[0] : a.shape[1];
  const int64_t kb = p.trans_b ? b.shape[1] : b.shape[0], n = p.trans_b ? b.shape[0] : b.shape[1];
  if (k != kb) c.fail(fmt::format("inner dimensions differ ({} vs {})", k, kb));
  p.m = i32(c, m), p.k = i32(c, k), p.n = i32(c, n);
  p.alpha = c.node.get_float("alpha", 1.0f);
  p.beta = c.node.get_float("beta", 1.0f);
  if (c.has(2)) {
    Shape cs = c.input(2).shape;
    if (cs.size() > 2) c.fail("C must be at most 2-D");
    while (cs.size() < 2) cs.insert(cs.begin(), 1);
    if ((cs[0] != 1 && cs[0] != m) || (cs[1] != 1 && cs[1] != n)) c.fail("C does not broadcast to [M, N]");
    p.c_stride_m = cs[0] == 1 ? 0 : i32(c, cs[1]);
    p.c_stride_n = cs[1] == 1 ? 0 : 1;
  }
  fill_activation(c.node, p);
  c.set_output(0, a.dtype, {m, n});
  return TINYC_TYPED_KERNEL(p, tinyc::gemm, with_float_type, c, a.dtype);
}

// Shapes of a batched, broadcasting matrix product; sets output 0 to `out_type`.
MatMulParams matmul_params(OpContext& c, const Tensor& a, const Tensor& b, DType out_type) {
  Shape sa = a.shape, sb = b.shape;
  if (sa.empty() || sb.empty()) c.fail("inputs must not be scalars");
  const bool a1 = sa.size() == 1, b1 = sb.size() == 1;
  if (a1) sa.insert(sa.begin(), 1);
  if (b1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k) c.fail(fmt::format("inner dimensions differ ({} vs {})", k, sb[sb.size() - 2]));
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  Shape batch = broadcast_shape(c, ba, bb);
  Shape out = batch;
  if (!a1) out.push_back(m);
  if (!b1) out.push_back(n);
  c.set_output(0, out_type, out);
  if (batch.size() > kMaxRank) c.fail("rank too high");
  MatMulParams p{};
  p.m = i32(c, m), p.k = i32(c, k), p.n = i32(c, n);
  if (batch.empty()) batch.push_back(1);
  p.batch_rank = static_cast<int32_t>(batch.size());
  const Shape* parts[2] = {&ba, &bb};
  const int64_t mat[2] = {m * k, k * n};
  for (int t = 0; t < 2; ++t) {
    const Shape& s = *parts[t];
    const auto st = strides_of(s);
    for (size_t i = 0; i < batch.size(); ++i) {
      const int64_t j = static_cast<int64_t>(i) - static_cast<int64_t>(batch.size() - s.size());
      p.strides[t][i] = (j < 0 || s[j] == 1) ? 0 : i32(c, st[j] * mat[t]);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) p.batch[i] = i32(c, batch[i]);
  return p;
}

Lowered lower_matmul(OpContext& c) {
  const Tensor& a = c.input(0);
  const MatMulParams p = matmul_params(c, a, c.input(1), a.dtype);
  return TINYC_TYPED_KERNEL(p, tinyc::matmul, with_type, c, a.dtype);
}

// MatMulInteger (a, b, a_zp, b_zp) and QLinearMatMul (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp).
Lowered lower_qmatmul(OpContext& c, bool qlinear) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(qlinear ? 3 : 1);
  const DType out_type = integer_output_type(c, qlinear);
  QMatMulParams p{};
  p.mm = matmul_params(c, a, b, out_type);
  p.qlinear = qlinear;
  p.b_per_column = per_channel(c, qlinear);
  if (c.has(2) && num_elements(c.input(2).shape) > 1) c.fail("per-row zero points of A are not supported");
  if (qlinear) return TINYC_TYPED_KERNEL(p, tinyc::qlinear_matmul, with_int8_types, c, a.dtype, b.dtype, out_type);
  return TINYC_TYPED_KERNEL(p, tinyc::matmul_integer, with_int8_types, c, a.dtype, b.dtype, out_type);
}

NormParams channel_view(OpContext& c, const Shape& s, float eps) {
  if (s.size() < 2) c.fail("input must be at least 2-D");
  NormParams p{};
  p.outer = i32(c, s[0]);
  p.channels = i32(c, s[1]);
  p.inner = i32(c, num_elements(s) / std::max<int64_t>(1, s[0] * s[1]));
  p.epsilon = eps;
  return p;
}

Lowered lower_batch_norm(OpContext& c) {
  const Tensor& x = c.input(0);
  if (c.node.get_int("training_mode", 0) || (c.out.size() > 1 && c.out[1]))
    c.fail("training mode is not supported");
  for (size_t i = 1; i < 5; ++i)
    if (num_elements(c.input(i).shape) != (x.shape.size() > 1 ? x.shape[1] : 0))
      c.fail("parameter sizes differ from the channels");
  c.set_output(0, x.dtype, x.shape);
  const NormParams p = channel_view(c, x.shape, c.node.get_float("epsilon", 1e-5f));
  return TINYC_TYPED_KERNEL(p, tinyc::batch_norm, with_float_type, c, x.dtype);
}

Lowered lower_instance_norm(OpContext& c) {
  const Tensor& x = c.input(0);
  c.set_output(0, x.dtype, x.shape);
  const NormParams p = channel_view(c, x.shape, c.node.get_float("epsilon", 1e-5f));
  return TINYC_TYPED_KERNEL(p, tinyc::instance_norm, with_float_type, c, x.dtype);
}

Lowered lower_layer_norm(OpContext& c) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const int64_t axis = norm_axis(c, c.node.get_int("axis", -1), r);
  NormParams p{};
  int64_t outer = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= x.shape[a];
  p.outer = i32(c, outer);
  p.channels = 1;
  p.inner = i32(c, num_elements(x.shape) / std::max<int64_t>(outer, 1));
  p.epsilon = c.node.get_float("epsilon", 1e-5f);
  if (num_elements(c.input(1).shape) != p.inner) c.fail("scale must cover the normalized axes");
  if (c.has(2) && num_elements(c.input(2).shape) != p.inner) c.fail("bias must cover the normalized axes");
  c.set_output(0, x.dtype, x.shape);
  Shape stat(x.shape.begin(), x.shape.begin() + axis);
  stat.resize(x.shape.size(), 1);
  c.set_output(1, DType::Float, stat);
  c.set_output(2, DType::Float, stat);
  return TINYC_TYPED_KERNEL(p, tinyc::layer_norm, with_float_type, c, x.dtype);
}

Lowered lower_softmax(OpContext& c, int32_t kind) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const bool legacy = c.opset() < 13;
  const int64_t axis = norm_axis(c, c.node.get_int("axis", legacy ? 1 : -1), r);
  SoftmaxParams p{};
  p.kind = kind;
  int64_t outer, inner;
  split_at(x.shape, axis, &outer, &inner);
  p.outer = i32(c, outer);
  p.axis = i32(c, legacy ? x.shape[axis] * inner : x.shape[axis]);
  p.inner = legacy ? 1 : i32(c, inner);
  c.set_output(0, x.dtype, x.shape);
  return TINYC_TYPED_KERNEL(p, tinyc::softmax, with_float_type, c, x.dtype);
}

Lowered lower_lrn(OpContext& c) {
  const Tensor& x = c.input(0);
  c.set_output(0, x.dtype, x.shape);
  const NormParams v = channel_view(c, x.shape, 0);
  LrnParams p{v.outer, v.channels, v.inner, static_cast<int32_t>(c.node.get_int("size", 1)),
              c.node.get_float("alpha", 1e-4f), c.node.get_float("beta", 0.75f),
              c.node.get_float("bias", 1.0f)};
  return TINYC_TYPED_KERNEL(p, tinyc::lrn, with_float_type, c, x.dtype);
}

}  // namespace

void register_nn_ops(OpTable& t) {
  t["Conv"] = lower_conv;
  t["ConvTranspose"] = lower_conv_transpose;
  t["MaxPool"] = [](OpContext& c) {
    if (c.node.get_int("storage_order", 0)) c.fail("storage_order 1 is not supported");
    return lower_pool(c, kPoolMax, false);
  };
  t["AveragePool"] = [](OpContext& c) { return lower_pool(c, kPoolAvg, false); };
  t["LpPool"] = [](OpContext& c) { return lower_pool(c, kPoolLp, false); };
  t["GlobalAveragePool"] = [](OpContext& c) { return lower_pool(c, kPoolAvg, true); };
  t["GlobalMaxPool"] = [](OpContext& c) { return lower_pool(c, kPoolMax, true); };
  t["GlobalLpPool"] = [](OpContext& c) { return lower_pool(c, kPoolLp, true); };
  t["Gemm"] = lower_gemm;
  t["MatMul"] = lower_matmul;
  t["MatMulInteger"] = [](OpContext& c) { return lower_qmatmul(c, false); };
  t["QLinearMatMul"] = [](OpContext& c) { return lower_qmatmul(c, true); };
  t["ConvInteger"] = [](OpContext& c) { return lower_qconv(c, false); };
  t["QLinearConv"] = [](OpContext& c) { return lower_qconv(c, true); };
  t["BatchNormalization"] = lower_batch_norm;
  t["InstanceNormalization"] = lower_instance_norm;
  t["LayerNormalization"] = lower_layer_norm;
  t["Softmax"] = [](OpContext& c) { return lower_softmax(c, kSoftmax); };
  t["LogSoftmax"] = [](OpContext& c) { return lower_softmax(c, kLogSoftmax); };
  t["Hardmax"] = [](OpContext& c) { return lower_softmax(c, kHardmax); };
  t["LRN"] = lower_lrn;
}

}  // namespace tinyc
