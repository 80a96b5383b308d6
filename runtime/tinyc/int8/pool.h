// int8 pooling: max_pool_s8, avg_pool_s8 (and the global average).
#ifndef TINYC_INT8_POOL_H
#define TINYC_INT8_POOL_H

#include "../nn.h"
#include "micro_kernels.h"  // max_row_s8, sum_s8
#include "requant.h"

namespace tinyc {

// Max pooling of int8 planes, 2-D or 1-D (p.in[0] = 1): for each output row, the maximum of its
// window's rows column by column into scratch (p.in[2] bytes, the ISA's max_row_s8), then the
// maximum of each window along that row. Padding never wins; a window wholly in the padding gives 0, as pool<int8_t>.
// y may be x when there is no leading padding: a row is written after the rows it reads.
inline void max_pool_s8(const PoolParams& p, const int8_t* x, int8_t* y, Scratch scratch) {
  int8_t* cols = static_cast<int8_t*>(scratch.data);
  const int32_t in_h = p.in[1], in_w = p.in[2], out_h = p.out[1], out_w = p.out[2], in_size = in_h * in_w;
  const int32_t kh = p.kernel[1], kw = p.kernel[2], sh = p.stride[1], sw = p.stride[2];
  const int32_t dh = p.dilation[1], dw = p.dilation[2], ph = p.pad[1], pw = p.pad[2];
  for (int32_t c = 0; c < p.planes; ++c, x += in_size)
    for (int32_t oh = 0; oh < out_h; ++oh) {
      int32_t rows = 0;
      for (int32_t i = 0, ih = oh * sh - ph; i < kh; ++i, ih += dh) {
        if (ih < 0 || ih >= in_h) continue;
        const int8_t* xr = x + ih * in_w;
        if (rows++ == 0) {
          for (int32_t j = 0; j < in_w; ++j) cols[j] = xr[j];
          continue;
        }
        max_row_s8(xr, cols, in_w);
      }
      for (int32_t ow = 0; ow < out_w; ++ow) {
        int32_t best = 0;
        bool any = false;
        if (rows)
          for (int32_t i = 0, iw = ow * sw - pw; i < kw; ++i, iw += dw)
            if (iw >= 0 && iw < in_w && (!any || cols[iw] > best)) best = cols[iw], any = true;
        *y++ = int8_t(best);
      }
    }
}

struct AvgPoolS8Params {
  int32_t planes;
  int32_t in[3], out[3], kernel[3], stride[3], pad[3];
  int32_t count_include_pad;
  float scale;  // input scale / output scale (1: the same, rounded as ONNX); 0: the same, rounded as TFLite
  int32_t input_zero_point, output_zero_point;
  TINYC_PARAMS(AvgPoolS8Params, planes, in, out, kernel, stride, pad, count_include_pad, scale, input_zero_point,
               output_zero_point)
};

// The average of a window whose `count` inputs inside the input sum to `sum`, over d values.
// scale 0 (the same parameters in and out, TFLite's rounding): sum / d rounded half away from
// zero (as TFLite). Else (ONNX's rounding, or a pre-quantized model's own output parameters): the
// average of x - input zero point (padding counts as the zero point, the real 0) times the scale,
// rounded half to even (as ONNX Runtime); in integers where the scale is 1.
inline int8_t average_s8(const AvgPoolS8Params& p, int32_t sum, int32_t count, int32_t d) {
  if (p.scale == 1.0f) {  // the same scale: the same rounding in integers (no float on the core)
    const int32_t k = sum - count * p.input_zero_point;
    int32_t q = k / d, r = k % d;
    if (r < 0) r += d, --q;  // floor
    if (2 * r > d || (2 * r == d && (q & 1))) ++q;
    return clamp_s8(q + p.output_zero_point, -128, 127);
  }
  if (p.scale != 0.0f) {
    const float v = round_half_even(float(sum - count * p.input_zero_point) * (p.scale / float(d))) + float(p.output_zero_point);
    return int8_t(v < -128.0f ? -128 : (v > 127.0f ? 127 : int32_t(v)));
  }
  return clamp_s8(sum >= 0 ? (sum + d / 2) / d : (sum - d / 2) / d, -128, 127);
}

// Average pooling of int8 planes (average_s8 of each window).
TINYC_INLINE void avg_pool_s8(const AvgPoolS8Params& p, const int8_t* x, int8_t* y) {
  const int32_t size = p.in[0] * p.in[1] * p.in[2];
  if (p.out[0] * p.out[1] * p.out[2] == 1 && p.kernel[0] * p.kernel[1] * p.kernel[2] == size &&
      p.pad[0] + p.pad[1] + p.pad[2] == 0) {  // global: one plain sum per plane
    for (int32_t c = 0; c < p.planes; ++c, x += size) y[c] = average_s8(p, sum_s8(x, size), size, size);
    return;
  }
  int_avg_pool(x, p.planes, p.in, p.out, p.kernel, p.stride, p.pad, nullptr, 0,
               [&](int32_t sum, int32_t count, int32_t window) {
                 *y++ = average_s8(p, sum, count, p.count_include_pad ? window : count);
               });
}

}  // namespace tinyc

#endif
