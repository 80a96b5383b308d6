// conv_s8_im2col: one group's convolution as patches (im2col) times rows of weights.
#ifndef TINYC_INT8_IM2COL_H
#define TINYC_INT8_IM2COL_H

#include "int8_conv.h"
#include "int8_im2col_mve.h"

namespace tinyc {

// ---- fast kernels: the same integers as conv_s8 ----
//
// With the DSP extension, SMLAD does two 16-bit multiply-accumulates at once. SXTB16 widens bytes 0
// and 2 of a 32-bit word of weights to two int16 (and, rotated, bytes 1 and 3), so the inputs they
// multiply are stored pair-interleaved: x0 x2, then x1 x3, in each group of four.

// A quad: the patches of four output pixels (n values each) as 32-bit words that the dot products
// read in one stream: for each whole group of four values g, the int16 pairs (x[4g], x[4g+2]) and
// (x[4g+1], x[4g+3]) of patch 0, then of patches 1, 2 and 3; then the n % 4 last values, one word
// each, as [k][j]. interleave_patch writes patch j, given in natural order.
inline int32_t quad_words(int32_t n) { return 2 * (n & ~3) + 4 * (n & 3); }
inline void interleave_patch(const int16_t* x, int32_t n, int32_t j, uint32_t* quad) {
  const int32_t n4 = n & ~3;
#if defined(__ARM_FEATURE_SIMD32)
  for (int32_t k = 0; k < n4; k += 4, x += 4) {  // the words (x0, x1), (x2, x3) -> (x0, x2), (x1, x3)
    uint32_t a, b;
    __builtin_memcpy(&a, x, 4);
    __builtin_memcpy(&b, x + 2, 4);
    quad[2 * k + 2 * j] = low_halves(a, b), quad[2 * k + 2 * j + 1] = high_halves(a, b);
  }
#else
  for (int32_t k = 0; k < n4; k += 4, x += 4) quad[2 * k + 2 * j] = pack16(x[0], x[2]), quad[2 * k + 2 * j + 1] = pack16(x[1], x[3]);
#endif
  for (int32_t k = n4; k < n; ++k, ++x) quad[2 * n4 + 4 * (k - n4) + j] = uint32_t(int32_t(*x));
}

// The quad of four adjacent pixels of an NCHW input (x: the first, channel c at x + c * cs), read
// a word (four pixels) per channel and transposed in registers with the DSP extension.
inline void pointwise_quad(const int8_t* x, int32_t cs, int32_t n, int32_t zx, uint32_t* quad) {
  int32_t c = 0;
#if defined(__ARM_FEATURE_SIMD32)
  const int32_t zz = int32_t(pack16(zx, zx));
  for (; c + 4 <= n; c += 4, x += 4 * cs, quad += 8) {
    uint32_t a, b, d, e;  // channels c, c+1, c+2, c+3; byte j is pixel j
    __builtin_memcpy(&a, x, 4);
    __builtin_memcpy(&b, x + cs, 4);
    __builtin_memcpy(&d, x + 2 * cs, 4);
    __builtin_memcpy(&e, x + 3 * cs, 4);
    // Pixels 0 and 2 (and, rotated, 1 and 3) of each channel, minus the zero point.
    const uint32_t a02 = __ssub16(__sxtb16(int32_t(a)), zz), a13 = __ssub16(sxtb16_ror8(a), zz);
    const uint32_t b02 = __ssub16(__sxtb16(int32_t(b)), zz), b13 = __ssub16(sxtb16_ror8(b), zz);
    const uint32_t d02 = __ssub16(__sxtb16(int32_t(d)), zz), d13 = __ssub16(sxtb16_ror8(d), zz);
    const uint32_t e02 = __ssub16(__sxtb16(int32_t(e)), zz), e13 = __ssub16(sxtb16_ror8(e), zz);
    // Pixel j: (x[c], x[c+2]) and (x[c+1], x[c+3]).
    quad[0] = low_halves(a02, d02), quad[1] = low_halves(b02, e02);
    quad[2] = low_halves(a13, d13), quad[3] = low_halves(b13, e13);
    quad[4] = high_halves(a02, d02), quad[5] = high_halves(b02, e02);
    quad[6] = high_halves(a13, d13), quad[7] = high_halves(b13, e13);
  }
#else
  for (; c + 4 <= n; c += 4, x += 4 * cs)
    for (int32_t j = 0; j < 4; ++j, quad += 2) {
      quad[0] = pack16(x[j] - zx, x[2 * cs + j] - zx);
      quad[1] = pack16(x[cs + j] - zx, x[3 * cs + j] - zx);
    }
#endif
  for (; c < n; ++c, x += cs)
    for (int32_t j = 0; j < 4; ++j) *quad++ = uint32_t(int32_t(x[j]) - zx);
}

// acc[j] += patch j . w over n values, for the four patches of a quad: each load of four weights
// and its two SXTB16 serve four pixels.
inline void dot4_s8(const uint32_t* quad, const int8_t* w, int32_t n, int32_t* acc) {
  const int32_t n4 = n & ~3;
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  int32_t k = 0;
#if defined(__ARM_FEATURE_SIMD32)
  // Four values of w against the quad's words at quad + 8 * G: each load of w and its two SXTB16
  // serve four pixels.
  auto step = [&](auto G) {
    constexpr int g = decltype(G)::value;
    uint32_t u;
    __builtin_memcpy(&u, w + k + 4 * g, 4);
    const int32_t w02 = __sxtb16(int32_t(u)), w13 = sxtb16_ror8(u);
    uint32_t a, b;
    ldrd_s32<8 * g>(quad, a, b);  // GCC would load the eight words one by one
    s0 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s0));
    ldrd_s32<8 * g + 2>(quad, a, b);
    s1 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s1));
    ldrd_s32<8 * g + 4>(quad, a, b);
    s2 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s2));
    ldrd_s32<8 * g + 6>(quad, a, b);
    s3 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s3));
  };
  for (; k + 8 <= n4; k += 8, quad += 16)  // two groups a pass: half the loop's overhead
    step(std::integral_constant<int, 0>()), step(std::integral_constant<int, 1>());
  if (k < n4) step(std::integral_constant<int, 0>()), k += 4, quad += 8;
