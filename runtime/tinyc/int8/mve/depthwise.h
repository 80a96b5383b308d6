// depthwise_s8's micro-kernels with Helium (M55): four outputs of a row at a time.
#ifndef TINYC_INT8_MVE_DEPTHWISE_H
#define TINYC_INT8_MVE_DEPTHWISE_H

#include "../depthwise_plane.h"
#include "requant.h"

namespace tinyc {

// n values minus zx as int16 to dst, eight at a time from load(j), the last ones predicated
// (load_z(j, p)): a predicate for every eight made the loop 12 instructions, not 5.
template <class Load, class LoadZ>
TINYC_INLINE void widen_eights(int16_t* dst, int32_t n, int32_t zx, Load load, LoadZ load_z) {
  int32_t j = 0;
  for (; j + 8 <= n; j += 8) vst1q_s16(dst + j, vsubq_n_s16(load(j), int16_t(zx)));
  if (j < n) {
    const mve_pred16_t p = vctp16q(uint32_t(n - j));
    vstrhq_p_s16(dst + j, vsubq_n_s16(load_z(j, p), int16_t(zx)), p);
  }
}

// rows rows of n values, x[j * step] - zx as int16, from x (rows x_step apart) to dst (rows
// dst_step apart): a row in one load (or gather, channels-last) when it is at most eight long
// (most rows of a small model's planes), else eight to a load or gather.
inline void widen_rows_s8(const int8_t* x, int32_t x_step, int32_t step, int32_t zx, int16_t* dst, int32_t dst_step,
                          int32_t rows, int32_t n) {
  if (step == 1 && n <= 8) {
    const mve_pred16_t p = vctp16q(uint32_t(n));
    for (int32_t r = 0; r < rows; ++r, x += x_step, dst += dst_step)
      vstrhq_p_s16(dst, vsubq_n_s16(vldrbq_z_s16(x, p), int16_t(zx)), p);
    return;
  }
  const uint16x8_t offsets = vmulq_n_u16(vidupq_n_u16(0, 1), uint16_t(step));
  if (n <= 8 && step < 8192) {
    const mve_pred16_t p = vctp16q(uint32_t(n));
    for (int32_t r = 0; r < rows; ++r, x += x_step, dst += dst_step)
      vstrhq_p_s16(dst, vsubq_n_s16(vldrbq_gather_offset_z_s16(x, offsets, p), int16_t(zx)), p);
    return;
  }
  for (int32_t r = 0; r < rows; ++r, x += x_step, dst += dst_step) {
    if (step == 1)
      widen_eights(dst, n, zx, [&](int32_t j) { return vldrbq_s16(x + j); },
                   [&](int32_t j, mve_pred16_t p) { return vldrbq_z_s16(x + j, p); });
    else if (step < 8192)  // eight to a gather (u16 offsets)
      widen_eights(dst, n, zx, [&](int32_t j) { return vldrbq_gather_offset_s16(x + j * step, offsets); },
                   [&](int32_t j, mve_pred16_t p) { return vldrbq_gather_offset_z_s16(x + j * step, offsets, p); });
    else
      for (int32_t j = 0; j < n; ++j) dst[j] = int16_t(x[j * step] - zx);
  }
}

// Channel c's outputs yc from its plane and weights wc; KH x KW known at compile time (0: in s).
template <int KH, int KW, Rounding R, Layout Out>
inline void depthwise_channel_s8(const int16_t* plane, const DepthwiseShape& s, const int8_t* wc, const Requant& q,
                                 int32_t c, int8_t* yc) {
  constexpr bool nhwc = Out == Layout::ChannelsLast;
  const int32_t kh_n = KH ? KH : s.kh, kw_n = KW ? KW : s.kw, sh = s.sh, sw = s.sw, dh = s.dh, dw = s.dw;
  const int32_t ys = pixel_step<Out>(s);
  const int32_t ph = s.ph, pw = s.pw, out_h = s.out_h, out_w = s.out_w, zy = s.zy, lo = s.lo, hi = s.hi;
  // Helium: four outputs of a row at a time, a vector load of the plane per tap (a gather when
  // strided). The lanes past the row's end read on into the next plane rows; the loads are
  // predicated only where that could pass the plane's end (the last row, mostly).
  const ChannelRequant4<R> rq4(q, c);
  const uint32x4_t strided = vmulq_n_u32(vidupq_n_u32(0, 1), uint32_t(sw));
  const uint32x4_t pixels = vmulq_n_u32(vidupq_n_u32(0, 1), uint32_t(ys));  // channels-last: four outputs' offsets
  auto row = [&](int32_t oh, auto last, auto unit_stride) {
    const int16_t* pr = plane + oh * sh * pw;
    int8_t* yr = yc + oh * out_w * ys;
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
      const int32x4_t v = rq4.out(vaddq_n_s32(acc, rq4.bias), zy, lo, hi);
      if constexpr (nhwc) vstrbq_scatter_offset_p_s32(yr + ow * ys, pixels, v, p);
      else vstrbq_p_s32(yr + ow, v, p);
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
    // and a right shift of at least 1, so the fixup needs no mask). A channels-last output's
    // scatter takes the bias's vector register for its offsets (vq); the bias is then read after
    // the taps, as a word, each row.
    alignas(8) int32_t taps[10] = {wc[6], wc[3], wc[0], wc[7], wc[4], wc[1], wc[8], wc[5], wc[2]};
    if constexpr (nhwc) taps[9] = rq4.bias;
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
      int8_t* yr = yc + ow * ys;
      register int32_t rows __asm__("lr") = out_h;
      __asm__ volatile(
          "dls lr, lr\n"
          "1:\n"
          "vmov q2, %q[s1]\n"
          "vmov %q[s1], %q[s0]\n"
          ".if %c[nhwc]\n"
          "ldr r4, [%[taps], #36]\n"
          "vdup.32 %q[s0], r4\n"
          ".else\n"
          "vmov %q[s0], %q[vq]\n"
          ".endif\n"
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
          ".if %c[nhwc]\n"
          "vstrb.32 q2, [%[y], %q[vq]]\n"
          ".else\n"
          "vstrb.32 q2, [%[y]]\n"
          ".endif\n"
          "add %[y], %[y], %[y_row]\n"
          "le lr, 1b\n"
          : [s1] "+w"(s1), [s0] "+w"(s0), [pr] "+l"(pr), [y] "+l"(yr), "+r"(rows)
          : [taps] "r"(taps), [pw2] "r"(2 * pw), [y_row] "r"(out_w * ys), [vq] "w"(nhwc ? pixels : vreinterpretq_u32_s32(bias)),
            [nhwc] "i"(nhwc ? 1 : 0), [lo] "w"(vlo),
            [hi] "w"(vhi), [scale] "w"(scale), [rs] "r"(rq4.right), [zp] "r"(zy), [fl] "i"(R == Rounding::OnnxFloat && float_mve ? 1 : 0)
          : "r4", "r5", "q2", "q3", "memory");
    }
    return;
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
}

}  // namespace tinyc

#endif
