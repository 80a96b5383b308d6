// conv_s8_im2col with Helium (M55): patches of six pixels gathered by tables, times rows of
// weights by VMLADAVA.
#ifndef TINYC_INT8_MVE_IM2COL_H
#define TINYC_INT8_MVE_IM2COL_H

#include "../im2col_layout.h"
#include "requant.h"

namespace tinyc {

// Helium: the patches of six pixels (n int8 values each: x itself, padding zx) times every row of
// w, requantized into y[m * y_stride + j] (channels-last Out: y[m + j * y_stride]) for the first nb pixels. VMLADAVA takes sixteen int8
// products at once, so the sums are x . w - zx sum w, sum w from VADDVA on the same loads of w.
// Six, as VMLADAVA accumulates in even registers only: six sums and sum w take all seven. The
// patches are laid out for one pointer: the whole groups of sixteen values as
// [group][pixel][16], then the n % 16 last values as [pixel][n % 16] (patch_at).
inline int8_t* patch_at(int8_t* patches, int32_t n, int32_t j, int32_t k) {
  return k < (n & ~15) ? patches + kPatchPixels * (k & ~15) + 16 * j + (k & 15)
                       : patches + kPatchPixels * (n & ~15) + (n & 15) * j + (k & 15);
}

template <Rounding R, Layout Out>
void patches_times_rows(const int8_t* x, int32_t nb, const int8_t* w, int32_t n, int32_t units, const Requant q,
                        int32_t zx, int8_t* y, int32_t y_stride) {
  constexpr bool last = Out == Layout::ChannelsLast;
  const int32_t zp = q.zp, lo = q.lo, hi = q.hi, groups = n >> 4, rest = n & 15;
  const int32_t ms = last ? 1 : y_stride, ps = last ? y_stride : 1;
  const uint32x4_t pixels = vmulq_n_u32(vidupq_n_u32(0, 1), uint32_t(ps));  // channels-last: the four pixels' offsets
  const mve_pred16_t tail = vctp8q(uint32_t(rest));
  const mve_pred16_t first = vctp32q(uint32_t(nb < 4 ? nb : 4)), second = vctp32q(uint32_t(nb > 4 ? nb - 4 : 0));
  for (int32_t m = 0; m < units; ++m, y += ms) {
    int32x4_t v0, v1;  // pixels 0 to 3, then 4 and 5
    int32_t sw;
    if (groups) {
      // In assembly: VMLADAVA accumulates in even registers only, and GCC moved the sums between
      // registers around each. The first group starts the sums (VMLADAV), the others add to them;
      // the last n % 16 values read sixteen bytes of x each, but w's are zero past them (and x's
      // stay in the scratch: n >= 16).
      const int8_t* xk = x;
      int32_t a0, a1, a2, a3, a4, a5;
      register int32_t loops __asm__("lr") = groups - 1;
      __asm__ volatile(
          "vldrb.8 q0, [%[w]], #16\n"
          "vldrb.8 q1, [%[x]], #96\n"
          "vldrb.8 q2, [%[x], #-80]\n"
          "vaddv.s8 %[sw], q0\n"
          "vmladav.s8 %[a0], q1, q0\n"
          "vldrb.8 q1, [%[x], #-64]\n"
          "vmladav.s8 %[a1], q2, q0\n"
          "vldrb.8 q2, [%[x], #-48]\n"
          "vmladav.s8 %[a2], q1, q0\n"
          "vldrb.8 q1, [%[x], #-32]\n"
          "vmladav.s8 %[a3], q2, q0\n"
          "vldrb.8 q2, [%[x], #-16]\n"
          "vmladav.s8 %[a4], q1, q0\n"
          "vmladav.s8 %[a5], q2, q0\n"
          "wls lr, lr, 2f\n"
          "1:\n"
          "vldrb.8 q0, [%[w]], #16\n"
          "vldrb.8 q1, [%[x]], #96\n"
          "vldrb.8 q2, [%[x], #-80]\n"
          "vaddva.s8 %[sw], q0\n"
          "vmlava.s8 %[a0], q1, q0\n"
          "vldrb.8 q1, [%[x], #-64]\n"
          "vmlava.s8 %[a1], q2, q0\n"
          "vldrb.8 q2, [%[x], #-48]\n"
          "vmlava.s8 %[a2], q1, q0\n"
          "vldrb.8 q1, [%[x], #-32]\n"
          "vmlava.s8 %[a3], q2, q0\n"
          "vldrb.8 q2, [%[x], #-16]\n"
          "vmlava.s8 %[a4], q1, q0\n"
          "vmlava.s8 %[a5], q2, q0\n"
          "le lr, 1b\n"
          "2:\n"
          "cbz %[rest], 3f\n"
          "vctp.8 %[rest]\n"
          "vpst\n"
          "vldrbt.8 q0, [%[w]]\n"
          "vldrb.8 q1, [%[x]]\n"
          "add %[x], %[rest]\n"
          "vaddva.s8 %[sw], q0\n"
          "vldrb.8 q2, [%[x]]\n"
          "add %[x], %[rest]\n"
          "vmlava.s8 %[a0], q1, q0\n"
          "vldrb.8 q1, [%[x]]\n"
          "add %[x], %[rest]\n"
          "vmlava.s8 %[a1], q2, q0\n"
          "vldrb.8 q2, [%[x]]\n"
          "add %[x], %[rest]\n"
          "vmlava.s8 %[a2], q1, q0\n"
          "vldrb.8 q1, [%[x]]\n"
          "add %[x], %[rest]\n"
          "vmlava.s8 %[a3], q2, q0\n"
          "vldrb.8 q2, [%[x]]\n"
          "add %[w], %[rest]\n"
          "vmlava.s8 %[a4], q1, q0\n"
          "vmlava.s8 %[a5], q2, q0\n"
          "3:\n"
          "vmov %q[v0][2], %q[v0][0], %[a0], %[a2]\n"
          "vmov %q[v0][3], %q[v0][1], %[a1], %[a3]\n"
          "vdup.32 %q[v1], %[a4]\n"
          "vmov.32 %q[v1][1], %[a5]\n"
          : [v0] "=&w"(v0), [v1] "=&w"(v1), [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3),
            [a4] "=&Te"(a4), [a5] "=&Te"(a5), [sw] "=&Te"(sw), [w] "+r"(w), [x] "+r"(xk), "+r"(loops)
          : [rest] "l"(rest)
          : "q0", "q1", "q2", "memory");
    } else {
      const int8x16_t v = vldrbq_z_s8(w, tail);
      sw = vaddvq_s8(v);
      const int32_t a0 = vmladavq_s8(vldrbq_z_s8(x, tail), v), a1 = vmladavq_s8(vldrbq_z_s8(x + rest, tail), v);
      const int32_t a2 = vmladavq_s8(vldrbq_z_s8(x + 2 * rest, tail), v), a3 = vmladavq_s8(vldrbq_z_s8(x + 3 * rest, tail), v);
      const int32_t a4 = vmladavq_s8(vldrbq_z_s8(x + 4 * rest, tail), v), a5 = vmladavq_s8(vldrbq_z_s8(x + 5 * rest, tail), v);
      v0 = vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);
      v1 = vsetq_lane_s32(a5, vdupq_n_s32(a4), 1);
      w += rest;
    }
    const ChannelRequant4<R> r(q, m);
    const int32_t b = r.bias - zx * sw;
    if constexpr (last) {
      vstrbq_scatter_offset_p_s32(y, pixels, r.out(vaddq_n_s32(v0, b), zp, lo, hi), first);
      if (nb > 4) vstrbq_scatter_offset_p_s32(y + 4 * ps, pixels, r.out(vaddq_n_s32(v1, b), zp, lo, hi), second);
    } else {
      vstrbq_p_s32(y, r.out(vaddq_n_s32(v0, b), zp, lo, hi), first);
      if (nb > 4) vstrbq_p_s32(y + 4, r.out(vaddq_n_s32(v1, b), zp, lo, hi), second);
    }
  }
}

