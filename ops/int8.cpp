// tinyc's own int8 operators, made by the quantizer (quantizer/quantize.cpp): ConvS8,
// FullyConnectedS8, AddS8, AvgPoolS8, ReluS8, LookupS8 (any elementwise function), SoftmaxS8, ...
// Scales and zero points are those of their tensors (Tensor::quant), from which each lowering
// derives its kernel's constants as TFLite's Prepare does; per-channel multipliers and shifts,
// and tables, are constant inputs the quantizer computed.
#include "ops/op.h"
#include "runtime/tinyc/int8.h"
#include "runtime/tinyc/int8/reference.h"

namespace tinyc {
namespace {

int32_t attr32(OpContext& c, const char* name) {
  if (!c.node.has(name)) c.fail(fmt::format("missing attribute {}", name));
  return static_cast<int32_t>(c.node.get_int(name, 0));
}

void check_int8(OpContext& c, size_t i) {
  if (c.input(i).dtype != DType::Int8) c.fail(fmt::format("input {} must be int8", i));
}

// The per-tensor scale and zero point of an int8 tensor, kept in the IR by the quantizer.
struct Params8 {
  float scale;
  int32_t zero_point;
};
Params8 params_of(OpContext& c, const Tensor& t) {
  if (t.quant.empty() || t.quant.zero_point.empty()) c.fail(fmt::format("tensor '{}' has no quantization", t.name));
  return {t.quant.scale[0], t.quant.zero_point[0]};
}
Params8 input_params(OpContext& c, size_t i) { return params_of(c, c.input(i)); }
Params8 output_params(OpContext& c) { return params_of(c, *c.out[0]); }

// f(std::true_type) or f(std::false_type): a flag known at run time as a compile-time one.
template <class F>
auto with_flag(bool b, F f) {
  return b ? f(std::true_type()) : f(std::false_type());
}

// A fast convolution kernel with the rounding R and output layout Out of the params: Kernel<R,
// Out>::run, and its name as the generated code spells it, `pattern` with {0} for R and {1} for
// Out; both from the same constants.
template <template <Rounding, Layout> class Kernel>
Lowered conv_s8_kernel(const char* pattern, const ConvS8Params& p) {
  return with_flag(p.float_requant, [&](auto onnx) {
    return with_flag(p.channels_last_out, [&](auto last) {
      constexpr Rounding R = decltype(onnx)::value ? Rounding::OnnxFloat : Rounding::TFLite;
      constexpr Layout Out = decltype(last)::value ? Layout::ChannelsLast : Layout::ChannelsFirst;
      const std::string name = fmt::format(fmt::runtime(pattern), R == Rounding::OnnxFloat ? "tinyc::Rounding::OnnxFloat" : "tinyc::Rounding::TFLite",
                                           Out == Layout::ChannelsLast ? "tinyc::Layout::ChannelsLast" : "tinyc::Layout::ChannelsFirst");
      return make_kernel(name, p, Kernel<R, Out>::run);
    });
  });
}
template <Rounding R, Layout Out> struct Im2col3 { static constexpr auto run = &conv_s8_im2col<R, 3, Out>; };
template <Rounding R, Layout Out> struct Im2col4 { static constexpr auto run = &conv_s8_im2col<R, 4, Out>; };
template <Rounding R, Layout Out> struct Im2col { static constexpr auto run = &conv_s8_im2col<R, 0, Out>; };
template <Rounding R, Layout Out> struct Depthwise3x3 { static constexpr auto run = &depthwise_s8<3, 3, R, Out>; };
template <Rounding R, Layout Out> struct Depthwise { static constexpr auto run = &depthwise_s8<0, 0, R, Out>; };

// ConvS8Params of a convolution's geometry g (ConvS8 and ConvTransposeS8): the zero points of its
// tensors, the output clamp, the bias's width and (a float scale input) ONNX's rounding.
ConvS8Params conv_s8_params(OpContext& c, const ConvParams& g) {
  ConvS8Params p{};
  p.batch = g.batch, p.in_ch = g.in_ch, p.out_ch = g.out_ch, p.groups = g.groups, p.channels_last = g.channels_last;
  for (int a = 0; a < 3; ++a) {
    p.in[a] = g.in[a], p.out[a] = g.out[a], p.kernel[a] = g.kernel[a];
    p.stride[a] = g.stride[a], p.dilation[a] = g.dilation[a], p.pad[a] = g.pad[a];
  }
  p.input_zero_point = input_params(c, 0).zero_point;
  p.output_zero_point = output_params(c).zero_point;
  p.act_min = attr32(c, "tinyc_act_min");
  p.act_max = attr32(c, "tinyc_act_max");
  p.float_requant = c.has(5);
  p.bias16 = c.input(2).dtype == DType::Int16;
  return p;
}

// x, w, bias, multiplier, shift[, float scale: ONNX rounding]. Attributes as Conv's, with
// tinyc_channels_last (x NHWC, w [M, k..., C/g]) and tinyc_channels_last_out (y NHWC).
Lowered lower_conv_s8(OpContext& c) {
  check_int8(c, 0);
  check_int8(c, 1);
  const bool last_out = c.node.get_int("tinyc_channels_last_out", 0) != 0;
  ConvParams g = conv_params(c, c.input(0), c.input(1), &c.input(2), DType::Int8, last_out);
  ConvS8Params p = conv_s8_params(c, g);
  p.channels_last_out = last_out;
  // The kernel for the shape: a padded plane per channel for depthwise (3x3 unrolled), im2col and
  // dot products for one group, the weight-stationary reference otherwise.
  const size_t in_plane = static_cast<size_t>(g.in[0] * g.in[1] * g.in[2]);
  const bool depthwise = g.groups == g.in_ch && g.out_ch == g.in_ch && g.in[0] == 1 && g.kernel[0] == 1;
  Lowered l;
  g.channels_last = g.channels_last || p.channels_last_out;  // (conv_in_place: not over a channels-last tensor)
  if (depthwise) {
    const bool k3 = g.kernel[1] == 3 && g.kernel[2] == 3;
    l = k3 ? conv_s8_kernel<Depthwise3x3>("tinyc::depthwise_s8<3, 3, {0}, {1}>", p)
           : conv_s8_kernel<Depthwise>("tinyc::depthwise_s8<0, 0, {0}, {1}>", p);
    l.scratch_bytes = depthwise_s8_scratch_bytes(p);
    if (conv_in_place(g)) l.in_place = 0, l.in_place_scratch = l.scratch_bytes;
  } else if (g.groups == 1) {
    if (g.kernel[2] == 3)  // the commonest widths, their gather written out
      l = conv_s8_kernel<Im2col3>("tinyc::conv_s8_im2col<{0}, 3, {1}>", p);
    else if (g.kernel[2] == 4)
      l = conv_s8_kernel<Im2col4>("tinyc::conv_s8_im2col<{0}, 4, {1}>", p);
    else
      l = conv_s8_kernel<Im2col>("tinyc::conv_s8_im2col<{0}, 0, {1}>", p);
    l.scratch_bytes = conv_s8_im2col_scratch_bytes(p, c.isa);
    if (conv_in_place(g)) {  // pointwise
      l.in_place = 0, l.in_place_scratch = l.scratch_bytes;
    } else if (const int64_t lead = conv_s8_im2col_lead(p); lead >= 0 && size_t(lead) < c.out[0]->bytes()) {
      l.in_place = 0, l.in_place_scratch = l.scratch_bytes, l.in_place_lead = size_t(lead);  // over the input's rest
    }
  } else {
    l = TINYC_KERNEL(p, tinyc::conv_s8);
    const size_t accumulators = sizeof(int32_t) * static_cast<size_t>(g.out[2]);
    l.scratch_bytes = accumulators;
    if (conv_in_place(g)) l.in_place = 0, l.in_place_scratch = accumulators + in_plane;
  }
  return with_reference(l, p, &reference::conv_s8);
}

// x, w [M, C/g, k...], bias, multiplier, shift[, float scale]; ConvTranspose's attributes.
Lowered lower_conv_transpose_s8(OpContext& c) {
  check_int8(c, 0);
  check_int8(c, 1);
  const Tensor &x = c.input(0), &w = c.input(1);
  const int64_t groups = c.node.get_int("group", 1);
  if (x.shape.size() < 3 || w.shape.size() != x.shape.size() || groups < 1 || x.shape[1] % groups ||
      w.shape[1] * groups != x.shape[1] || w.shape[0] % groups)
    c.fail("channels do not match the weights and groups");
  const ConvParams g = conv_transpose_params(c, x, w.shape[0], Shape(w.shape.begin() + 2, w.shape.end()), DType::Int8);
  if (num_elements(c.input(2).shape) != w.shape[0]) c.fail("bias size differs from the output channels");
  return TINYC_KERNEL(conv_s8_params(c, g), tinyc::conv_transpose_s8);
}

Lowered lower_fully_connected_s8(OpContext& c) {
  check_int8(c, 0);
  check_int8(c, 1);
  const Shape& x = c.input(0).shape;
  const Shape& w = c.input(1).shape;
  if (x.size() != 2 || w.size() != 2 || x[1] != w[1]) c.fail("expects x [rows, depth] and w [units, depth]");
  c.set_output(0, DType::Int8, {x[0], w[0]});
  FullyConnectedS8Params p{i32(c, x[0]), i32(c, x[1]), i32(c, w[0]), output_params(c).zero_point, attr32(c, "tinyc_act_min"),
                           attr32(c, "tinyc_act_max"), c.has(5), c.input(2).dtype == DType::Int16};
  return with_reference(p.float_requant ? TINYC_KERNEL(p, tinyc::fully_connected_s8<tinyc::Rounding::OnnxFloat>)
                                       : TINYC_KERNEL(p, tinyc::fully_connected_s8<tinyc::Rounding::TFLite>),
                        p, &reference::fully_connected_s8);
}

Lowered lower_add_s8(OpContext& c) {
  check_int8(c, 0);
  check_int8(c, 1);
  const Shape out = broadcast_shape(c, c.input(0).shape, c.input(1).shape);
  c.set_output(0, DType::Int8, out);
  AddS8Params p{};
  p.shape = make_broadcast(c, out, {c.input(0).shape, c.input(1).shape});
  // TFLite's quantized Add: both inputs on twice the larger scale, 20 bits left.
  const Params8 a = input_params(c, 0), b = input_params(c, 1), y = output_params(c);
  const double twice_max = 2.0 * std::max(a.scale, b.scale);
  quantize_multiplier(a.scale / twice_max, &p.multiplier[0], &p.shift[0]);
  quantize_multiplier(b.scale / twice_max, &p.multiplier[1], &p.shift[1]);
  quantize_multiplier(twice_max / ((1 << 20) * double(y.scale)), &p.output_multiplier, &p.output_shift);
  p.zero_point[0] = a.zero_point, p.zero_point[1] = b.zero_point;
  p.output_zero_point = y.zero_point;
  p.act_min = attr32(c, "tinyc_act_min");
  p.act_max = attr32(c, "tinyc_act_max");
  if (c.node.get_int("tinyc_subtract", 0))
    return elementwise_in_place(c, with_reference(TINYC_KERNEL(p, tinyc::sub_s8), p, &reference::add_s8<true>));
  return elementwise_in_place(c, with_reference(TINYC_KERNEL(p, tinyc::add_s8), p, &reference::add_s8<false>));
}

Lowered lower_avg_pool_s8(OpContext& c) {
  check_int8(c, 0);
  const Shape& x = c.input(0).shape;
  if (x.size() < 3 || x.size() > 5) c.fail("expects 1-D to 3-D spatial input");
  const size_t nsp = x.size() - 2, off = 3 - nsp;
  const bool global = c.node.get_int("tinyc_global", 0) != 0;
  const std::vector<int64_t> kernel = global ? Shape(x.begin() + 2, x.end()) : c.node.get_ints("kernel_shape");
  const std::vector<int64_t> stride = global ? std::vector<int64_t>(nsp, 1) : c.node.get_ints("strides", std::vector<int64_t>(nsp, 1));
  const std::vector<int64_t> pads = global ? std::vector<int64_t>(2 * nsp, 0) : c.node.get_ints("pads", std::vector<int64_t>(2 * nsp, 0));
  if (kernel.size() != nsp || stride.size() != nsp || pads.size() != 2 * nsp) c.fail("attributes do not match the input");
  AvgPoolS8Params p{};
  p.planes = i32(c, x[0] * x[1]);
  p.count_include_pad = static_cast<int32_t>(c.node.get_int("count_include_pad", 0));
  Shape out{x[0], x[1]};
  for (size_t i = 0; i < 3; ++i) {
    p.in[i] = p.out[i] = p.kernel[i] = p.stride[i] = 1;
    if (i < off) continue;
    const size_t j = i - off;
    const int64_t o = (x[2 + j] + pads[j] + pads[j + nsp] - kernel[j]) / stride[j] + 1;
    if (o < 1) c.fail("the window is larger than the padded input");
    p.in[i] = i32(c, x[2 + j]), p.kernel[i] = i32(c, kernel[j]), p.stride[i] = i32(c, stride[j]);
    p.pad[i] = i32(c, pads[j]), p.out[i] = i32(c, o);
    out.push_back(o);
  }
  // Other output parameters, or padding that counts as the real 0 (the zero point): average_s8's
  // requantizing form.
  const Quantization &qx = c.input(0).quant, &qy = c.out[0]->quant;
  const bool padded = p.count_include_pad && std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v != 0; });
  if (!qx.empty() && !qy.empty() &&
      (qx.scale[0] != qy.scale[0] || qx.zero_point[0] != qy.zero_point[0] || (padded && qx.zero_point[0] != 0) ||
       c.node.get_int("tinyc_round_half_even", 0)))
    p.scale = qx.scale[0] / qy.scale[0], p.input_zero_point = qx.zero_point[0], p.output_zero_point = qy.zero_point[0];
  c.set_output(0, DType::Int8, out);
  Lowered l = with_reference(TINYC_KERNEL(p, tinyc::avg_pool_s8), p, &reference::avg_pool_s8);
  if (pool_in_place(p.in, p.out, p.pad)) l.in_place = 0;
  return l;
}

