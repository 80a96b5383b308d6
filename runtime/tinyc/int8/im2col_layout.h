// What conv_s8_im2col's driver (im2col.h) and each ISA's half of it share: the convolution's
// geometry, and the layouts of the scratch: quads of four patches (plain C, DSP) or patches of
// six pixels (Helium).
#ifndef TINYC_INT8_IM2COL_LAYOUT_H
#define TINYC_INT8_IM2COL_LAYOUT_H

#include "conv.h"

namespace tinyc {

// A group's geometry, from ConvS8Params: elements per input and output channel, the element
// steps of a channel and of a column of x (channels-last or not), values per patch n, the input
// zero point, and the window's kernel, strides, dilations and leading pads per axis (D, H, W).
struct Im2colShape {
  int32_t batch, in_ch, out_ch, in_size, out_size, cs, ws, n, zx;
  int32_t in_d, in_h, in_w, out_h, out_w, kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw;
  bool pointwise;
};

// Plain C and DSP: a quad holds the patches of four output pixels (n values each) as 32-bit words
// that the dot products read in one stream: for each whole group of four values g, the int16 pairs
// (x[4g], x[4g+2]) and (x[4g+1], x[4g+3]) of patch 0, then of patches 1, 2 and 3; then the n % 4
// last values, one word each, as [k][j]. SMLAD does two 16-bit multiply-accumulates at once, and
// SXTB16 widens bytes 0 and 2 of a word of weights to two int16 (and, rotated, bytes 1 and 3), so
// the inputs they multiply are stored pair-interleaved: x0 x2, then x1 x3, in each group of four.
inline int32_t quad_words(int32_t n) { return 2 * (n & ~3) + 4 * (n & 3); }

// Helium: pixels per patch block (mve/im2col.h's patches_times_rows).
constexpr int32_t kPatchPixels = 6;

// Scratch of conv_s8_im2col on each ISA, n = in_ch * kernel values a patch. Plain and DSP: the
// quad, then one patch in natural order (int16). Helium: six pixels' int8 patches, then either one
// patch in natural order or the gather tables: each value's offset (u16) and place in the window
// (u8), and which of the window's KH * KW places are inside the input (u8 each).
inline size_t conv_s8_im2col_scratch_bytes(const ConvS8Params& p, Isa isa) {
  const size_t n = size_t(p.in_ch) * size_t(p.kernel[0]) * size_t(p.kernel[1]) * size_t(p.kernel[2]);
  const size_t quad = sizeof(uint32_t) * size_t(quad_words(int32_t(n))) + sizeof(int16_t) * n;
  const size_t natural = sizeof(int16_t) * n, tables = (sizeof(uint16_t) + 1) * n + size_t(p.kernel[1]) * size_t(p.kernel[2]);
  const size_t helium = size_t(kPatchPixels) * n + (natural > tables ? natural : tables);
  if (isa == Isa::Helium) return helium;
  if (isa == Isa::Portable && helium > quad) return helium;
  return quad;
}

// How far before x conv_s8_im2col's y may start and still overlap x (y = x - lead, one batch):
// every ISA's driver gathers a block of pixels' patches before it writes their outputs, in pixel
// order, so it is enough that pixel j's outputs land below every value of x a later pixel reads.
// -1: not for several batches.
inline int64_t conv_s8_im2col_lead(const ConvS8Params& p) {
  if (p.batch != 1) return -1;
  const int64_t out_size = int64_t(p.out[0]) * p.out[1] * p.out[2], ws = p.channels_last ? p.in_ch : 1;
  // The lowest value of x that pixel o reads (its window's corner clamped into x; channel 0).
  auto lowest_read = [&](int64_t o) {
    const int64_t ow = o % p.out[2], oh = o / p.out[2] % p.out[1], od = o / (int64_t(p.out[2]) * p.out[1]);
    auto first = [](int64_t i) { return i < 0 ? 0 : i; };
    const int64_t id = first(od * p.stride[0] - p.pad[0]), ih = first(oh * p.stride[1] - p.pad[1]),
                  iw = first(ow * p.stride[2] - p.pad[2]);
    return ((id * p.in[1] + ih) * p.in[2] + iw) * ws;
  };
  int64_t lead = 0, later = INT64_MAX;  // later: the lowest value the pixels after o read
  for (int64_t o = out_size - 1; o >= 0; --o) {
    const int64_t highest_write = p.channels_last_out ? (o + 1) * p.out_ch - 1 : (p.out_ch - 1) * out_size + o;
    if (later != INT64_MAX && highest_write + 1 - later > lead) lead = highest_write + 1 - later;
    const int64_t r = lowest_read(o);
    if (r < later) later = r;
  }
  return lead;
}

}  // namespace tinyc

#endif