#endif
  for (; k < n4; k += 4, quad += 8) {
#if !defined(__ARM_FEATURE_SIMD32)
    auto dot = [&](uint32_t x02, uint32_t x13) {
      return int16_t(x02) * w[k] + int16_t(x02 >> 16) * w[k + 2] + int16_t(x13) * w[k + 1] + int16_t(x13 >> 16) * w[k + 3];
    };
    s0 += dot(quad[0], quad[1]), s1 += dot(quad[2], quad[3]), s2 += dot(quad[4], quad[5]), s3 += dot(quad[6], quad[7]);
#endif
  }
  for (; k < n; ++k, quad += 4) {
    s0 += int32_t(quad[0]) * w[k], s1 += int32_t(quad[1]) * w[k];
    s2 += int32_t(quad[2]) * w[k], s3 += int32_t(quad[3]) * w[k];
  }
  acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3;
}

// The first nb (1 to 4) pixels of a quad times every row of w: y[m * y_stride + j]. Each row's
// requantization is read once per quad.
template <Rounding R>
void quad_times_rows(const uint32_t* quad, int32_t nb, const int8_t* w, int32_t n, int32_t units, const Requant q,
                     int8_t* y, int32_t y_stride) {
  const int32_t zp = q.zp, lo = q.lo, hi = q.hi;
  for (int32_t m = 0; m < units; ++m, w += n, y += y_stride) {
    const ChannelRequant<R> r(q, m);
    int32_t acc[4] = {r.bias, r.bias, r.bias, r.bias};
    dot4_s8(quad, w, n, acc);
    if (r.plain(lo, hi) && nb == 4) {  // the common case, written out: the sums stay in registers
      y[0] = r.out(acc[0], zp, lo, hi, true), y[1] = r.out(acc[1], zp, lo, hi, true);
      y[2] = r.out(acc[2], zp, lo, hi, true), y[3] = r.out(acc[3], zp, lo, hi, true);
    } else if (r.plain(lo, hi)) {
      for (int32_t j = 0; j < nb; ++j) y[j] = r.out(acc[j], zp, lo, hi, true);
    } else {
      for (int32_t j = 0; j < nb; ++j) y[j] = r.out(acc[j], zp, lo, hi, false);
    }
  }
}

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

