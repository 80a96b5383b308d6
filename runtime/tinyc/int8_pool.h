// int8 pooling: max_pool_s8, avg_pool_s8 (and the global average).
#ifndef TINYC_INT8_POOL_H
#define TINYC_INT8_POOL_H

#include "int8_requant.h"
#include "nn.h"

namespace tinyc {

// Max pooling of int8 planes, 2-D or 1-D (p.in[0] = 1): for each output row, the maximum of its
// window's rows column by column into scratch (p.in[2] bytes), sixteen columns a vector with
// Helium, four a word with the DSP extension (SSUB8 sets a flag per byte, SEL keeps the larger), then the maximum of each window
// along that row. Padding never wins; a window wholly in the padding gives 0, as pool<int8_t>.
// y may be x when there is no leading padding: a row is written after the rows it reads.
inline void max_pool_s8(const PoolParams& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  int8_t* y = static_cast<int8_t*>(out[0]);
  int8_t* cols = static_cast<int8_t*>(out[kScratchSlot]);
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
        int32_t j = 0;
#if defined(__ARM_FEATURE_MVE)
        for (; j < in_w; j += 16) {  // sixteen columns a vector, the last ones predicated
          const mve_pred16_t live = vctp8q(uint32_t(in_w - j));
          vstrbq_p_s8(cols + j, vmaxq_s8(vldrbq_z_s8(xr + j, live), vldrbq_z_s8(cols + j, live)), live);
        }
#elif defined(__ARM_FEATURE_SIMD32)
        for (; j + 4 <= in_w; j += 4) {
          uint32_t v, m;
          __builtin_memcpy(&v, xr + j, 4);
          __builtin_memcpy(&m, cols + j, 4);
          __ssub8(int32_t(v), int32_t(m));  // GE per byte: v >= m
          m = uint32_t(__sel(int32_t(v), int32_t(m)));
          __builtin_memcpy(cols + j, &m, 4);
        }
#endif
        for (; j < in_w; ++j) cols[j] = xr[j] > cols[j] ? xr[j] : cols[j];
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

// The sum of n int8 values; with Helium sixteen a vector; with the DSP extension four per word in two pairs of 16-bit lanes
// (SXTAB16), emptied into the int32 sum every 128 words, before a lane could overflow.
inline int32_t sum_s8(const int8_t* x, int32_t n) {
  int32_t sum = 0, i = 0;
#if defined(__ARM_FEATURE_MVE)
  for (; i < n; i += 16) {  // VADDVA: sixteen values into the int32 sum
    const mve_pred16_t live = vctp8q(uint32_t(n - i));
    sum = vaddvaq_p_s8(sum, vldrbq_z_s8(x + i, live), live);
  }
#elif defined(__ARM_FEATURE_SIMD32)
  while (i + 4 <= n) {
    uint32_t even = 0, odd = 0;  // bytes 0 and 2, 1 and 3 of each word
    for (int32_t words = 0; words < 128 && i + 4 <= n; ++words, i += 4) {
      uint32_t u;
      __builtin_memcpy(&u, x + i, 4);
      even = uint32_t(__sxtab16(int32_t(even), int32_t(u)));
      __asm__("sxtab16 %0, %0, %1, ror #8" : "+r"(odd) : "r"(u));
    }
    sum += int16_t(even) + int16_t(even >> 16) + int16_t(odd) + int16_t(odd >> 16);
  }
#endif
  for (; i < n; ++i) sum += x[i];
  return sum;
}

struct AvgPoolS8Params {
  int32_t planes;
  int32_t in[3], out[3], kernel[3], stride[3], pad[3];
  int32_t count_include_pad;
  TINYC_PARAMS(AvgPoolS8Params, planes, in, out, kernel, stride, pad, count_include_pad)
};

// Average with the same scale and zero point in and out: the int32 sum divided by the count,
// rounded half away from zero (as TFLite).
inline void avg_pool_s8(const AvgPoolS8Params& p, const void* const* in, void* const* out) {
  int8_t* y = static_cast<int8_t*>(out[0]);
  const int32_t size = p.in[0] * p.in[1] * p.in[2];
  if (p.out[0] * p.out[1] * p.out[2] == 1 && p.kernel[0] * p.kernel[1] * p.kernel[2] == size &&
      p.pad[0] + p.pad[1] + p.pad[2] == 0) {  // global: one plain sum per plane
    const int8_t* x = static_cast<const int8_t*>(in[0]);
    for (int32_t c = 0; c < p.planes; ++c, x += size) {
      const int32_t sum = sum_s8(x, size);
      y[c] = clamp_s8(sum >= 0 ? (sum + size / 2) / size : (sum - size / 2) / size, -128, 127);
    }
    return;
  }
  int_avg_pool(static_cast<const int8_t*>(in[0]), p.planes, p.in, p.out, p.kernel, p.stride, p.pad, nullptr, 0,
               [&](int32_t sum, int32_t count, int32_t window) {
                 const int32_t d = p.count_include_pad ? window : count;
                 *y++ = clamp_s8(sum >= 0 ? (sum + d / 2) / d : (sum - d / 2) / d, -128, 127);
               });
}

}  // namespace tinyc

#endif
