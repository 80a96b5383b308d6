// conv_s8_im2col in quads of four pixels (plain C and DSP): the patches interleaved into a quad
// (im2col_layout.h), times every row of weights. The ISA's micro-kernels, defined with these
// signatures in plain/im2col.h and dsp/im2col.h:
#ifndef TINYC_INT8_QUAD_H
#define TINYC_INT8_QUAD_H

#include "im2col_layout.h"

namespace tinyc {

// Writes patch j of the quad, given in natural order (n int16 values).
inline void interleave_patch(const int16_t* x, int32_t n, int32_t j, uint32_t* quad);
// The quad of four adjacent pixels of an NCHW input (x: the first, channel c at x + c * cs), n
// channels, minus the zero point zx.
inline void pointwise_quad(const int8_t* x, int32_t cs, int32_t n, int32_t zx, uint32_t* quad);
// The same for a channels-last input: pixel j's n channels at x + j * ps.
inline void pointwise_quad_last(const int8_t* x, int32_t ps, int32_t n, int32_t zx, uint32_t* quad);
// acc[j] += patch j . w over n values, for the four patches of a quad.
inline void dot4_s8(const uint32_t* quad, const int8_t* w, int32_t n, int32_t* acc);

// The first nb (1 to 4) pixels of a quad times every row of w: y[m * y_stride + j], or with
// Out channels-last y[m + j * y_stride]. Each row's requantization is read once per quad.
template <Rounding R, Layout Out>
void quad_times_rows(const uint32_t* quad, int32_t nb, const int8_t* w, int32_t n, int32_t units, const Requant q,
                     int8_t* y, int32_t y_stride) {
  constexpr bool last = Out == Layout::ChannelsLast;
  const int32_t zp = q.zp, lo = q.lo, hi = q.hi, ms = last ? 1 : y_stride, ps = last ? y_stride : 1;
  for (int32_t m = 0; m < units; ++m, w += n, y += ms) {
    const ChannelRequant<R> r(q, m);
    int32_t acc[4] = {r.bias, r.bias, r.bias, r.bias};
    dot4_s8(quad, w, n, acc);
    if (r.plain(lo, hi) && nb == 4) {  // the common case, written out: the sums stay in registers
      y[0] = r.out(acc[0], zp, lo, hi, true), y[ps] = r.out(acc[1], zp, lo, hi, true);
      y[2 * ps] = r.out(acc[2], zp, lo, hi, true), y[3 * ps] = r.out(acc[3], zp, lo, hi, true);
    } else if (r.plain(lo, hi)) {
      for (int32_t j = 0; j < nb; ++j) y[j * ps] = r.out(acc[j], zp, lo, hi, true);
    } else {
      for (int32_t j = 0; j < nb; ++j) y[j * ps] = r.out(acc[j], zp, lo, hi, false);
    }
  }
}

// The group's convolution on plain C and DSP (Helium's: mve/im2col.h), the pixels of each batch
// four at a time: their patches (gather(xb, pixel, natural) writes one in natural order)
// interleaved into a quad, times every row of w, into y in the layout Out.
template <Rounding R, Layout Out, class Gather>
TINYC_INLINE void im2col_s8(const Im2colShape& s, Gather gather, const int8_t* x, const int8_t* w, const Requant& q,
                  void* scratch, int8_t* y) {
  // In locals: the int8 stores to y may alias anything, s included.
  const int32_t batch = s.batch, in_ch = s.in_ch, out_ch = s.out_ch, in_size = s.in_size, out_size = s.out_size;
  const int32_t n = s.n, cs = s.cs, zx = s.zx;
  const bool pointwise = s.pointwise;
  uint32_t* quad = static_cast<uint32_t*>(scratch);
  int16_t* natural = reinterpret_cast<int16_t*>(quad + quad_words(n));
  for (int32_t b = 0; b < batch; ++b) {
    const int8_t* xb = x + b * in_ch * in_size;
    int8_t* yb = y + b * out_ch * out_size;
    const int32_t ps = Out == Layout::ChannelsLast ? out_ch : 1, y_stride = Out == Layout::ChannelsLast ? out_ch : out_size;
    for (int32_t i = 0; i < out_size; i += 4) {
      const int32_t nb = out_size - i < 4 ? out_size - i : 4;
      if (pointwise && nb == 4) {  // NCHW: four pixels of a channel are one word; channels-last: four channels
        if (cs != 1) pointwise_quad(xb + i, cs, n, zx, quad);
        else pointwise_quad_last(xb + i * in_ch, in_ch, n, zx, quad);
        quad_times_rows<R, Out>(quad, 4, w, n, out_ch, q, yb + i * ps, y_stride);
        continue;
      }
      for (int32_t j = 0; j < 4; ++j) {
        if (j < nb) gather(xb, i + j, natural);
        else for (int32_t k = 0; k < n; ++k) natural[k] = 0;  // past the last pixel
        interleave_patch(natural, n, j, quad);
      }
      quad_times_rows<R, Out>(quad, nb, w, n, out_ch, q, yb + i * ps, y_stride);
    }
  }
}

}  // namespace tinyc

#endif