// One group (groups = 1): for four output pixels at a time, their receptive fields gathered into
// scratch as patches of in_ch * kernel values (im2col), then dot products with every output
// channel's weights. A pointwise one reads its pixels before writing them, so y may be x.
// R: the requantization's rounding, chosen at compile time.
// KW: the kernel width, known at compile time (0: taken from the params).
template <Rounding R, int KW = 0>
void conv_s8_im2col(const ConvS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const int8_t* w = static_cast<const int8_t*>(in[1]);
  const Requant q(in, p.bias16, p.float_requant, p.output_zero_point, p.act_min, p.act_max);
  int8_t* y = static_cast<int8_t*>(out[0]);
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  const int32_t n = p.in_ch * p.kernel[0] * p.kernel[1] * p.kernel[2], zx = p.input_zero_point;
  uint32_t* quad = static_cast<uint32_t*>(out[kScratchSlot]);
#if defined(__ARM_FEATURE_MVE)
  // Patches of x itself (padding: zx), as patches_times_rows reads them; gather writes after them,
  // where there are no tables (conv_s8_im2col_scratch_bytes).
  int8_t* const patches = reinterpret_cast<int8_t*>(quad);
  int16_t* const natural = reinterpret_cast<int16_t*>(patches + kPatchPixels * n);
#else
  int16_t* natural = reinterpret_cast<int16_t*>(quad + quad_words(n));
#endif
  const bool pointwise = is_pointwise(p);
  // The geometry in locals: the closure keeps them in registers, where reading p would be reads
  // through a pointer after every store.
  const int32_t in_ch = p.in_ch, in_d = p.in[0], in_h = p.in[1], in_w = p.in[2], out_h = p.out[1], out_w = p.out[2];
  const int32_t kd_n = p.kernel[0], kh_n = p.kernel[1], kw_n = p.kernel[2];
  const int32_t sd = p.stride[0], sh = p.stride[1], sw = p.stride[2], dd = p.dilation[0], dh = p.dilation[1],
                dw = p.dilation[2], pd = p.pad[0], ph = p.pad[1], pw = p.pad[2];
  // The patch of output pixel i of batch b, in natural order.
  auto gather = [=](const int8_t* xb, int32_t i, int16_t* dst) {
    if (pointwise) {
      const int8_t* xp = xb + i * ws;
      for (int32_t c = 0; c < in_ch; ++c) *dst++ = int16_t(xp[c * cs] - zx);
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
#if defined(__ARM_FEATURE_MVE)
  // After the patches (6n bytes), in the rest of the quad's and natural's room (10n): each
  // value's offset in x from the window's first (2n bytes) and its place in the window (n), for
  // the gathers, then which places of a window on the border are inside the input (KH * KW <= n):
  // when the window spans less than 64 KiB of x and at most 256 places, and never crosses the
  // input's depth.
  uint16_t* offsets = reinterpret_cast<uint16_t*>(patches + kPatchPixels * n);
  uint8_t* taps = reinterpret_cast<uint8_t*>(patches + (kPatchPixels + 2) * n);
  uint8_t* inside = taps + n;
  const int32_t span = (in_ch - 1) * cs + (((kd_n - 1) * dd * in_h + (kh_n - 1) * dh) * in_w + (kw_n - 1) * dw) * ws;
  const bool table = span < 65536 && kh_n * kw_n <= 256 && kd_n == 1 && pd == 0;
  if (table)
    for (int32_t c = 0, k = 0; c < in_ch; ++c)
      for (int32_t kh = 0; kh < kh_n; ++kh)
        for (int32_t kw = 0; kw < kw_n; ++kw, ++k)
          offsets[k] = uint16_t(c * cs + (kh * dh * in_w + kw * dw) * ws), taps[k] = uint8_t(kh * kw_n + kw);
#endif
  for (int32_t b = 0; b < p.batch; ++b) {
    const int8_t* xb = x + b * p.in_ch * in_size;
    int8_t* yb = y + b * p.out_ch * out_size;
#if defined(__ARM_FEATURE_MVE)
    for (int32_t i = 0; i < out_size; i += kPatchPixels) {
      const int32_t nb = out_size - i < kPatchPixels ? out_size - i : kPatchPixels;
      for (int32_t j = 0; j < nb; ++j) {  // past nb: sums not stored
        const int32_t o = i + j;
        if (!table) {
          gather(xb, o, natural);
          place_patch_s8(natural, n, zx, patches, j);
          continue;
        }
        const int32_t ow = o % out_w, oh = o / out_w % out_h, od = o / (out_w * out_h);
        const int32_t iw0 = ow * sw - pw, ih0 = oh * sh - ph, id0 = od * sd;
        const int8_t* first = xb + ((id0 * in_h + ih0) * in_w + iw0) * ws;
        if (ih0 >= 0 && ih0 + (kh_n - 1) * dh < in_h && iw0 >= 0 && iw0 + (kw_n - 1) * dw < in_w) {
          gather_window_s8(first, offsets, n, patches, j);
          continue;
        }
        for (int32_t kh = 0, k = 0; kh < kh_n; ++kh) {
          const bool row = unsigned(ih0 + kh * dh) < unsigned(in_h);
          for (int32_t kw = 0; kw < kw_n; ++kw, ++k) inside[k] = row && unsigned(iw0 + kw * dw) < unsigned(in_w);
        }
        gather_border_s8(first, offsets, taps, inside, n, zx, patches, j);
      }
      patches_times_rows<R>(patches, nb, w, n, p.out_ch, q, zx, yb + i, out_size);
    }
#else
    for (int32_t i = 0; i < out_size; i += 4) {
      const int32_t nb = out_size - i < 4 ? out_size - i : 4;
      if (pointwise && cs != 1 && nb == 4) {  // NCHW: four pixels of a channel are one word
        pointwise_quad(xb + i, cs, n, zx, quad);
        quad_times_rows<R>(quad, 4, w, n, p.out_ch, q, yb + i, out_size);
        continue;
      }
      for (int32_t j = 0; j < 4; ++j) {
        if (j < nb) gather(xb, i + j, natural);
        else for (int32_t k = 0; k < n; ++k) natural[k] = 0;  // past the last pixel
        interleave_patch(natural, n, j, quad);
      }
      quad_times_rows<R>(quad, nb, w, n, p.out_ch, q, yb + i, out_size);
    }
#endif
  }
}

}  // namespace tinyc

#endif