// Pixel j's patch, its value k at x + offsets[k] (k in [0, n)), written where patch_at puts it:
// eight values to a gather.
inline void gather_window_s8(const int8_t* x, const uint16_t* offsets, int32_t n, int8_t* patches, int32_t j) {
  int8_t* dst = patches + 16 * j;
  for (int32_t g = n >> 4; g > 0; --g, offsets += 16, dst += 16 * kPatchPixels) {
    vstrbq_s16(dst, vldrbq_gather_offset_s16(x, vldrhq_u16(offsets)));
    vstrbq_s16(dst + 8, vldrbq_gather_offset_s16(x, vldrhq_u16(offsets + 8)));
  }
  dst = patch_at(patches, n, j, n & ~15);
  for (int32_t k = 0; k < (n & 15); k += 8) {
    const mve_pred16_t p = vctp16q(uint32_t((n & 15) - k));
    vstrbq_p_s16(dst + k, vldrbq_gather_offset_z_s16(x, vldrhq_z_u16(offsets + k, p), p), p);
  }
}

// The same for a window that crosses the input's border: value k is there if inside[tap[k]] (tap:
// its place in the window, kh * KW + kw), else it is padding, zx; the padding's addresses are not
// read. In assembly, for the predicate to stay in VPR (GCC moves it through a core register
// around each use).
inline void gather_border_s8(const int8_t* x, const uint16_t* offsets, const uint8_t* tap, const uint8_t* inside,
                             int32_t n, int32_t zx, int8_t* patches, int32_t j) {
  const int16x8_t pad = vdupq_n_s16(int16_t(zx));
  auto eight = [&](int32_t k, int8_t* dst) {  // values k to k + 7 (those below n)
    int16x8_t v;
    __asm__ volatile(
        "vctp.16 %[rem]\n"
        "vpstt\n"
        "vldrbt.u16 q0, [%[tap]]\n"
        "vldrht.u16 q1, [%[off]]\n"
        "vpst\n"
        "vldrbt.u16 q2, [%[inside], q0]\n"
        "vpt.i16 ne, q2, %[zero]\n"
        "vldrbt.s16 q0, [%[x], q1]\n"
        "vpsel %q[v], q0, %q[pad]\n"
        "vctp.16 %[rem]\n"
        "vpst\n"
        "vstrbt.16 %q[v], [%[dst]]\n"
        : [v] "=&w"(v)
        : [rem] "r"(n - k), [tap] "l"(tap + k), [off] "r"(offsets + k), [inside] "l"(inside), [zero] "r"(0),
          [x] "l"(x), [pad] "w"(pad), [dst] "l"(dst)
        : "q0", "q1", "q2", "memory");
  };
  const int32_t whole = n & ~15;
  int8_t* dst = patches + 16 * j;
  int32_t k = 0;
  for (; k < whole; k += 16, dst += 16 * kPatchPixels) eight(k, dst), eight(k + 8, dst + 8);
  for (dst = patch_at(patches, n, j, whole); k < n; k += 8, dst += 8) eight(k, dst);
}