// max(x, zero point): Relu in the quantized domain.
Lowered lower_relu_s8(OpContext& c) {
  check_int8(c, 0);
  c.set_output(0, DType::Int8, c.input(0).shape);
  ClipParams p{i32(c, num_elements(c.input(0).shape)), 0, 0, float(std::max(-128, input_params(c, 0).zero_point)), 127.0f};
  return elementwise_in_place(c, TINYC_KERNEL(p, tinyc::clip<int8_t>));
}

// x, table int8 [256]
// (Also bytes of uint8 to int8 or back: the table's type is the output's.)
Lowered lower_lookup_s8(OpContext& c) {
  const DType x = c.input(0).dtype, table = c.input(1).dtype;
  if ((x != DType::Int8 && x != DType::UInt8) || (table != DType::Int8 && table != DType::UInt8) ||
      num_elements(c.input(1).shape) != 256)
    c.fail("expects int8 or uint8 input and an int8 or uint8 table [256]");
  c.set_output(0, table, c.input(0).shape);
  const LookupS8Params p{i32(c, num_elements(c.input(0).shape))};
  return elementwise_in_place(c, TINYC_KERNEL(p, tinyc::lookup_s8));
}

// SoftmaxS8 and LogSoftmaxS8's inputs x, exp table uint16 [256], checked; sets the output; x
// viewed as [lines, last axis].
void softmax_lines(OpContext& c, int32_t* lines, int32_t* axis) {
  check_int8(c, 0);
  if (c.input(1).dtype != DType::UInt16 || num_elements(c.input(1).shape) != 256) c.fail("the table must be uint16 [256]");
  const Shape& x = c.input(0).shape;
  if (x.empty()) c.fail("input must not be a scalar");
  c.set_output(0, DType::Int8, x);
  *lines = i32(c, num_elements(x) / std::max<int64_t>(x.back(), 1)), *axis = i32(c, x.back());
}

