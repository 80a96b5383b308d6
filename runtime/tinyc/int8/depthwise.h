// depthwise_s8: depthwise convolutions over a padded int16 plane per channel.
#ifndef TINYC_INT8_DEPTHWISE_H
#define TINYC_INT8_DEPTHWISE_H

#include "depthwise_plane.h"
#include "micro_kernels.h"  // widen_rows_s8, depthwise_channel_s8

namespace tinyc {

// Depthwise (groups = in_ch = out_ch), 2-D: each input plane is copied into scratch as int16
// (x - zx) with a border of zeros for the padding, so the window needs no bounds checks; then the
// ISA's micro-kernel computes the channel's outputs from it. KH x KW known at compile time (0:
// taken from the params), R and Out as in conv_s8_im2col. y may be x.
namespace driver {
template <int KH, int KW, Rounding R, Layout Out>
void depthwise_s8(const ConvS8Params& p, const ConvS8Tensors& t) {
  const Requant q(p, t.bias, t.multiplier, t.shift, t.scale);
  const int8_t *x = t.x, *w = t.w;
  int8_t* y = t.y;
  int16_t* plane = static_cast<int16_t*>(t.scratch.data);
  const int32_t kh_n = KH ? KH : p.kernel[1], kw_n = KW ? KW : p.kernel[2];
  const int32_t ph = depthwise_plane_rows(p), pw = depthwise_plane_cols(p);
  const int32_t in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2], zx = p.input_zero_point;
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  // Params in locals: the int8 stores to y may alias anything, p included, so the compiler would
  // load them again after every store.
  const int32_t in_h = p.in[1], in_w = p.in[2], pad_h = p.pad[1], pad_w = p.pad[2];
  const int32_t batch = p.batch, channels = p.out_ch, in_ch = p.in_ch;
  const DepthwiseShape s{kh_n, kw_n, p.stride[1], p.stride[2], p.dilation[1], p.dilation[2], ph, pw,
                         p.out[1], p.out[2], q.zp, q.lo, q.hi, p.out_ch};
  // The border of zeros is the same for every channel: zeroed once, then only the rows and
  // columns that hold the input are written.
  for (int32_t i = 0; i < ph * pw; ++i) plane[i] = 0;
  const int32_t r0 = pad_h < ph ? pad_h : ph, r1 = pad_h + in_h < ph ? pad_h + in_h : ph;
  const int32_t left = pad_w < pw ? pad_w : pw, n = in_w < pw - left ? in_w : pw - left;
  for (int32_t b = 0; b < batch; ++b)
    for (int32_t c = 0; c < channels; ++c) {
      const int8_t* xc = x + b * in_ch * in_size + c * cs;
      widen_rows_s8(xc + (r0 - pad_h) * in_w * ws, in_w * ws, ws, zx, plane + r0 * pw + left, pw, r1 - r0, n);
      int8_t* yc = y + b * channels * out_size + (Out == Layout::ChannelsLast ? c : c * out_size);
      depthwise_channel_s8<KH, KW, R, Out>(plane, s, w + c * kh_n * kw_n, q, c, yc);
    }
}
}  // namespace driver

template <int KH, int KW, Rounding R, Layout Out = Layout::ChannelsFirst>
TINYC_INLINE void depthwise_s8(const ConvS8Params& p, const int8_t* x, const int8_t* w, const void* bias,
                               const int32_t* multiplier, const int8_t* shift, const float* scale, int8_t* y,
                               Scratch scratch) {
  driver::depthwise_s8<KH, KW, R, Out>(p, {x, w, bias, multiplier, shift, scale, y, scratch});
}

}  // namespace tinyc

#endif
