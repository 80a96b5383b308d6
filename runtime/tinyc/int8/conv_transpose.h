// conv_transpose_s8: the transposed convolution on int8, output by output.
#ifndef TINYC_INT8_CONV_TRANSPOSE_H
#define TINYC_INT8_CONV_TRANSPOSE_H

#include "conv.h"

namespace tinyc {

// in: x int8 NCHW, w int8 [M, C/g, k...] (the model's [C, M/g, k...] reordered by the quantizer,
// symmetric, per output channel), bias, multiplier, shift[, float scale] as conv_s8's. Output
// (m, o) gathers the inputs whose window reaches it: along each axis, input i with
// i * stride + k * dilation - pad = o. ConvS8Params as conv_s8's (pad: the output's cropped
// begin); no scratch.
inline void conv_transpose_s8(const ConvS8Params& p, const int8_t* x, const int8_t* w, const void* bias,
                              const int32_t* multiplier, const int8_t* shift, const float* scale, int8_t* y) {
  const Requant q(p, bias, multiplier, shift, scale);
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups, zx = p.input_zero_point;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  // Input index along axis a for output o and tap k, or -1 where no input lands there.
  auto source = [&](int a, int32_t o, int32_t k) {
    const int32_t v = o + p.pad[a] - k * p.dilation[a];
    return v < 0 || v % p.stride[a] || v / p.stride[a] >= p.in[a] ? -1 : v / p.stride[a];
  };
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t m = 0; m < p.out_ch; ++m) {
      const int8_t* xg = x + (n * p.in_ch + m / mg * cg) * in_size;
      const int8_t* wm = w + m * cg * ksize;
      for (int32_t od = 0; od < p.out[0]; ++od)
        for (int32_t oh = 0; oh < p.out[1]; ++oh)
          for (int32_t ow = 0; ow < p.out[2]; ++ow, ++y) {
            int32_t acc = q.bias_of(m);
            for (int32_t kd = 0; kd < p.kernel[0]; ++kd) {
              const int32_t id = source(0, od, kd);
              if (id < 0) continue;
              for (int32_t kh = 0; kh < p.kernel[1]; ++kh) {
                const int32_t ih = source(1, oh, kh);
                if (ih < 0) continue;
                for (int32_t kw = 0; kw < p.kernel[2]; ++kw) {
                  const int32_t iw = source(2, ow, kw);
                  if (iw < 0) continue;
                  const int32_t at = (id * p.in[1] + ih) * p.in[2] + iw, k = (kd * p.kernel[1] + kh) * p.kernel[2] + kw;
                  for (int32_t c = 0; c < cg; ++c) acc += (int32_t(xg[c * in_size + at]) - zx) * wm[c * ksize + k];
                }
              }
            }
            *y = q.at(acc, m);
          }
    }
}

}  // namespace tinyc

#endif