// x, exp table uint16 [256]; softmax along the last axis
Lowered lower_softmax_s8(OpContext& c) {
  SoftmaxS8Params p{};
  softmax_lines(c, &p.outer, &p.axis);
  const Params8 y = output_params(c);
  const double inv_scale = std::round(65536.0 / y.scale);
  if (!(inv_scale >= 1 && inv_scale < 2147483648.0)) c.fail("its output scale has no int8 softmax");
  p.inner = 1, p.output_zero_point = y.zero_point, p.inv_output_scale = int32_t(inv_scale);
  return TINYC_KERNEL(p, tinyc::softmax_s8);
}

// x, multiplier int32 [C], shift int8 [C], sign int8 [C] of the negative side; the channels along
// attribute tinyc_axis.
Lowered lower_prelu_s8(OpContext& c) {
  check_int8(c, 0);
  const Shape& x = c.input(0).shape;
  const int64_t axis = norm_axis(c, c.node.get_int("tinyc_axis", 1), static_cast<int64_t>(x.size()));
  int64_t outer, inner;
  split_at(x, axis, &outer, &inner);
  for (size_t i = 1; i < 4; ++i)
    if (num_elements(c.input(i).shape) != x[static_cast<size_t>(axis)]) c.fail("one multiplier, shift and sign per channel");
  if (c.input(1).dtype != DType::Int32 || c.input(2).dtype != DType::Int8 || c.input(3).dtype != DType::Int8)
    c.fail("multipliers int32, shifts and signs int8");
  c.set_output(0, DType::Int8, x);
  const Params8 qx = input_params(c, 0), qy = output_params(c);
  PReluS8Params p{i32(c, outer), i32(c, x[static_cast<size_t>(axis)]), i32(c, inner), qx.zero_point, qy.zero_point, 0, 0};
  quantize_multiplier(double(qx.scale) / qy.scale, &p.multiplier, &p.shift);  // the positive side
  return elementwise_in_place(c, TINYC_KERNEL(p, tinyc::prelu_s8));
}

