// Resize (opset 10, 11, 13) and Upsample (opset 7, 9).
#include <cmath>

#include "ops/op.h"
#include "runtime/tinyc/resize.h"

namespace tinyc {
namespace {

// Index of `s` in `names`; fails naming the attribute when it is not there.
int32_t pick(OpContext& c, const char* attr, const std::string& s, std::initializer_list<const char*> names) {
  int32_t i = 0;
  for (const char* n : names) {
    if (s == n) return i;
    ++i;
  }
  c.fail(fmt::format("{} '{}' is not supported", attr, s));
}

// A float tensor input with one entry per axis (scales) or two (roi); absent when empty.
bool float_input(OpContext& c, size_t i, int64_t count, const char* what) {
  if (!c.has(i) || num_elements(c.input(i).shape) == 0) return false;
  if (c.input(i).dtype != DType::Float) c.fail(fmt::format("{} must be float32", what));
  if (num_elements(c.input(i).shape) != count) c.fail(fmt::format("{} must have {} entries", what, count));
  return true;
}

Lowered lower_resize(OpContext& c, bool upsample) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1 || r > kMaxRank) c.fail("unsupported rank");
  // Upsample and Resize-10: asymmetric coordinates, nearest rounds down, no roi and no sizes.
  const bool legacy = upsample || c.opset() < 11;
  ResizeParams p{};
  p.mode = pick(c, "mode", c.node.get_string("mode", "nearest"), {"nearest", "linear", "cubic"});
  if (legacy && p.mode == kResizeCubic) c.fail("cubic mode needs Resize-11 or later");
  p.coord = legacy ? kCoordAsymmetric
                   : pick(c, "coordinate_transformation_mode",
                          c.node.get_string("coordinate_transformation_mode", "half_pixel"),
                          {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                           "tf_half_pixel_for_nearest", "tf_crop_and_resize"});
  p.nearest = legacy ? kRoundFloor
                     : pick(c, "nearest_mode", c.node.get_string("nearest_mode", "round_prefer_floor"),
                            {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"});
  p.cubic_a = c.node.get_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = c.node.get_int("exclude_outside", 0) != 0;
  p.extrapolation = c.node.get_float("extrapolation_value", 0.0f);
  p.scales_input = p.roi_input = -1;

  // The output shape: from sizes, from the scales, or as the model declares it.
  Shape out;
  std::vector<double> scales;
  const bool known_scales = upsample && c.opset() < 9;
  if (known_scales) {
    for (float s : c.node.get_floats("scales")) scales.push_back(s);
    if (static_cast<int64_t>(scales.size()) != r) c.fail("scales must have one entry per axis");
  } else {
    const size_t slot = legacy ? 1 : 2;
    if (float_input(c, slot, r, "scales")) {
      p.scales_input = static_cast<int32_t>(slot);
      if (c.input(slot).is_const) scales = c.input(slot).floats();
    }
  }
  const bool have_sizes = !legacy && c.has(3) && num_elements(c.input(3).shape) > 0;
  if (have_sizes == (p.scales_input >= 0 || known_scales))
    c.fail("exactly one of scales and sizes must be given");
  if (have_sizes) {
    const Tensor& sizes = c.input(3);
    if (num_elements(sizes.shape) != r) c.fail("sizes must have one entry per axis");
    if (sizes.is_const) out = sizes.ints();
  } else if (!scales.empty()) {
    for (int64_t a = 0; a < r; ++a) {
      if (!(scales[a] > 0)) c.fail("scales must be positive");
      const double size = std::floor(static_cast<double>(x.shape[a]) * scales[a]);
      if (!(size < 2147483648.0)) c.fail("scales make the output too large");
      out.push_back(static_cast<int64_t>(size));
    }
  }
  if (out.empty()) out = c.declared_output(0, "scales or sizes are");
  if (static_cast<int64_t>(out.size()) != r) c.fail("the output rank differs from the input's");
  if (known_scales)  // the kernel derives the scale from the sizes: they must give it back
    for (int64_t a = 0; a < r; ++a)
      if (static_cast<float>(static_cast<double>(out[a]) / x.shape[a]) != static_cast<float>(scales[a]))
        c.fail("scales whose product with the input size is not an integer are not supported");
  if (p.coord == kCoordTfCropAndResize) {
    if (!float_input(c, 1, 2 * r, "roi")) c.fail("tf_crop_and_resize needs the roi input");
    p.roi_input = 1;
  }
  c.set_output(0, x.dtype, out);
  p.n = i32(c, num_elements(out));
  p.rank = static_cast<int32_t>(r);
  for (int64_t a = 0; a < r; ++a) {
    p.in_dims[a] = i32(c, x.shape[a]);
    p.dims[a] = i32(c, out[a]);
    if (x.shape[a] == 0 && out[a] > 0) c.fail("cannot resize an empty axis");
  }
  if (x.dtype == DType::Int8) return make_kernel("tinyc::resize<int8_t, float>", p, &resize<int8_t, float>);
  if (x.dtype == DType::UInt8) return make_kernel("tinyc::resize<uint8_t, float>", p, &resize<uint8_t, float>);
  return TINYC_TYPED_KERNEL(p, tinyc::resize, with_float_type, c, x.dtype);
}

}  // namespace

// Resize, and Upsample (opset < 10) as the Resize it became.
void register_resize_ops(OpTable& t) {
  t.insert({{"Resize", [](OpContext& c) { return lower_resize(c, false); }},
            {"Upsample", [](OpContext& c) { return lower_resize(c, true); }}});
}

}  // namespace tinyc