// Pixel j's patch from its values in natural order, offset by -zx.
inline void place_patch_s8(const int16_t* natural, int32_t n, int32_t zx, int8_t* patches, int32_t j) {
  for (int32_t k = 0; k < n; k += 8) {
    const mve_pred16_t p = vctp16q(uint32_t(n - k));
    vstrbq_p_s16(patch_at(patches, n, j, k), vaddq_n_s16(vldrhq_z_s16(natural + k, p), int16_t(zx)), p);
  }
}

// The group's convolution on Helium, the pixels of each batch six at a time: patches of x itself
// (padding: zx), as patches_times_rows reads them. After the patches (6n bytes), in the rest of the
// scratch: each value's offset in x from the window's first (2n bytes) and its place in the window
// (n), for the gathers, then which places of a window on the border are inside the input (KH * KW
// <= n): when the window spans less than 64 KiB of x and at most 256 places, and never crosses the
// input's depth. Where there are no tables, gather(xb, pixel, natural) writes a patch in natural
// order after the patches instead.
template <Rounding R, Layout Out, class Gather>
TINYC_INLINE void im2col_s8(const Im2colShape& s, Gather gather, const int8_t* x, const int8_t* w, const Requant& q,
               void* scratch, int8_t* y) {
  const int32_t n = s.n, zx = s.zx, in_ch = s.in_ch, cs = s.cs, ws = s.ws, in_h = s.in_h, in_w = s.in_w;
  const int32_t out_h = s.out_h, out_w = s.out_w, out_size = s.out_size, kd_n = s.kd, kh_n = s.kh, kw_n = s.kw;
  const int32_t sd = s.sd, sh = s.sh, sw = s.sw, dd = s.dd, dh = s.dh, dw = s.dw, ph = s.ph, pw = s.pw;
  const int32_t batch = s.batch, in_size = s.in_size, out_ch = s.out_ch;
  int8_t* const patches = static_cast<int8_t*>(scratch);
  int16_t* const natural = reinterpret_cast<int16_t*>(patches + kPatchPixels * n);
  uint16_t* offsets = reinterpret_cast<uint16_t*>(patches + kPatchPixels * n);
  uint8_t* taps = reinterpret_cast<uint8_t*>(patches + (kPatchPixels + 2) * n);
  uint8_t* inside = taps + n;
  const int32_t span = (in_ch - 1) * cs + (((kd_n - 1) * dd * in_h + (kh_n - 1) * dh) * in_w + (kw_n - 1) * dw) * ws;
  const bool table = span < 65536 && kh_n * kw_n <= 256 && kd_n == 1 && s.pd == 0;
  // In w's order: (c, kh, kw), or channels-last (kh, kw, c).
  auto entry = [&](int32_t k, int32_t c, int32_t kh, int32_t kw) {
    offsets[k] = uint16_t(c * cs + (kh * dh * in_w + kw * dw) * ws), taps[k] = uint8_t(kh * kw_n + kw);
  };
  if (table && ws == 1)
    for (int32_t c = 0, k = 0; c < in_ch; ++c)
      for (int32_t kh = 0; kh < kh_n; ++kh)
        for (int32_t kw = 0; kw < kw_n; ++kw, ++k) entry(k, c, kh, kw);
  if (table && ws != 1)
    for (int32_t kh = 0, k = 0; kh < kh_n; ++kh)
      for (int32_t kw = 0; kw < kw_n; ++kw)
        for (int32_t c = 0; c < in_ch; ++c, ++k) entry(k, c, kh, kw);
  for (int32_t b = 0; b < batch; ++b) {
    const int8_t* xb = x + b * in_ch * in_size;
    int8_t* yb = y + b * out_ch * out_size;
    const int32_t ps = Out == Layout::ChannelsLast ? out_ch : 1, y_stride = Out == Layout::ChannelsLast ? out_ch : out_size;
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
      patches_times_rows<R, Out>(patches, nb, w, n, out_ch, q, zx, yb + i * ps, y_stride);
    }
  }
}

}  // namespace tinyc

#endif