// x, exp table uint16 [256] (as SoftmaxS8's); log-softmax along the last axis
Lowered lower_log_softmax_s8(OpContext& c) {
  LogSoftmaxS8Params p{};
  softmax_lines(c, &p.outer, &p.axis);
  const Params8 qx = input_params(c, 0), qy = output_params(c);
  const double ratio = std::round(65536.0 * qx.scale / qy.scale);
  if (!(ratio >= 1 && ratio < 8388608.0)) c.fail("its input and output scales are too far apart for int8");
  p.inner = 1, p.output_zero_point = qy.zero_point, p.ratio = int32_t(ratio), p.inv_output_scale = 1.0f / qy.scale;
  return TINYC_KERNEL(p, tinyc::log_softmax_s8);
}

// Concat of int8 inputs, each requantized to the output's parameters.
Lowered lower_concat_s8(OpContext& c) {
  const Shape& x0 = c.input(0).shape;
  const int64_t r = static_cast<int64_t>(x0.size());
  const int64_t axis = norm_axis(c, c.node.get_int("axis", 0), r);
  if (c.num_inputs() > kMaxInputs) c.fail(fmt::format("more than {} inputs", kMaxInputs));
  const Params8 y = output_params(c);
  ConcatS8Params p{};
  int64_t outer = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= x0[a];
  Shape out = x0;
  out[axis] = 0;
  p.layout.outer = i32(c, outer);
  p.layout.count = static_cast<int32_t>(c.num_inputs());
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    check_int8(c, i);
    const Shape& s = c.input(i).shape;
    if (static_cast<int64_t>(s.size()) != r) c.fail("inputs differ in rank");
    for (int64_t a = 0; a < r; ++a)
      if (a != axis && s[a] != x0[a]) c.fail("inputs differ outside the concat axis");
    out[axis] += s[axis];
    p.layout.chunk[i] = i32(c, outer ? num_elements(s) / outer : 0);
    const Params8 x = input_params(c, i);  // requantized where its parameters differ (multiplier 0: a copy)
    p.zero_point[i] = x.zero_point, p.multiplier[i] = 0, p.shift[i] = 0;
    if (x.scale != y.scale || x.zero_point != y.zero_point) quantize_multiplier(double(x.scale) / y.scale, &p.multiplier[i], &p.shift[i]);
  }
  p.output_zero_point = y.zero_point;
  c.set_output(0, DType::Int8, out);
  return TINYC_KERNEL(p, tinyc::concat_s8);
}

}  // namespace

// The quantizer's own operators (domain tinyc), by the names it gives them.
void register_int8_ops(OpTable& t) {
  t.insert({
      {"ConvS8", lower_conv_s8},                      // conv_s8, conv_s8_im2col, depthwise_s8
      {"FullyConnectedS8", lower_fully_connected_s8},  // fully_connected_s8
      {"AddS8", lower_add_s8},                        // add_s8
      {"AvgPoolS8", lower_avg_pool_s8},               // avg_pool_s8 (max pooling is MaxPool's, ops/nn.cpp)
      {"ReluS8", lower_relu_s8},                      // clip<int8_t>
      {"LookupS8", lower_lookup_s8},                  // lookup_s8
      {"SoftmaxS8", lower_softmax_s8},                // softmax_s8
      {"LogSoftmaxS8", lower_log_softmax_s8},         // log_softmax_s8
      {"PReluS8", lower_prelu_s8},                    // prelu_s8
      {"ConvTransposeS8", lower_conv_transpose_s8},   // conv_transpose_s8
      {"ConcatS8", lower_concat_s8},                  // concat_s8
  });
}

}  // namespace tinyc
