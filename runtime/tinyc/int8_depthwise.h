// depthwise_s8: depthwise convolutions over a padded int16 plane per channel.
#ifndef TINYC_INT8_DEPTHWISE_H
#define TINYC_INT8_DEPTHWISE_H

#include "int8_conv.h"

namespace tinyc {

// The padded plane of depthwise_s8: the rows and columns the output's windows reach.
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

// dst[j] = x[j * step] - zx for j in [0, n), as int16; four at a time where x is contiguous.
inline void widen_s8(const int8_t* x, int32_t step, int32_t zx, int16_t* dst, int32_t n) {
  int32_t j = 0;
#if defined(__ARM_FEATURE_MVE)
  const uint16x8_t offsets = vmulq_n_u16(vidupq_n_u16(0, 1), uint16_t(step));
  if (step == 1)
    for (; j < n; j += 8) {
      const mve_pred16_t p = vctp16q(uint32_t(n - j));
      vstrhq_p_s16(dst + j, vsubq_n_s16(vldrbq_z_s16(x + j, p), int16_t(zx)), p);
    }
  else if (step < 8192)  // eight to a gather (u16 offsets)
    for (; j < n; j += 8, x += 8 * step) {
      const mve_pred16_t p = vctp16q(uint32_t(n - j));
      vstrhq_p_s16(dst + j, vsubq_n_s16(vldrbq_gather_offset_z_s16(x, offsets, p), int16_t(zx)), p);
    }
#elif defined(__ARM_FEATURE_SIMD32)
  if (step == 1) {
    const int32_t zz = int32_t(pack16(zx, zx));
    for (; j + 4 <= n; j += 4) {
      uint32_t u;
      __builtin_memcpy(&u, x + j, 4);
      const int32_t x02 = __ssub16(__sxtb16(int32_t(u)), zz), x13 = __ssub16(sxtb16_ror8(u), zz);
      const uint32_t x01 = low_halves(uint32_t(x02), uint32_t(x13)), x23 = high_halves(uint32_t(x02), uint32_t(x13));
      __builtin_memcpy(dst + j, &x01, 4);
      __builtin_memcpy(dst + j + 2, &x23, 4);
    }
  }
#endif
  for (; j < n; ++j) dst[j] = int16_t(x[j * step] - zx);
}

// Two adjacent outputs of a 3x3 window with unit dilation and stride along the row (DSP): from
// row r's taps x0 x1 x2 x3 and weights a b c, y0 += a x0 + b x1 + c x2 and y1 += a x1 + b x2 + c x3
// in two loads and four multiply-accumulates; wp holds each row's pairs (a,b), (b,c), (a,c).
#if defined(__ARM_FEATURE_DSP)
inline void depthwise3x3_pair(const int16_t* win, int32_t pw, const int32_t* wp, int32_t& y0, int32_t& y1) {
#pragma GCC unroll 3
  for (int32_t r = 0; r < 3; ++r, win += pw, wp += 3) {
    uint32_t x01, x23;
    __builtin_memcpy(&x01, win, 4);
    __builtin_memcpy(&x23, win + 2, 4);
    y0 = __smlabt(int32_t(x23), wp[2], __smlad(int32_t(x01), wp[0], y0));
    y1 = __smlatb(int32_t(x01), wp[2], __smlad(int32_t(x23), wp[1], y1));
  }
}

#endif

#if defined(__ARM_FEATURE_DSP)
// A depthwise window of any size whose taps along a row are adjacent (DSP): the row's taps in
// pairs by SMLAD, from the padded int16 plane. dims: kernel rows and columns, the plane's steps
// between kernel rows and between output rows, the column stride, output rows and columns, zero
// point and clamp. Only depthwise_s8<0, 0> calls it: in the 3x3 kernel its code cost the 3x3
// loops registers.
constexpr int32_t kDepthwisePairs = 32;  // a window up to 8x8
template <Rounding R>
void depthwise_pairs_s8(const int16_t* plane, const int8_t* wc, const int32_t* dims,
                        const ChannelRequant<R>& rq, int8_t* y) {
  const int32_t kh_n = dims[0], kw_n = dims[1], row_step = dims[2], out_step = dims[3], sw = dims[4];
  const int32_t out_h = dims[5], out_w = dims[6], zy = dims[7], lo = dims[8], hi = dims[9];
  const int32_t pairs = kw_n / 2, odd = kw_n & 1;
  int32_t wp[kDepthwisePairs];
  for (int32_t i = 0; i < kh_n; ++i)
    for (int32_t j = 0; j < pairs; ++j) wp[i * pairs + j] = int32_t(pack16(wc[i * kw_n + 2 * j], wc[i * kw_n + 2 * j + 1]));
  for (int32_t oh = 0; oh < out_h; ++oh)
    for (int32_t ow = 0; ow < out_w; ++ow) {
      const int16_t* win = plane + oh * out_step + ow * sw;
      int32_t acc = rq.bias;
      for (int32_t i = 0; i < kh_n; ++i, win += row_step) {
        for (int32_t j = 0; j < pairs; ++j) {
          uint32_t v;
          __builtin_memcpy(&v, win + 2 * j, 4);
          acc = __smlad(int32_t(v), wp[i * pairs + j], acc);
        }
        if (odd) acc += win[kw_n - 1] * wc[i * kw_n + kw_n - 1];
      }
      *y++ = clamp_s8(rq.scaled(acc) + zy, lo, hi);
    }
}
#endif

// Depthwise (groups = in_ch = out_ch), 2-D: each input plane is copied into scratch as int16
// (x - zx) with a border of zeros for the padding, so the window needs no bounds checks; KH x KW
// known at compile time (0: taken from the params), R as in conv_s8_im2col. y may be x.
template <int KH, int KW, Rounding R>
void depthwise_s8(const ConvS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const int8_t* w = static_cast<const int8_t*>(in[1]);
  const Requant q(in, p.bias16, p.float_requant, p.output_zero_point, p.act_min, p.act_max);
  int8_t* y = static_cast<int8_t*>(out[0]);
  int16_t* plane = static_cast<int16_t*>(out[kScratchSlot]);
  const int32_t kh_n = KH ? KH : p.kernel[1], kw_n = KW ? KW : p.kernel[2];
  const int32_t sh = p.stride[1], sw = p.stride[2], dh = p.dilation[1], dw = p.dilation[2];
  const int32_t ph = depthwise_plane_rows(p), pw = depthwise_plane_cols(p);
  const int32_t in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2], zx = p.input_zero_point;
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  // Params in locals: the int8 stores to y may alias anything, p included, so the compiler would
  // load them again after every store.
  const int32_t in_h = p.in[1], in_w = p.in[2], out_h = p.out[1], out_w = p.out[2], pad_h = p.pad[1], pad_w = p.pad[2];
  const int32_t batch = p.batch, channels = p.out_ch, in_ch = p.in_ch, zy = q.zp, lo = q.lo, hi = q.hi;
  // The border of zeros is the same for every channel: zeroed once, then only the rows and
  // columns that hold the input are written.
  for (int32_t i = 0; i < ph * pw; ++i) plane[i] = 0;
  const int32_t r0 = pad_h < ph ? pad_h : ph, r1 = pad_h + in_h < ph ? pad_h + in_h : ph;
  const int32_t left = pad_w < pw ? pad_w : pw, n = in_w < pw - left ? in_w : pw - left;
  for (int32_t b = 0; b < batch; ++b)
    for (int32_t c = 0; c < channels; ++c) {
      const int8_t* xc = x + b * in_ch * in_size + c * cs;
#if defined(__ARM_FEATURE_MVE)
      if (ws == 1 && n <= 8) {  // a row in one load: most rows of a small model's planes
        const mve_pred16_t p = vctp16q(uint32_t(n));
        const int8_t* xr = xc + (r0 - pad_h) * in_w;
        for (int16_t* d = plane + r0 * pw + left; d < plane + r1 * pw; d += pw, xr += in_w)
          vstrhq_p_s16(d, vsubq_n_s16(vldrbq_z_s16(xr, p), int16_t(zx)), p);
      } else
#endif
      for (int32_t r = r0; r < r1; ++r) widen_s8(xc + (r - pad_h) * in_w * ws, ws, zx, plane + r * pw + left, n);
      const int8_t* wc = w + c * kh_n * kw_n;
      int8_t* yc = y + (b * channels + c) * out_size;
#if defined(__ARM_FEATURE_MVE)
      // Helium: four outputs of a row at a time, a vector load of the plane per tap (a gather when
      // strided). The lanes past the row's end read on into the next plane rows; the loads are
      // predicated only where that could pass the plane's end (the last row, mostly).
      const ChannelRequant4<R> rq4(q, c);
      const uint32x4_t strided = vmulq_n_u32(vidupq_n_u32(0, 1), uint32_t(sw));
      auto row = [&](int32_t oh, auto last, auto unit_stride) {
        const int16_t* pr = plane + oh * sh * pw;
        int8_t* yr = yc + oh * out_w;
        for (int32_t ow = 0; ow < out_w; ow += 4) {
          const mve_pred16_t p = vctp32q(uint32_t(out_w - ow));
          const int16_t* win = pr + ow * sw;
          int32x4_t acc = vdupq_n_s32(0);
#pragma GCC unroll 8
          for (int32_t i = 0; i < kh_n; ++i)
#pragma GCC unroll 8
            for (int32_t j = 0; j < kw_n; ++j) {
              const int16_t* t = win + i * dh * pw + j * dw;
              int32x4_t v;
              if constexpr (decltype(unit_stride)::value)
                v = decltype(last)::value ? vldrhq_z_s32(t, p) : vldrhq_s32(t);
              else
                v = decltype(last)::value ? vldrhq_gather_shifted_offset_z_s32(t, strided, p)
                                          : vldrhq_gather_shifted_offset_s32(t, strided);
              acc = vmlaq_n_s32(acc, v, wc[i * kw_n + j]);
            }
          vstrbq_p_s32(yr + ow, rq4.out(vaddq_n_s32(acc, rq4.bias), zy, lo, hi), p);
        }
      };
#if defined(__OPTIMIZE__)  // unoptimized, GCC finds no registers for the assembly below
      constexpr bool float_mve = __ARM_FEATURE_MVE & 2;
      if (KH == 3 && KW == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && out_w >= 4 &&
          (R == Rounding::OnnxFloat ? float_mve : rq4.left == 0 && rq4.right < 0)) {
        // Down a column of four outputs (the last column overlapping the one before, so none is
        // partial): each plane row's three loads serve three output rows, whose sums s2, s1, s0
        // (rows r - 2, r - 1, r) take their tap rows 2, 1, 0 from it. In assembly: GCC kept the
        // sums in core registers and the weights on the stack; with the weights read as they are
        // needed, the sums, the requantization and the pointers fit the registers (no left shift
        // and a right shift of at least 1, so the fixup needs no mask).
        alignas(8) const int32_t taps[9] = {wc[6], wc[3], wc[0], wc[7], wc[4], wc[1], wc[8], wc[5], wc[2]};
        const int32x4_t bias = vdupq_n_s32(rq4.bias), vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
        int32_t scale_bits;
        __builtin_memcpy(&scale_bits, &rq4.scale, 4);
        const int32x4_t scale = vdupq_n_s32(R == Rounding::OnnxFloat ? scale_bits : rq4.mult);
        for (int32_t ow = 0; ow < out_w; ow += 4) {
          if (ow + 4 > out_w) ow = out_w - 4;
          const int16_t* pr = plane + ow;
          int32x4_t s1, s0 = bias;
          for (int32_t r = 0; r < 2; ++r, pr += pw) {  // rows 0 and 1 complete no output
            const int32x4_t x0 = vldrhq_s32(pr), x1 = vldrhq_s32(pr + 1), x2 = vldrhq_s32(pr + 2);
            s1 = vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(s0, x0, wc[3]), x1, wc[4]), x2, wc[5]);
            s0 = vmlaq_n_s32(vmlaq_n_s32(vmlaq_n_s32(bias, x0, wc[0]), x1, wc[1]), x2, wc[2]);
          }
          int8_t* yr = yc + ow;
          register int32_t rows __asm__("lr") = out_h;
          __asm__ volatile(
              "dls lr, lr\n"
              "1:\n"
              "vmov q2, %q[s1]\n"
              "vmov %q[s1], %q[s0]\n"
              "vmov %q[s0], %q[bias]\n"
              "ldrd r4, r5, [%[taps]]\n"
              "vldrh.s32 q3, [%[pr]]\n"
              "vmla.s32 q2, q3, r4\n"
              "vmla.s32 %q[s1], q3, r5\n"
              "ldr r4, [%[taps], #8]\n"
              "vmla.s32 %q[s0], q3, r4\n"
              "ldrd r4, r5, [%[taps], #12]\n"
              "vldrh.s32 q3, [%[pr], #2]\n"
              "vmla.s32 q2, q3, r4\n"
              "vmla.s32 %q[s1], q3, r5\n"
              "ldr r4, [%[taps], #20]\n"
              "vmla.s32 %q[s0], q3, r4\n"
              "ldrd r4, r5, [%[taps], #24]\n"
              "vldrh.s32 q3, [%[pr], #4]\n"
              "vmla.s32 q2, q3, r4\n"
              "vmla.s32 %q[s1], q3, r5\n"
              "ldr r4, [%[taps], #32]\n"
              "vmla.s32 %q[s0], q3, r4\n"
              "add %[pr], %[pr], %[pw2]\n"
              ".if %c[fl]\n"
              "vcvt.f32.s32 q2, q2\n"
              "vmul.f32 q2, q2, %q[scale]\n"
              "vcvtn.s32.f32 q2, q2\n"
              "vqadd.s32 q2, q2, %[zp]\n"
              ".else\n"
              "vqrdmulh.s32 q2, q2, %q[scale]\n"
              "vshr.s32 q3, q2, #31\n"
              "vqadd.s32 q2, q2, q3\n"
              "vrshl.s32 q2, %[rs]\n"
              "vadd.i32 q2, q2, %[zp]\n"
              ".endif\n"
              "vmax.s32 q2, q2, %q[lo]\n"
              "vmin.s32 q2, q2, %q[hi]\n"
              "vstrb.32 q2, [%[y]]\n"
              "add %[y], %[y], %[out_w]\n"
              "le lr, 1b\n"
              : [s1] "+w"(s1), [s0] "+w"(s0), [pr] "+l"(pr), [y] "+l"(yr), "+r"(rows)
              : [taps] "r"(taps), [pw2] "r"(2 * pw), [out_w] "r"(out_w), [bias] "w"(bias), [lo] "w"(vlo),
                [hi] "w"(vhi), [scale] "w"(scale), [rs] "r"(rq4.right), [zp] "r"(zy), [fl] "i"(R == Rounding::OnnxFloat && float_mve ? 1 : 0)
              : "r4", "r5", "q2", "q3", "memory");
        }
        continue;
      }
