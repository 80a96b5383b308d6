// depthwise_s8's micro-kernels with the DSP extension (M4, M7, M33): SMLAD on pairs of taps.
#ifndef TINYC_INT8_DSP_DEPTHWISE_H
#define TINYC_INT8_DSP_DEPTHWISE_H

#include "../depthwise_plane.h"

namespace tinyc {

// rows rows of n values, x[j * step] - zx as int16, from x (rows x_step apart) to dst (rows
// dst_step apart); four at a time where x is contiguous.
TINYC_INLINE void widen_rows_s8(const int8_t* x, int32_t x_step, int32_t step, int32_t zx, int16_t* dst, int32_t dst_step,
                          int32_t rows, int32_t n) {
  const int32_t zz = int32_t(pack16(zx, zx));
  for (int32_t r = 0; r < rows; ++r, x += x_step, dst += dst_step) {
    int32_t j = 0;
    if (step == 1)
      for (; j + 4 <= n; j += 4) {
        uint32_t u;
        __builtin_memcpy(&u, x + j, 4);
        const int32_t x02 = __ssub16(__sxtb16(int32_t(u)), zz), x13 = __ssub16(sxtb16_ror8(u), zz);
        const uint32_t x01 = low_halves(uint32_t(x02), uint32_t(x13)), x23 = high_halves(uint32_t(x02), uint32_t(x13));
        __builtin_memcpy(dst + j, &x01, 4);
        __builtin_memcpy(dst + j + 2, &x23, 4);
      }
    for (; j < n; ++j) dst[j] = int16_t(x[j * step] - zx);
  }
}

// Two adjacent outputs of a 3x3 window with unit dilation and stride along the row: from row r's
// taps x0 x1 x2 x3 and weights a b c, y0 += a x0 + b x1 + c x2 and y1 += a x1 + b x2 + c x3 in
// two loads and four multiply-accumulates; wp holds each row's pairs (a,b), (b,c), (a,c).
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

// A 3x3 window with unit dilation and column stride: two outputs at a time. Channel c's
// requantization is read here, not passed in: a copy through the stack cost every channel more.
template <Rounding R, Layout Out>
inline void depthwise3x3_s8(const int16_t* plane, const DepthwiseShape& s, const int8_t* wc, const Requant& q,
                            int32_t c, int8_t* yc) {
  const ChannelRequant<R> rq(q, c);
  const int32_t pw = s.pw, sh = s.sh, out_h = s.out_h, out_w = s.out_w, zy = s.zy, lo = s.lo, hi = s.hi;
  const int32_t ys = pixel_step<Out>(s);
  int32_t wp[9];
  for (int32_t i = 0; i < 3; ++i) {
    const int8_t* t = wc + 3 * i;
    wp[3 * i] = int32_t(pack16(t[0], t[1])), wp[3 * i + 1] = int32_t(pack16(t[1], t[2]));
    wp[3 * i + 2] = int32_t(pack16(t[0], t[2]));
  }
  const bool plain = rq.plain_zp(lo, hi);
  for (int32_t oh = 0; oh < out_h; ++oh) {
    const int16_t* win = plane + oh * sh * pw;
    int8_t* yr = yc + oh * out_w * ys;
    int32_t ow = 0;
    for (; ow + 2 <= out_w; ow += 2) {
      int32_t y0 = rq.bias, y1 = rq.bias;
      depthwise3x3_pair(win + ow, pw, wp, y0, y1);
      if (plain)
        yr[ow * ys] = rq.out_zp(y0, zy, lo, hi, true), yr[(ow + 1) * ys] = rq.out_zp(y1, zy, lo, hi, true);
      else
        yr[ow * ys] = rq.out_zp(y0, zy, lo, hi, false), yr[(ow + 1) * ys] = rq.out_zp(y1, zy, lo, hi, false);
    }
    if (ow < out_w) {
      const int16_t* v = win + ow;
      int32_t acc = rq.bias;
      for (int32_t i = 0; i < 3; ++i, v += pw) acc += v[0] * wc[3 * i] + v[1] * wc[3 * i + 1] + v[2] * wc[3 * i + 2];
      yr[ow * ys] = rq.out_zp(acc, zy, lo, hi, plain);
    }
  }
}

// A window of any size whose taps along a row are adjacent: the row's taps in pairs by SMLAD.
// Only depthwise_s8<0, 0> calls it: in the 3x3 kernel its code cost the 3x3 loops registers.
constexpr int32_t kDepthwisePairs = 32;  // a window up to 8x8
template <Rounding R, Layout Out>
void depthwise_pairs_s8(const int16_t* plane, const DepthwiseShape& s, const int8_t* wc, const Requant& q, int32_t c,
                        int8_t* y) {
  const ChannelRequant<R> rq(q, c);
  const int32_t ys = pixel_step<Out>(s);
  const int32_t kh_n = s.kh, kw_n = s.kw, row_step = s.dh * s.pw, out_step = s.sh * s.pw, sw = s.sw;
  const int32_t out_h = s.out_h, out_w = s.out_w, zy = s.zy, lo = s.lo, hi = s.hi;
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
      *y = clamp_s8(rq.with_zp(acc, zy), lo, hi);
      y += ys;
    }
}

// Channel c's outputs yc from its plane and weights wc; KH x KW known at compile time (0: in s).
template <int KH, int KW, Rounding R, Layout Out>
TINYC_INLINE void depthwise_channel_s8(const int16_t* plane, const DepthwiseShape& s, const int8_t* wc, const Requant& q,
                                 int32_t c, int8_t* yc) {
  if constexpr (KH == 3 && KW == 3) {
    if (s.dh == 1 && s.dw == 1 && s.sw == 1) return depthwise3x3_s8<R, Out>(plane, s, wc, q, c, yc);
  }
  if (KH == 0 && s.dw == 1 && s.kw > 1 && s.kh * (s.kw / 2) <= kDepthwisePairs)  // not in the 3x3 kernel
    return depthwise_pairs_s8<R, Out>(plane, s, wc, q, c, yc);
  depthwise_windows_s8<KH, KW, Out>(plane, s, wc, ChannelRequant<R>(q, c), yc);
}

}  // namespace tinyc

#endif
