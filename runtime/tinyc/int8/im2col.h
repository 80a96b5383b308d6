// conv_s8_im2col: one group's convolution as patches (im2col) times rows of weights.
#ifndef TINYC_INT8_IM2COL_H
#define TINYC_INT8_IM2COL_H

#include "im2col_layout.h"
#include "micro_kernels.h"  // im2col_s8 (quad.h on plain C and DSP, mve/im2col.h on Helium)

namespace tinyc {

// One group (groups = 1): for a few output pixels at a time, their receptive fields gathered
// into scratch as patches of in_ch * kernel values (im2col), then dot products with every output
// channel's weights (the ISA's im2col_s8). A pointwise one reads its pixels before writing them, so y may be x.
// R: the requantization's rounding, chosen at compile time.
// KW: the kernel width, known at compile time (0: taken from the params).
// Out: y's layout (p.channels_last_out), chosen at compile time.
// A patch is in w's order: (c, kd, kh, kw), or channels-last (kd, kh, kw, c), where a window's
// row is kw * in_ch adjacent values of x.
namespace driver {
template <Rounding R, int KW, Layout Out>
void conv_s8_im2col(const ConvS8Params& p, const ConvS8Tensors& t) {
  const Requant q(p, t.bias, t.multiplier, t.shift, t.scale);
  const int8_t *x = t.x, *w = t.w;
  int8_t* y = t.y;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  const int32_t n = p.in_ch * p.kernel[0] * p.kernel[1] * p.kernel[2], zx = p.input_zero_point;
  const bool pointwise = is_pointwise(p);
  // The geometry in locals: the closure keeps them in registers, where reading p would be reads
  // through a pointer after every store.
  const int32_t in_ch = p.in_ch, in_d = p.in[0], in_h = p.in[1], in_w = p.in[2], out_h = p.out[1], out_w = p.out[2];
  const int32_t kd_n = p.kernel[0], kh_n = p.kernel[1], kw_n = p.kernel[2];
  const int32_t sd = p.stride[0], sh = p.stride[1], sw = p.stride[2], dd = p.dilation[0], dh = p.dilation[1],
                dw = p.dilation[2], pd = p.pad[0], ph = p.pad[1], pw = p.pad[2];
  // The patch of output pixel i of batch b, in natural order: NCHW (c, kd, kh, kw), channels-last
  // (kd, kh, kw, c) (the same with one channel), or a pointwise one's channels.
  auto gather = [=](const int8_t* xb, int32_t i, int16_t* dst) {
    if (pointwise) {
      const int8_t* xp = xb + i * ws;
      for (int32_t c = 0; c < in_ch; ++c) *dst++ = int16_t(xp[c * cs] - zx);
    } else if (ws != 1) {
      const int32_t ow = i % out_w, oh = i / out_w % out_h, od = i / (out_w * out_h);
      const int32_t iw0 = ow * sw - pw, ih0 = oh * sh - ph, id0 = od * sd - pd, run = kw_n * in_ch;
      const bool inside = iw0 >= 0 && iw0 + (kw_n - 1) * dw < in_w;  // no column check needed
      for (int32_t kd = 0, id = id0; kd < kd_n; ++kd, id += dd) {
        const bool plane = id >= 0 && id < in_d;
        if (plane && inside && dw == 1 && ih0 >= 0 && ih0 + (kh_n - 1) * dh < in_h) {  // kh_n runs of adjacent values
          widen_rows_s8(xb + ((id * in_h + ih0) * in_w + iw0) * in_ch, dh * in_w * in_ch, 1, zx, dst, run, kh_n, run);
          dst += kh_n * run;
          continue;
        }
        for (int32_t kh = 0, ih = ih0; kh < kh_n; ++kh, ih += dh)
          for (int32_t kw = 0, iw = iw0; kw < kw_n; ++kw, iw += dw, dst += in_ch) {
            if (plane && ih >= 0 && ih < in_h && iw >= 0 && iw < in_w)
              widen_rows_s8(xb + ((id * in_h + ih) * in_w + iw) * in_ch, 0, 1, zx, dst, 0, 1, in_ch);
            else
              for (int32_t c = 0; c < in_ch; ++c) dst[c] = 0;
          }
      }
    } else {
      const int32_t ow = i % out_w, oh = i / out_w % out_h, od = i / (out_w * out_h);
      const int32_t iw0 = ow * sw - pw, ih0 = oh * sh - ph, id0 = od * sd - pd;
      const bool inside = iw0 >= 0 && iw0 + (kw_n - 1) * dw < in_w;  // no column check needed
      const int32_t row_step = dh * in_w * ws, col_step = dw * ws;
      if (inside && ih0 >= 0 && ih0 + (kh_n - 1) * dh < in_h && id0 >= 0 && id0 + (kd_n - 1) * dd < in_d) {
        // The whole window inside the input: no checks, a row of KW values at a time.
        const int32_t kw_run = KW ? KW : kw_n, plane_step = dd * in_h * in_w * ws;
        if (KW && col_step == 1 && kd_n == 1) {  // 2-D NCHW, no dilation: KW adjacent values a row
          const int8_t* xc = xb + (id0 * in_h + ih0) * in_w + iw0;
          for (int32_t c = 0; c < in_ch; ++c, xc += cs) {
            const int8_t* xr = xc;
            for (int32_t kh = 0; kh < kh_n; ++kh, xr += row_step, dst += KW) {
  #pragma GCC unroll 8
              for (int32_t kw = 0; kw < KW; ++kw) dst[kw] = int16_t(xr[kw] - zx);
            }
          }
          return;
        }
        for (int32_t c = 0; c < in_ch; ++c) {
          const int8_t* xd = xb + c * cs + ((id0 * in_h + ih0) * in_w + iw0) * ws;
          for (int32_t kd = 0; kd < kd_n; ++kd, xd += plane_step) {
            const int8_t* xr = xd;
            for (int32_t kh = 0; kh < kh_n; ++kh, xr += row_step)
              for (int32_t kw = 0; kw < kw_run; ++kw) *dst++ = int16_t(xr[kw * col_step] - zx);
          }
        }
        return;
      }
      for (int32_t c = 0; c < in_ch; ++c)
        for (int32_t kd = 0, id = id0; kd < kd_n; ++kd, id += dd) {
          const int8_t* xr = xb + c * cs + ((id * in_h + ih0) * in_w + iw0) * ws;
          for (int32_t kh = 0, ih = ih0; kh < kh_n; ++kh, ih += dh, xr += row_step) {
            if (id < 0 || id >= in_d || ih < 0 || ih >= in_h) {
              for (int32_t kw = 0; kw < kw_n; ++kw) *dst++ = 0;
            } else if (inside) {
              for (int32_t kw = 0; kw < kw_n; ++kw) *dst++ = int16_t(xr[kw * col_step] - zx);
            } else {
              for (int32_t kw = 0, iw = iw0; kw < kw_n; ++kw, iw += dw)
                *dst++ = iw >= 0 && iw < in_w ? int16_t(xr[kw * col_step] - zx) : int16_t(0);
            }
          }
        }
    }
  };
  const Im2colShape s{p.batch, in_ch, p.out_ch, in_size, out_size, cs, ws, n, zx, in_d, in_h, in_w, out_h, out_w,
                      kd_n, kh_n, kw_n, sd, sh, sw, dd, dh, dw, pd, ph, pw, pointwise};
  im2col_s8<R, Out>(s, gather, x, w, q, t.scratch.data, y);
}
}  // namespace driver

template <Rounding R, int KW = 0, Layout Out = Layout::ChannelsFirst>
TINYC_INLINE void conv_s8_im2col(const ConvS8Params& p, const int8_t* x, const int8_t* w, const void* bias,
                                 const int32_t* multiplier, const int8_t* shift, const float* scale, int8_t* y,
                                 Scratch scratch) {
  driver::conv_s8_im2col<R, KW, Out>(p, {x, w, bias, multiplier, shift, scale, y, scratch});
}

}  // namespace tinyc

#endif