#endif
      const int32_t reach = (((out_w - 1) & ~3) + 3) * sw + (kw_n - 1) * dw;  // of a row's last four lanes
      for (int32_t oh = 0; oh < out_h; ++oh) {
        const bool inside = (oh * sh + (kh_n - 1) * dh) * pw + reach < ph * pw;
        if (sw == 1) {
          if (inside) row(oh, std::false_type(), std::true_type());
          else row(oh, std::true_type(), std::true_type());
        } else {
          if (inside) row(oh, std::false_type(), std::false_type());
          else row(oh, std::true_type(), std::false_type());
        }
      }
#else
      const ChannelRequant<R> rq(q, c);
      if constexpr (KH == 3 && KW == 3) {
#if defined(__ARM_FEATURE_DSP)
        if (dh == 1 && dw == 1 && sw == 1) {  // two outputs at a time
          int32_t wp[9];
          for (int32_t i = 0; i < 3; ++i) {
            const int8_t* t = wc + 3 * i;
            wp[3 * i] = int32_t(pack16(t[0], t[1])), wp[3 * i + 1] = int32_t(pack16(t[1], t[2]));
            wp[3 * i + 2] = int32_t(pack16(t[0], t[2]));
          }
          const bool plain = rq.plain(lo, hi);
          for (int32_t oh = 0; oh < out_h; ++oh) {
            const int16_t* win = plane + oh * sh * pw;
            int8_t* yr = yc + oh * out_w;
            int32_t ow = 0;
            for (; ow + 2 <= out_w; ow += 2) {
              int32_t y0 = rq.bias, y1 = rq.bias;
              depthwise3x3_pair(win + ow, pw, wp, y0, y1);
              if (plain)
                yr[ow] = rq.out(y0, zy, lo, hi, true), yr[ow + 1] = rq.out(y1, zy, lo, hi, true);
              else
                yr[ow] = rq.out(y0, zy, lo, hi, false), yr[ow + 1] = rq.out(y1, zy, lo, hi, false);
            }
            if (ow < out_w) {
              const int16_t* v = win + ow;
              int32_t acc = rq.bias;
              for (int32_t i = 0; i < 3; ++i, v += pw) acc += v[0] * wc[3 * i] + v[1] * wc[3 * i + 1] + v[2] * wc[3 * i + 2];
              yr[ow] = rq.out(acc, zy, lo, hi, plain);
            }
          }
          continue;
        }
#endif
      }
#if defined(__ARM_FEATURE_DSP)
      if (KH == 0 && dw == 1 && kw_n > 1 && kh_n * (kw_n / 2) <= kDepthwisePairs) {  // not in the 3x3 kernel
        const int32_t dims[] = {kh_n, kw_n, dh * pw, sh * pw, sw, out_h, out_w, zy, lo, hi};
        depthwise_pairs_s8(plane, wc, dims, rq, yc);
        continue;
      }
#endif
      for (int32_t oh = 0; oh < out_h; ++oh)
        for (int32_t ow = 0; ow < out_w; ++ow) {
          const int16_t* win = plane + oh * sh * pw + ow * sw;
          int32_t acc = rq.bias;
          for (int32_t i = 0; i < kh_n; ++i)
            for (int32_t j = 0; j < kw_n; ++j) acc += win[i * dh * pw + j * dw] * wc[i * kw_n + j];
          yc[oh * out_w + ow] = clamp_s8(rq.scaled(acc) + zy, lo, hi);
        }
#endif
    }
}

}  // namespace tinyc

#endif
