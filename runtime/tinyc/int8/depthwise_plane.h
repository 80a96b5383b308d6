// The padded int16 plane that depthwise_s8 works on, shared by its driver (depthwise.h) and each
// ISA's micro-kernels ({plain,dsp,mve}/depthwise.h).
#ifndef TINYC_INT8_DEPTHWISE_PLANE_H
#define TINYC_INT8_DEPTHWISE_PLANE_H

#include "conv.h"

namespace tinyc {

// The padded plane: the rows and columns the output's windows reach.
inline int32_t depthwise_plane_rows(const ConvS8Params& p) {
  return (p.out[1] - 1) * p.stride[1] + (p.kernel[1] - 1) * p.dilation[1] + 1;
}
inline int32_t depthwise_plane_cols(const ConvS8Params& p) {
  return (p.out[2] - 1) * p.stride[2] + (p.kernel[2] - 1) * p.dilation[2] + 1;
}

// Scratch of depthwise_s8, the same on every ISA: one padded plane of int16.
inline size_t depthwise_s8_scratch_bytes(const ConvS8Params& p) {
  return sizeof(int16_t) * size_t(depthwise_plane_rows(p)) * size_t(depthwise_plane_cols(p));
}

// One channel's windows over its plane: kernel rows and columns (0 where the micro-kernel knows
// them at compile time), strides and dilations, the plane's rows and columns, the output's rows
// and columns, its zero point and clamp, and (channels-last output) the step between its pixels.
struct DepthwiseShape {
  int32_t kh, kw, sh, sw, dh, dw, ph, pw, out_h, out_w, zy, lo, hi, ys;
};

// The step between a channel's adjacent outputs in the layout Out.
template <Layout Out>
inline int32_t pixel_step(const DepthwiseShape& s) {
  return Out == Layout::ChannelsLast ? s.ys : 1;
}

// Every window of a channel, one output at a time: the path for any shape. A window of KH x KW
// known at compile time is written out (a 3x3 window: 9 loads and multiply-adds, no loop).
template <int KH, int KW, Layout Out, Rounding R>
TINYC_INLINE void depthwise_windows_s8(const int16_t* plane, const DepthwiseShape& s, const int8_t* wc,
                                       const ChannelRequant<R> rq, int8_t* yc) {
  // In locals: the int8 stores to yc may alias anything, s included.
  const int32_t kh_n = KH ? KH : s.kh, kw_n = KW ? KW : s.kw;
  const int32_t sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw, pw = s.pw, out_h = s.out_h, out_w = s.out_w;
  const int32_t ys = pixel_step<Out>(s);
  const int32_t zy = s.zy, lo = s.lo, hi = s.hi;
  for (int32_t oh = 0; oh < out_h; ++oh)
    for (int32_t ow = 0; ow < out_w; ++ow) {
      const int16_t* win = plane + oh * sh * pw + ow * sw;
      int32_t acc = rq.bias;
      if constexpr (KH != 0 && KW != 0) {
#pragma GCC unroll 16
        for (int32_t i = 0; i < KH; ++i)
#pragma GCC unroll 16
          for (int32_t j = 0; j < KW; ++j) acc += win[i * dh * pw + j * dw] * wc[i * KW + j];
      } else {
        for (int32_t i = 0; i < kh_n; ++i)
          for (int32_t j = 0; j < kw_n; ++j) acc += win[i * dh * pw + j * dw] * wc[i * kw_n + j];
      }
      yc[(oh * out_w + ow) * ys] = clamp_s8(rq.scaled(acc) + zy, lo, hi);
    }
}

}  // namespace tinyc

#endif
