// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear. (The integer convolutions and
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
    int64_t outer = 1, inner = 1;
    for (int64_t a = 0; a < r; ++a)
      if (a < axis) outer *= x.shape[a];
      else if (a > axis) inner *= x.shape[a];
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
    case DType::Int32: return make_kernel("tinyc::dequantize_linear<int32_t>", p, &dequantize_linear<int32_t>);
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

}  // namespace

void register_quant_ops(OpTable& t) {
  t["QuantizeLinear"] = lower_quantize;
  t["DequantizeLinear"] = lower_dequantize;
  t["DynamicQuantizeLinear"] = lower_dynamic_quantize;
}

}  // namespace tinyc
