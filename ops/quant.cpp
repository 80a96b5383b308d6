// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, and ONNX Runtime's com.microsoft
// QLinearAdd, QLinearMul, QLinearAveragePool, QLinearGlobalAveragePool, QLinearLeakyRelu, QLinearSoftmax, whose
// per-tensor scales and zero points become compile-time parameters. (The integer convolutions and
// matrix products live with their float versions in nn.cpp.)
#include "ops/op.h"
#include "runtime/tinyc/quant.h"

namespace tinyc {
namespace {

// x viewed as [outer, channels, inner] around the quantization axis of a per-axis scale.
QuantizeParams quant_view(OpContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& scale = c.input(1);
  QuantizeParams p{i32(c, num_elements(x.shape)), 1, 1, 0};
  if (scale.dtype != DType::Float) c.fail("scale must be float32");
  if (num_elements(scale.shape) != 1) {
    const int64_t r = static_cast<int64_t>(x.shape.size());
    const int64_t axis = norm_axis(c, c.node.get_int("axis", 1), r);
    if (num_elements(scale.shape) != x.shape[axis]) c.fail("scale size differs from the axis");
    int64_t outer, inner;
    split_at(x.shape, axis, &outer, &inner);
    p = {i32(c, outer), i32(c, x.shape[axis]), i32(c, inner), 1};
  }
  return p;
}

Lowered lower_quantize(OpContext& c) {
  const Tensor& x = c.input(0);
  if (x.dtype != DType::Float) c.fail("input must be float32");
  const DType to = c.has(2) ? c.input(2).dtype : DType::UInt8;
  c.set_output(0, to, x.shape);
  const QuantizeParams p = quant_view(c);
  if (to == DType::Int8) return make_kernel("tinyc::quantize_linear<int8_t>", p, &quantize_linear<int8_t>);
  if (to == DType::UInt8) return make_kernel("tinyc::quantize_linear<uint8_t>", p, &quantize_linear<uint8_t>);
  c.fail(fmt::format("output type {} is not supported", dtype_name(to)));
}

Lowered lower_dequantize(OpContext& c) {
  const Tensor& x = c.input(0);
  c.set_output(0, DType::Float, x.shape);
  const QuantizeParams p = quant_view(c);
  switch (x.dtype) {
    case DType::Int8: return make_kernel("tinyc::dequantize_linear<int8_t>", p, &dequantize_linear<int8_t>);
    case DType::UInt8: return make_kernel("tinyc::dequantize_linear<uint8_t>", p, &dequantize_linear<uint8_t>);
    case DType::Int32:  // ONNX: its zero point is 0 (x - zero point could overflow int32)
      for (int64_t z : c.has(2) ? c.const_input(2).ints() : std::vector<int64_t>{})
        if (z != 0) c.fail("the zero point of an int32 input must be 0");
      return make_kernel("tinyc::dequantize_linear<int32_t>", p, &dequantize_linear<int32_t>);
    default: c.fail(fmt::format("input type {} is not supported", dtype_name(x.dtype)));
  }
}

Lowered lower_dynamic_quantize(OpContext& c) {
  const Tensor& x = c.input(0);
  if (x.dtype != DType::Float) c.fail("input must be float32");
  c.set_output(0, DType::UInt8, x.shape);
  c.set_output(1, DType::Float, {});
  c.set_output(2, DType::UInt8, {});
  const QuantizeParams p{i32(c, num_elements(x.shape)), 1, 1, 0};
  return make_kernel("tinyc::dynamic_quantize_linear", p, &dynamic_quantize_linear);
}

// A scale of a com.microsoft QLinear operator: a constant float32 with one element.
float const_scale(OpContext& c, size_t i) {
  const Tensor& t = c.const_input(i);
  if (t.dtype != DType::Float || num_elements(t.shape) != 1)
    c.fail(fmt::format("input {} ('{}') must be one float32 scale: only per-tensor quantization is supported", i,
                       t.name));
  return t.as<float>()[0];
}

// A zero point (0 when absent): a constant of the data's type with one element.
int32_t const_zero_point(OpContext& c, size_t i, DType type) {
  if (!c.has(i)) return 0;
  const Tensor& t = c.const_input(i);
  if (t.dtype != type || num_elements(t.shape) != 1)
    c.fail(fmt::format("input {} ('{}') must be one {} zero point: only per-tensor quantization is supported", i,
                       t.name, dtype_name(type)));
  return type == DType::Int8 ? t.as<int8_t>()[0] : t.as<uint8_t>()[0];
}

// Calls f(T{}) with T int8_t or uint8_t, the QLinear data types.
template <class F>
Lowered with_qtype(OpContext& c, DType t, F f) {
  if (t == DType::Int8) return f(int8_t{});
  if (t == DType::UInt8) return f(uint8_t{});
  c.fail(fmt::format("element type {} is not supported (int8 or uint8)", dtype_name(t)));
}

// QLinearAdd, QLinearMul: a, a_scale, a_zp, b, b_scale, b_zp, c_scale, c_zp; numpy broadcasting.
Lowered lower_qlinear_binary(OpContext& c, bool mul) {
  const Tensor &a = c.input(0), &b = c.input(3);
  if (a.dtype != b.dtype) c.fail("A and B differ in element type");
  const Shape out = broadcast_shape(c, a.shape, b.shape);
  c.set_output(0, a.dtype, out);
  QLinearBinaryParams p{};
  p.shape = make_broadcast(c, out, {a.shape, b.shape});
  p.a_zero_point = const_zero_point(c, 2, a.dtype);
  p.b_zero_point = const_zero_point(c, 5, a.dtype);
  p.c_zero_point = const_zero_point(c, 7, a.dtype);
  const double sa = const_scale(c, 1), sb = const_scale(c, 4), sc = const_scale(c, 6);
  p.scale_a = static_cast<float>(mul ? sa * sb / sc : sa / sc);
  p.scale_b = static_cast<float>(mul ? 0.0 : sb / sc);
  if (mul) return TINYC_TYPED_KERNEL(p, tinyc::qlinear_mul, with_qtype, c, a.dtype);
  return TINYC_TYPED_KERNEL(p, tinyc::qlinear_add, with_qtype, c, a.dtype);
}

// The window of QLinearAveragePool along each spatial axis of NCHW x (auto_pad NOTSET or VALID).
void pool_window(OpContext& c, const Shape& x, QLinearPoolParams& p, Shape& out) {
  const size_t nsp = x.size() - 2, off = 3 - nsp;
  if (nsp > 3) c.fail("more than 3 spatial axes");
  const std::vector<int64_t> kernel = c.node.get_ints("kernel_shape");
  const std::vector<int64_t> stride = c.node.get_ints("strides", std::vector<int64_t>(nsp, 1));
  std::vector<int64_t> pads = c.node.get_ints("pads", std::vector<int64_t>(2 * nsp, 0));
  if (kernel.size() != nsp || stride.size() != nsp || pads.size() != 2 * nsp)
    c.fail("kernel_shape, strides or pads do not match the input rank");
  const std::string auto_pad = c.node.get_string("auto_pad", "NOTSET");
  if (auto_pad == "VALID") pads.assign(2 * nsp, 0);
  else if (auto_pad != "NOTSET") c.fail(fmt::format("auto_pad '{}' is not supported", auto_pad));
  const bool ceil_mode = c.node.get_int("ceil_mode", 0) != 0;
  for (size_t j = 0; j < nsp; ++j) {
    const int64_t k = kernel[j], s = stride[j], pb = pads[j], pe = pads[j + nsp];
    if (k < 1 || s < 1 || pb < 0 || pe < 0 || pb >= k || pe >= k || k > INT32_MAX || s > INT32_MAX)
      c.fail("kernel and strides must be positive, pads non-negative and smaller than the kernel");
    const int64_t room = x[2 + j] + pb + pe - k;
    if (room < 0) c.fail("the window is larger than the padded input");
    int64_t o = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    if (ceil_mode && (o - 1) * s >= x[2 + j] + pb) --o;  // no window may start in the end padding
    const size_t i = off + j;
    p.in[i] = i32(c, x[2 + j]), p.kernel[i] = i32(c, k), p.stride[i] = i32(c, s);
    p.pad[i] = i32(c, pb), p.pad_end[i] = i32(c, pe), p.out[i] = i32(c, o);
    out[2 + j] = o;
  }
}

// QLinearAveragePool, QLinearGlobalAveragePool: x, x_scale, x_zp, y_scale, y_zp.
Lowered lower_qlinear_pool(OpContext& c, bool global) {
  const Tensor& x = c.input(0);
  const Shape& s = x.shape;
  if (s.size() < 3) c.fail("input must have spatial axes");
  const bool channels_last = c.node.get_int("channels_last", 0) != 0;
  QLinearPoolParams p{};
  for (int a = 0; a < 3; ++a) p.in[a] = p.out[a] = p.kernel[a] = p.stride[a] = 1;
  Shape out = s;
  if (global) {
    // NCHW: N * C planes of the image; NHWC: N planes of [image, C], averaged along the image.
    int64_t image = 1;
    for (size_t a = channels_last ? 1 : 2; a < s.size() - (channels_last ? 1 : 0); ++a) image *= s[a], out[a] = 1;
    const int64_t channels = channels_last ? s.back() : s[1];
    p.planes = i32(c, channels_last ? s[0] : s[0] * channels);
    p.in[1] = p.kernel[1] = i32(c, channels_last ? image : 1);
    p.in[2] = i32(c, channels_last ? channels : image);
    p.kernel[2] = i32(c, channels_last ? 1 : image);
    p.out[2] = i32(c, channels_last ? channels : 1);
  } else {
    if (channels_last) c.fail("channels_last is not supported");
    p.planes = i32(c, s[0] * s[1]);
    pool_window(c, s, p, out);
    p.count_include_pad = static_cast<int32_t>(c.node.get_int("count_include_pad", 0));
  }
  c.set_output(0, x.dtype, out);
  p.x_zero_point = const_zero_point(c, 2, x.dtype);
  p.y_zero_point = const_zero_point(c, 4, x.dtype);
  p.scale = static_cast<float>(double(const_scale(c, 1)) / const_scale(c, 3));
  return TINYC_TYPED_KERNEL(p, tinyc::qlinear_avg_pool, with_qtype, c, x.dtype);
}

// QLinearLeakyRelu: x, x_scale, x_zp, y_scale, y_zp; attribute alpha.
Lowered lower_qlinear_leaky_relu(OpContext& c) {
  const Tensor& x = c.input(0);
  c.set_output(0, x.dtype, x.shape);
  const double scale = double(const_scale(c, 1)) / const_scale(c, 3);
  const QLinearLeakyReluParams p{i32(c, num_elements(x.shape)), const_zero_point(c, 2, x.dtype),
                                 const_zero_point(c, 4, x.dtype), static_cast<float>(scale),
                                 static_cast<float>(scale * c.node.get_float("alpha", 0.01f))};
  return TINYC_TYPED_KERNEL(p, tinyc::qlinear_leaky_relu, with_qtype, c, x.dtype);
}

// QLinearSoftmax: x, x_scale, x_zp, y_scale, y_zp; attributes axis and opset (the Softmax whose
// axis rule it follows: before 13, the input is seen as 2-D at the axis).
Lowered lower_qlinear_softmax(OpContext& c) {
  const Tensor& x = c.input(0);
  c.set_output(0, x.dtype, x.shape);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const bool legacy = c.node.get_int("opset", 13) < 13;
  const int64_t axis = norm_axis(c, c.node.get_int("axis", legacy ? 1 : -1), r);
  int64_t outer, inner;
  split_at(x.shape, axis, &outer, &inner);
  QLinearSoftmaxParams p{};
  p.outer = i32(c, outer);
  p.axis = i32(c, legacy ? x.shape[axis] * inner : x.shape[axis]);
  p.inner = legacy ? 1 : i32(c, inner);
  p.x_zero_point = const_zero_point(c, 2, x.dtype);
  p.y_zero_point = const_zero_point(c, 4, x.dtype);
  p.x_scale = const_scale(c, 1);
  p.y_scale = const_scale(c, 3);
  Lowered l = TINYC_TYPED_KERNEL(p, tinyc::qlinear_softmax, with_qtype, c, x.dtype);
  l.scratch_bytes = sizeof(float) * static_cast<size_t>(p.axis);  // the line's exponentials
  return l;
}

}  // namespace

void register_quant_ops(OpTable& t) {
  t.insert({{"QuantizeLinear", lower_quantize}, {"DequantizeLinear", lower_dequantize},
            {"DynamicQuantizeLinear", lower_dynamic_quantize},
            {"com.microsoft.QLinearAdd", [](OpContext& c) { return lower_qlinear_binary(c, false); }},
            {"com.microsoft.QLinearMul", [](OpContext& c) { return lower_qlinear_binary(c, true); }},
            {"com.microsoft.QLinearAveragePool", [](OpContext& c) { return lower_qlinear_pool(c, false); }},
            {"com.microsoft.QLinearGlobalAveragePool", [](OpContext& c) { return lower_qlinear_pool(c, true); }},
            {"com.microsoft.QLinearLeakyRelu", lower_qlinear_leaky_relu},
            {"com.microsoft.QLinearSoftmax", lower_qlinear_softmax}});
}

}  // namespace tinyc
