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

}  // namespace tinyc

#endif
