// int8 kernels of models quantized by tinyc, integer-only, with TFLite's int8 arithmetic:
// int32 accumulation, requantization by an int32 fixed-point multiplier and a shift
// (MultiplyByQuantizedMultiplier), so a layer gives the same integers as TFLite Micro's reference
// kernels and CMSIS-NN for the same parameters. Layout NCHW as in the float kernels.
#ifndef TINYC_INT8_H
#define TINYC_INT8_H

#include "elementwise.h"
#include "movement.h"
#include "nn.h"
#include "tinyc.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif
#if defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>

// The two words at p + I (p 4-byte aligned) in one instruction.
template <int I>
static inline void ldrd_s32(const uint32_t* p, uint32_t& a, uint32_t& b) {
  __asm__("ldrd %0, %1, [%2, %3]"
          : "=r"(a), "=r"(b)
          : "r"(p), "i"(4 * I), "m"(*reinterpret_cast<const uint32_t(*)[2]>(p + I)));
}

// Bytes 1 and 3 of u, sign-extended to two int16 (GCC does not fold the rotation into SXTB16).
static inline int32_t sxtb16_ror8(uint32_t u) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(u));
  return r;
}
#endif

namespace tinyc {

// x * multiplier * 2^shift / 2^31 (multiplier in [0, 2^31), shift in [-31, 30]) as TFLite's
// MultiplyByQuantizedMultiplier: x << shift, gemmlowp's rounding doubling high multiply, then a
// right shift by -shift rounded half away from zero. Here in one multiply-accumulate:
// - The high multiply floor((a * m + 2^30) / 2^31) equals gemmlowp's truncated
//   (a * m +- nudge) / 2^31 for either sign (ceil(v / 2^31) = floor((v + 2^31 - 1) / 2^31)).
// - Rounding h / 2^e (e >= 1) half away from zero is floor((h + 2^(e-1) - [h < 0]) / 2^e), and
//   floor((floor(v / 2^31) + c) / 2^e) = floor((v + c * 2^31) / 2^(31+e)) for an integer c: both
//   steps are one sum shifted right by 31 + e, whose high word shifted by e - 1 is the result.
//   [h < 0] may be read as [x < 0]: they differ only when h = 0, where both give 0.
struct QuantizedMultiplier {
  int32_t mult, left, right;   // right: -shift - 1 when shifting right
  uint32_t nudge_lo, nudge_hi;  // 2^30 + 2^(30 - shift) when shifting right
  QuantizedMultiplier(int32_t multiplier, int32_t shift)
      : mult(multiplier), left(shift > 0 ? shift : 0), right(shift < 0 ? -shift - 1 : -1),
        nudge_lo(shift < 0 ? (1u << 30) + ((1u << -shift) << 30) : 0), nudge_hi(shift < 0 ? (1u << -shift) >> 2 : 0) {}
  int32_t apply(int32_t x) const {
    if (right < 0) return int32_t((int64_t(int32_t(uint32_t(x) << left)) * mult + (int64_t(1) << 30)) >> 31);
    return apply_right(x);
  }
  int32_t apply_right(int32_t x) const {  // right >= 0
    const int64_t k = int64_t((uint64_t(nudge_hi) << 32) | nudge_lo) - (x < 0 ? (int64_t(1) << 31) : 0);
    return int32_t(uint64_t(int64_t(x) * mult + k) >> 32) >> right;
  }
};

inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  return QuantizedMultiplier(multiplier, shift).apply(x);
}

// lo in the low half of a word, hi in the high half (each as int16): the operands of SMLAD and
// its kin.
inline uint32_t pack16(int32_t lo, int32_t hi) { return uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16); }

inline int8_t clamp_s8(int32_t v, int32_t lo, int32_t hi) { return int8_t(v < lo ? lo : (v > hi ? hi : v)); }

// v clamped to [-128, 127]: one SSAT with the DSP extension.
inline int8_t saturate_s8(int32_t v) {
#if defined(__ARM_FEATURE_DSP)
  return int8_t(__ssat(v, 8));
#else
  return clamp_s8(v, -128, 127);
#endif
}

struct ConvS8Params {
  int32_t batch, in_ch, out_ch, groups;
  int32_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];
  int32_t input_zero_point, output_zero_point;
  int32_t act_min, act_max;  // output clamp (the fused activation)
  int32_t float_requant;     // ONNX's rounding (pre-quantized models): scale per channel in in[5]
  int32_t bias16;            // the int32 biases all fit int16 and are stored so
  int32_t channels_last;     // the input is [N, D, H, W, C]; y stays NCHW
  TINYC_PARAMS(ConvS8Params, batch, in_ch, out_ch, groups, in, out, kernel, stride, dilation, pad, input_zero_point,
               output_zero_point, act_min, act_max, float_requant, bias16, channels_last)
};

// Bias m, stored as int32 or (when every value fits) int16; the quantizer always gives one.
inline int32_t bias_at(const void* bias, int32_t bias16, int32_t m) {
  return bias16 ? static_cast<const int16_t*>(bias)[m] : static_cast<const int32_t*>(bias)[m];
}

// acc -> int8: TFLite's fixed-point multiplier and shift, or (float_requant) ONNX Runtime's
// round-half-even of acc * scale in float.
inline int8_t requantize(int32_t acc, int32_t mult, int32_t shift, const float* scale, int32_t zp, int32_t lo,
                         int32_t hi) {
  if (scale) {
    const float v = round_half_even(float(acc) * *scale) + float(zp);
    return int8_t(v < float(lo) ? lo : (v > float(hi) ? hi : int32_t(v)));
  }
  return clamp_s8(multiply_by_quantized_multiplier(acc, mult, shift) + zp, lo, hi);
}

// The output side of a layer: bias, multiplier and shift (in[2..4]) and, with ONNX's rounding,
// the float scale (in[5]); the output zero point and clamp.
struct Requant {
  const void* bias;
  int32_t bias16;
  const int32_t* mult;
  const int8_t* shift;
  const float* fscale;
  int32_t zp, lo, hi;
  Requant(const void* const* in, int32_t bias16_, int32_t float_requant, int32_t zp_, int32_t lo_, int32_t hi_)
      : bias(in[2]), bias16(bias16_), mult(static_cast<const int32_t*>(in[3])),
        shift(static_cast<const int8_t*>(in[4])), fscale(float_requant ? static_cast<const float*>(in[5]) : nullptr),
        zp(zp_), lo(lo_), hi(hi_) {}
  int32_t bias_of(int32_t m) const { return bias_at(bias, bias16, m); }
  int8_t at(int32_t acc, int32_t m) const {
    return requantize(acc, mult[m], shift[m], fscale ? fscale + m : nullptr, zp, lo, hi);
  }
};

// One output channel of a Requant, read once and kept in registers by the fast kernels:
// scaled(acc) + zero point, clamped, gives requantize()'s integers; ONNX's float rounding is
// chosen at compile time (F).
template <bool F>
struct ChannelRequant {
  int32_t bias;
  QuantizedMultiplier q;
  float scale;
  ChannelRequant(const Requant& r, int32_t m)
      : bias(r.bias_of(m)), q(F ? 0 : r.mult[m], F ? 0 : r.shift[m]), scale(F ? r.fscale[m] : 0.0f) {}
  // Whether scaled_plain() and saturate_s8() serve: no left shift, no clamp but int8's own.
  bool plain(int32_t lo, int32_t hi) const { return (F || q.right >= 0) && lo == -128 && hi == 127; }
  int32_t scaled_plain(int32_t acc) const { return F ? scaled(acc) : q.apply_right(acc); }
  // acc as int8 with zero point zp and clamp [lo, hi]; plain: plain(lo, hi), read once per channel.
  int8_t out(int32_t acc, int32_t zp, int32_t lo, int32_t hi, bool plain) const {
    return plain ? saturate_s8(scaled_plain(acc) + zp) : clamp_s8(scaled(acc) + zp, lo, hi);
  }
  int32_t scaled(int32_t acc) const { return F ? rounded(acc, scale) : q.apply(acc); }
  // ONNX's rounding: acc * scale in float, rounded half to even.
  static int32_t rounded(int32_t acc, float scale) {
    float f = float(acc) * scale;
#if defined(__ARM_FP) && (__ARM_FP & 4) && defined(__ARM_FEATURE_DSP)
    // VCVTR rounds half to even (the FPSCR's default mode) and saturates; beyond +-32767 the
    // clamp decides.
    __asm__("vcvtr.s32.f32 %0, %0" : "+t"(f));
    int32_t v;
    __builtin_memcpy(&v, &f, 4);
    return __ssat(v, 16);
#else
    f = f < -512.0f ? -512.0f : (f > 512.0f ? 512.0f : f);  // beyond +-512 the clamp decides
    return int32_t((f + 12582912.0f) - 12582912.0f);        // round half even: |f| < 2^22
#endif
  }
};

#if defined(__ARM_FEATURE_MVE)
// ChannelRequant<F>'s integers for four accumulators at once (Helium). The fixed-point path is
// MultiplyByQuantizedMultiplier as CMSIS-NN's arm_requantize_mve computes it: VQRDMULH is the
// rounding doubling high multiply, saturation included; VRSHL by -e rounds half up, and 1 taken
// from a negative h first makes that half away from zero: floor((h - 1 + 2^(e-1)) / 2^e). VQADD
// saturating at INT32_MIN changes nothing there, as -2^31 + 2^(e-1) is no multiple of 2^e. The
// float path rounds as the scalar one does: int to float and the product to nearest (a product
// small enough to be flushed to zero rounds to 0 either way), then VCVTN half to even.
template <bool F>
struct ChannelRequant4 {
  int32_t bias, mult, left, right;  // right: minus the right shift, as VRSHL takes it
  float scale;
  ChannelRequant4(const Requant& r, int32_t m)
      : bias(r.bias_of(m)), mult(F ? 0 : r.mult[m]), left(F || r.shift[m] < 0 ? 0 : r.shift[m]),
        right(F || r.shift[m] > 0 ? 0 : r.shift[m]), scale(F ? r.fscale[m] : 0.0f) {}
  int32x4_t out(int32x4_t acc, int32_t zp, int32_t lo, int32_t hi) const {
    int32x4_t v;
    if (F) {
#if __ARM_FEATURE_MVE & 2
      v = vqaddq_n_s32(vcvtnq_s32_f32(vmulq_n_f32(vcvtq_f32_s32(acc), scale)), zp);  // saturated: the clamp decides
#else
      int32_t a[4];  // no floating point in MVE: ChannelRequant's scalar rounding, lane by lane
      vstrwq_s32(a, acc);
      for (int32_t& e : a) e = ChannelRequant<true>::rounded(e, scale);
      v = vaddq_n_s32(vldrwq_s32(a), zp);
#endif
    } else {
      v = vqrdmulhq_n_s32(vshlq_r_s32(acc, left), mult);
      v = vrshlq_n_s32(vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, vdupq_n_s32(right)), 31)), right);
      v = vaddq_n_s32(v, zp);
    }
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(lo)), vdupq_n_s32(hi));
  }
};

// Channels m..m+3 of a Requant at once, one accumulator each (the fully connected layer's four
// rows): ChannelRequant4's arithmetic with a multiplier and shift (or scale) per lane.
template <bool F>
inline int32x4_t requantize4(int32x4_t acc, const Requant& q, int32_t m) {
  int32x4_t v;
  if (F) {
#if __ARM_FEATURE_MVE & 2
    v = vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(acc), vldrwq_f32(q.fscale + m)));
#else
    int32_t a[4];  // no floating point in MVE: ChannelRequant's scalar rounding, lane by lane
    vstrwq_s32(a, acc);
    for (int32_t i = 0; i < 4; ++i) a[i] = ChannelRequant<true>::rounded(a[i], q.fscale[m + i]);
    v = vldrwq_s32(a);
#endif
  } else {
    const int32x4_t shift = vldrbq_s32(q.shift + m), zero = vdupq_n_s32(0);
    const int32x4_t right = vminq_s32(shift, zero);  // minus the right shift
    v = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(shift, zero)), vldrwq_s32(q.mult + m));
    v = vrshlq_s32(vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, right), 31)), right);
  }
  v = vqaddq_s32(v, vdupq_n_s32(q.zp));
  return vminq_s32(vmaxq_s32(v, vdupq_n_s32(q.lo)), vdupq_n_s32(q.hi));
}
#endif

// in: x int8, w int8 [M, C/g, k...] (symmetric, per output channel), bias int32 (or int16) [M],
// multiplier int32 [M], shift int8 [M] (or float_requant: float scale [M] in in[5]).
// acc = bias + sum (x - zx) * w, then requantized. Padding contributes nothing (x = zx there).
// The reference for every grouping: weight-stationary along each output row into one int32 per
// output column of scratch, so the inner loop has no bounds checks; the input may be
// channels-last. y may be x for a depthwise convolution whose output is no larger than its
// input: each input plane is first copied after the accumulators. The faster kernels below
// (conv_s8_im2col, depthwise_s8) give the very same integers.
inline void conv_s8(const ConvS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const int8_t* w = static_cast<const int8_t*>(in[1]);
  const Requant q(in, p.bias16, p.float_requant, p.output_zero_point, p.act_min, p.act_max);
  int8_t* y = static_cast<int8_t*>(out[0]);
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2];
  const int32_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  const int32_t zx = p.input_zero_point, ow_n = p.out[2];
  // Element strides of a channel and of a column of the input.
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  const int32_t st = p.stride[2], sw = st * ws;
  int32_t* acc = static_cast<int32_t*>(out[kScratchSlot]);
  int8_t* plane = reinterpret_cast<int8_t*>(acc + ow_n);
  const bool in_place = static_cast<const void*>(x) == static_cast<const void*>(y);
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t m = 0; m < p.out_ch; ++m) {
      const int32_t g = m / mg;
      const int32_t b = q.bias_of(m);
      if (in_place)
        for (int32_t i = 0; i < in_size; ++i) plane[i] = x[(n * p.in_ch + m) * in_size + i];
      for (int32_t od = 0; od < p.out[0]; ++od)
        for (int32_t oh = 0; oh < p.out[1]; ++oh) {
          for (int32_t ow = 0; ow < ow_n; ++ow) acc[ow] = b;
          for (int32_t c = 0; c < cg; ++c) {
            const int8_t* xc = in_place ? plane : x + n * p.in_ch * in_size + (g * cg + c) * cs;
            const int8_t* wc = w + (m * cg + c) * ksize;
            for (int32_t kd = 0; kd < p.kernel[0]; ++kd) {
              const int32_t id = od * p.stride[0] + kd * p.dilation[0] - p.pad[0];
              if (id < 0 || id >= p.in[0]) continue;
              for (int32_t kh = 0; kh < p.kernel[1]; ++kh) {
                const int32_t ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad[1];
                if (ih < 0 || ih >= p.in[1]) continue;
                const int8_t* xrow = xc + (id * p.in[1] + ih) * p.in[2] * ws;
                const int8_t* wk = wc + (kd * p.kernel[1] + kh) * p.kernel[2];
                for (int32_t kw = 0; kw < p.kernel[2]; ++kw) {
                  const int32_t wv = wk[kw];
                  // Output columns ow with 0 <= ow * stride + sh < in width.
                  const int32_t sh = kw * p.dilation[2] - p.pad[2];
                  const int32_t lo = sh >= 0 ? 0 : (-sh + st - 1) / st;
                  int32_t hi = p.in[2] - sh <= 0 ? 0 : (p.in[2] - sh + st - 1) / st;
                  if (hi > ow_n) hi = ow_n;
                  const int8_t* xr = xrow + sh * ws;
                  for (int32_t ow = lo; ow < hi; ++ow) acc[ow] += (int32_t(xr[ow * sw]) - zx) * wv;
                }
              }
            }
          }
          int8_t* yr = y + ((n * p.out_ch + m) * p.out[0] + od) * p.out[1] * ow_n + oh * ow_n;
          for (int32_t ow = 0; ow < ow_n; ++ow) yr[ow] = q.at(acc[ow], m);
        }
    }
}

// ---- fast kernels: the same integers as conv_s8 ----
//
// With the DSP extension, SMLAD does two 16-bit multiply-accumulates at once. SXTB16 widens bytes 0
// and 2 of a 32-bit word of weights to two int16 (and, rotated, bytes 1 and 3), so the inputs they
// multiply are stored pair-interleaved: x0 x2, then x1 x3, in each group of four.

// The low halves of u and v as one word (PKHBT), and their high halves (PKHTB).
inline uint32_t low_halves(uint32_t u, uint32_t v) { return (u & 0xffffu) | (v << 16); }
inline uint32_t high_halves(uint32_t u, uint32_t v) { return (u >> 16) | (v & 0xffff0000u); }

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
template <bool F>
void quad_times_rows(const uint32_t* quad, int32_t nb, const int8_t* w, int32_t n, int32_t units, const Requant q,
                     int8_t* y, int32_t y_stride) {
  const int32_t zp = q.zp, lo = q.lo, hi = q.hi;
  for (int32_t m = 0; m < units; ++m, w += n, y += y_stride) {
    const ChannelRequant<F> r(q, m);
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

#if defined(__ARM_FEATURE_MVE)
// Helium: the patches of six pixels (n int8 values each: x itself, padding zx) times every row of
// w, requantized into y[m * y_stride + j] for the first nb pixels. VMLADAVA takes sixteen int8
// products at once, so the sums are x . w - zx sum w, sum w from VADDVA on the same loads of w.
// Six, as VMLADAVA accumulates in even registers only: six sums and sum w take all seven. The
// patches are laid out for one pointer: the whole groups of sixteen values as
// [group][pixel][16], then the n % 16 last values as [pixel][n % 16] (patch_at).
constexpr int32_t kPatchPixels = 6;
inline int8_t* patch_at(int8_t* patches, int32_t n, int32_t j, int32_t k) {
  return k < (n & ~15) ? patches + kPatchPixels * (k & ~15) + 16 * j + (k & 15)
                       : patches + kPatchPixels * (n & ~15) + (n & 15) * j + (k & 15);
}

template <bool F>
void patches_times_rows(const int8_t* x, int32_t nb, const int8_t* w, int32_t n, int32_t units, const Requant q,
                        int32_t zx, int8_t* y, int32_t y_stride) {
  const int32_t zp = q.zp, lo = q.lo, hi = q.hi, groups = n >> 4, rest = n & 15;
  const mve_pred16_t tail = vctp8q(uint32_t(rest));
  const mve_pred16_t first = vctp32q(uint32_t(nb < 4 ? nb : 4)), second = vctp32q(uint32_t(nb > 4 ? nb - 4 : 0));
  for (int32_t m = 0; m < units; ++m, y += y_stride) {
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
    const ChannelRequant4<F> r(q, m);
    const int32_t b = r.bias - zx * sw;
    vstrbq_p_s32(y, r.out(vaddq_n_s32(v0, b), zp, lo, hi), first);
    if (nb > 4) vstrbq_p_s32(y + 4, r.out(vaddq_n_s32(v1, b), zp, lo, hi), second);
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
#endif

// Scratch of conv_s8_im2col: the quad, then one patch of in_ch * kernel int16 in natural order.
inline size_t conv_s8_im2col_scratch(const ConvS8Params& p) {
  const int32_t n = p.in_ch * p.kernel[0] * p.kernel[1] * p.kernel[2];
  return sizeof(uint32_t) * size_t(quad_words(n)) + sizeof(int16_t) * size_t(n);
}

// One group (groups = 1): for four output pixels at a time, their receptive fields gathered into
// scratch as patches of in_ch * kernel values (im2col), then dot products with every output
// channel's weights. A pointwise one reads its pixels before writing them, so y may be x.
// F: ONNX's float requantization (pre-quantized models), chosen at compile time.
// KW: the kernel width, known at compile time (0: taken from the params).
template <bool F, int KW = 0>
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
  // Patches of x itself (padding: zx), as patches_times_rows reads them, in the quad's room; gather
  // writes after them, where there are no tables.
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
      patches_times_rows<F>(patches, nb, w, n, p.out_ch, q, zx, yb + i, out_size);
    }
#else
    for (int32_t i = 0; i < out_size; i += 4) {
      const int32_t nb = out_size - i < 4 ? out_size - i : 4;
      if (pointwise && cs != 1 && nb == 4) {  // NCHW: four pixels of a channel are one word
        pointwise_quad(xb + i, cs, n, zx, quad);
        quad_times_rows<F>(quad, 4, w, n, p.out_ch, q, yb + i, out_size);
        continue;
      }
      for (int32_t j = 0; j < 4; ++j) {
        if (j < nb) gather(xb, i + j, natural);
        else for (int32_t k = 0; k < n; ++k) natural[k] = 0;  // past the last pixel
        interleave_patch(natural, n, j, quad);
      }
      quad_times_rows<F>(quad, nb, w, n, p.out_ch, q, yb + i, out_size);
    }
#endif
  }
}

// The padded plane of depthwise_s8: the rows and columns the output's windows reach.
inline int32_t depthwise_plane_rows(const ConvS8Params& p) {
  return (p.out[1] - 1) * p.stride[1] + (p.kernel[1] - 1) * p.dilation[1] + 1;
}
inline int32_t depthwise_plane_cols(const ConvS8Params& p) {
  return (p.out[2] - 1) * p.stride[2] + (p.kernel[2] - 1) * p.dilation[2] + 1;
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
template <bool F>
void depthwise_pairs_s8(const int16_t* plane, const int8_t* wc, const int32_t* dims,
                        const ChannelRequant<F>& rq, int8_t* y) {
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
// known at compile time (0: taken from the params), F as in conv_s8_im2col. y may be x.
template <int KH, int KW, bool F>
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
      const ChannelRequant4<F> rq4(q, c);
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
          (F ? float_mve : rq4.left == 0 && rq4.right < 0)) {
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
        const int32x4_t scale = vdupq_n_s32(F ? scale_bits : rq4.mult);
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
                [hi] "w"(vhi), [scale] "w"(scale), [rs] "r"(rq4.right), [zp] "r"(zy), [fl] "i"(F && float_mve ? 1 : 0)
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
      const ChannelRequant<F> rq(q, c);
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

struct FullyConnectedS8Params {
  int32_t rows, depth, units;  // x [rows, depth], w [units, depth]
  int32_t output_zero_point;
  int32_t act_min, act_max;
  int32_t float_requant;  // as in ConvS8Params
  int32_t bias16;
  TINYC_PARAMS(FullyConnectedS8Params, rows, depth, units, output_zero_point, act_min, act_max, float_requant, bias16)
};

// The order fully_connected_s8 reads its weights in, made at compile time: the units in blocks of
// four rows (the last units % 4 in blocks of one); in a block, for each group of 16 values of x,
// the 16 weights of each row in turn, then the depth % 16 last weights of each row. Each row's
// weights for a group are one vector (MVE) or four words at fixed offsets from one pointer (DSP).
// A block of one row is that row as it was.
// T: int8_t, or an index type, which shows where each weight went (--emit-onnx undoes the order).
template <class T>
void pack_fully_connected_s8(const T* w, int32_t units, int32_t depth, T* packed) {
  const int32_t groups = depth / 16, tail = depth % 16;
  for (int32_t u = 0; u < units;) {
    const int32_t rows = units - u >= 4 ? 4 : 1;
    for (int32_t g = 0; g < groups; ++g)
      for (int32_t r = 0; r < rows; ++r)
        for (int32_t k = 0; k < 16; ++k) *packed++ = w[(u + r) * depth + 16 * g + k];
    for (int32_t r = 0; r < rows; ++r)
      for (int32_t k = 0; k < tail; ++k) *packed++ = w[(u + r) * depth + 16 * groups + k];
    u += rows;
  }
}

// The bias fully_connected_s8 takes: the input's zero point is a constant term, -zx * sum of the
// row's weights, folded in at compile time, so the kernel multiplies x as it is.
inline int64_t fold_input_zero_point(int64_t bias, const int8_t* row, int32_t depth, int32_t zx) {
  int64_t sum = 0;
  for (int32_t k = 0; k < depth; ++k) sum += row[k];
  return bias - int64_t(zx) * sum;
}

#if defined(__ARM_FEATURE_SIMD32) && !defined(__ARM_FEATURE_MVE)
// s0..s3 += the word of x at x . the words at w, w + 16, w + 32, w + 48 (four rows of a packed
// block): one load of x and its two SXTB16 serve four rows. In one asm statement, because in C
// GCC hoists the loads of the next words and spills the sums.
static inline void dot4_word_s8(const int8_t* x, const int8_t* w, int32_t& s0, int32_t& s1, int32_t& s2, int32_t& s3) {
  uint32_t u, x02, x13, v, t;
  __asm__(
      "ldr %[u], %[x]\n\t"
      "sxtb16 %[x02], %[u]\n\t"
      "sxtb16 %[x13], %[u], ror #8\n\t"
      "ldr %[v], %[w0]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s0], %[t], %[x02], %[s0]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s0], %[t], %[x13], %[s0]\n\t"
      "ldr %[v], %[w1]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s1], %[t], %[x02], %[s1]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s1], %[t], %[x13], %[s1]\n\t"
      "ldr %[v], %[w2]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s2], %[t], %[x02], %[s2]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s2], %[t], %[x13], %[s2]\n\t"
      "ldr %[v], %[w3]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s3], %[t], %[x02], %[s3]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s3], %[t], %[x13], %[s3]"
      : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [u] "=&r"(u), [x02] "=&r"(x02),
        [x13] "=&r"(x13), [v] "=&r"(v), [t] "=&r"(t)
      : [x] "m"(*reinterpret_cast<const uint32_t*>(x)), [w0] "m"(*reinterpret_cast<const uint32_t*>(w)),
        [w1] "m"(*reinterpret_cast<const uint32_t*>(w + 16)), [w2] "m"(*reinterpret_cast<const uint32_t*>(w + 32)),
        [w3] "m"(*reinterpret_cast<const uint32_t*>(w + 48)));
}
#endif

// acc[r] += x . row r over n values, for the R (1 or 4) rows of a packed block wb. The sums are
// four scalars, not an array: GCC keeps an array in memory across the loop.
template <int R>
inline void dot_block_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t* acc) {
  int32_t s0 = acc[0], s1 = R > 1 ? acc[1] : 0, s2 = R > 1 ? acc[2] : 0, s3 = R > 1 ? acc[3] : 0;
  const int32_t tail = n & 15;
  const int8_t* const end = x + (n - tail);
#if defined(__ARM_FEATURE_MVE)
  for (; x < end; x += 16, wb += 16 * R) {
    const int8x16_t xv = vldrbq_s8(x);
    s0 = vmladavaq_s8(s0, xv, vldrbq_s8(wb));
    if (R > 1) {
      s1 = vmladavaq_s8(s1, xv, vldrbq_s8(wb + 16));
      s2 = vmladavaq_s8(s2, xv, vldrbq_s8(wb + 32));
      s3 = vmladavaq_s8(s3, xv, vldrbq_s8(wb + 48));
    }
  }
  if (tail) {  // lanes past the tail neither load nor add
    const mve_pred16_t live = vctp8q(uint32_t(tail));
    const int8x16_t xv = vldrbq_z_s8(x, live);
    s0 = vmladavaq_p_s8(s0, xv, vldrbq_z_s8(wb, live), live);
    if (R > 1) {
      s1 = vmladavaq_p_s8(s1, xv, vldrbq_z_s8(wb + tail, live), live);
      s2 = vmladavaq_p_s8(s2, xv, vldrbq_z_s8(wb + 2 * tail, live), live);
      s3 = vmladavaq_p_s8(s3, xv, vldrbq_z_s8(wb + 3 * tail, live), live);
    }
  }
#else
  for (; x < end; x += 16, wb += 16 * R) {
#if defined(__ARM_FEATURE_SIMD32)
    if (R > 1) {
#pragma GCC unroll 4
      for (int32_t i = 0; i < 16; i += 4) dot4_word_s8(x + i, wb + i, s0, s1, s2, s3);
      continue;
    }
    for (int32_t i = 0; i < 16; i += 4) {
      uint32_t u, v;
      __builtin_memcpy(&u, x + i, 4);
      __builtin_memcpy(&v, wb + i, 4);
      s0 = __smlad(sxtb16_ror8(v), sxtb16_ror8(u), __smlad(__sxtb16(int32_t(v)), __sxtb16(int32_t(u)), s0));
    }
#else
    for (int32_t i = 0; i < 16; ++i) {
      const int32_t v = x[i];
      s0 += v * wb[i];
      if (R > 1) s1 += v * wb[16 + i], s2 += v * wb[32 + i], s3 += v * wb[48 + i];
    }
#endif
  }
  for (int32_t k = 0; k < tail; ++k) {
    const int32_t v = x[k];
    s0 += v * wb[k];
    if (R > 1) s1 += v * wb[tail + k], s2 += v * wb[2 * tail + k], s3 += v * wb[3 * tail + k];
  }
#endif
  acc[0] = s0;
  if (R > 1) acc[1] = s1, acc[2] = s2, acc[3] = s3;
}

// in: x int8, w int8 in pack_fully_connected_s8's order, bias int32 (or int16) with the input's
// zero point folded in (fold_input_zero_point), multiplier int32, shift int8. Rows of w four at a
// time against each row of x, read in place (no scratch). F as in conv_s8_im2col.
template <bool F>
void fully_connected_s8(const FullyConnectedS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const int8_t* w = static_cast<const int8_t*>(in[1]);
  const Requant q(in, p.bias16, p.float_requant, p.output_zero_point, p.act_min, p.act_max);
  int8_t* y = static_cast<int8_t*>(out[0]);
  const int32_t n = p.depth, units = p.units, zp = q.zp, lo = q.lo, hi = q.hi;
  const bool own_clamp = lo == -128 && hi == 127;
  for (int32_t r = 0; r < p.rows; ++r, x += n, y += units) {
    const int8_t* wb = w;
    for (int32_t u = 0; u < units;) {
      int32_t acc[4];
      const int32_t nu = units - u >= 4 ? 4 : 1;
      for (int32_t i = 0; i < nu; ++i) acc[i] = q.bias_of(u + i);
      if (nu == 4) dot_block_s8<4>(x, wb, n, acc);
      else dot_block_s8<1>(x, wb, n, acc);
#if defined(__ARM_FEATURE_MVE)
      if (nu == 4) {
        vstrbq_s32(y + u, requantize4<F>(vldrwq_s32(acc), q, u));
        u += 4, wb += 4 * n;
        continue;
      }
#endif
      for (int32_t i = 0; i < nu; ++i) {
        const ChannelRequant<F> c(q, u + i);
        y[u + i] = c.out(acc[i], zp, lo, hi, own_clamp && c.plain(-128, 127));
      }
      u += nu, wb += nu * n;
    }
  }
}

struct AddS8Params {
  BroadcastParams shape;
  int32_t zero_point[2], output_zero_point;
  int32_t multiplier[2], shift[2];   // input rescale to the common 2^20-scaled domain
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
  TINYC_PARAMS(AddS8Params, shape, zero_point, output_zero_point, multiplier, shift, output_multiplier, output_shift,
               act_min, act_max)
};

// One row of add_s8: n values of a and b (element strides sa, sb) into y. Right: every
// multiplier scales down (the usual case), so each takes one SMLAL and no shift check.
template <bool Right>
inline void add_s8_row(const AddS8Params& p, const QuantizedMultiplier* q, const int8_t* a, int32_t sa,
                       const int8_t* b, int32_t sb, int32_t n, int8_t* y) {
  auto scaled = [](const QuantizedMultiplier& m, int32_t v) { return Right ? m.apply_right(v) : m.apply(v); };
  const int32_t za = p.zero_point[0], zb = p.zero_point[1], zy = p.output_zero_point;
  const int32_t lo = p.act_min, hi = p.act_max;
  const bool own_clamp = lo == -128 && hi == 127;
  for (int32_t j = 0; j < n; ++j, a += sa, b += sb) {
    const int32_t sum = scaled(q[0], (int32_t(*a) - za) * (1 << 20)) + scaled(q[1], (int32_t(*b) - zb) * (1 << 20));
    const int32_t v = scaled(q[2], sum) + zy;
    y[j] = own_clamp ? saturate_s8(v) : clamp_s8(v, lo, hi);
  }
}

// TFLite's quantized Add: both inputs are shifted left by 20 bits, rescaled to twice the larger
// input scale, summed and rescaled to the output. The three multipliers are set up once per call.
inline void add_s8(const AddS8Params& p, const void* const* in, void* const* out) {
  const int8_t* a = static_cast<const int8_t*>(in[0]);
  const int8_t* b = static_cast<const int8_t*>(in[1]);
  int8_t* y = static_cast<int8_t*>(out[0]);
  const BroadcastParams& s = p.shape;
  int32_t idx[kMaxRank] = {0};
  int32_t off[2] = {0, 0};
  const int32_t last = s.dims[s.rank - 1], sa = s.strides[0][s.rank - 1], sb = s.strides[1][s.rank - 1];
  if (s.n == 0) return;
  const QuantizedMultiplier q[3] = {{p.multiplier[0], p.shift[0]}, {p.multiplier[1], p.shift[1]},
                                    {p.output_multiplier, p.output_shift}};
  const bool right = q[0].right >= 0 && q[1].right >= 0 && q[2].right >= 0;
  do {
    if (right) add_s8_row<true>(p, q, a + off[0], sa, b + off[1], sb, last, y);
    else add_s8_row<false>(p, q, a + off[0], sa, b + off[1], sb, last, y);
    y += last;
  } while (next_row<2>(s.rank, s.dims, idx, s.strides, off));
}

// Max pooling of int8 planes, 2-D or 1-D (p.in[0] = 1): for each output row, the maximum of its
// window's rows column by column into scratch (p.in[2] bytes), sixteen columns a vector with
// Helium, four a word with the DSP extension (SSUB8 sets a flag per byte, SEL keeps the larger), then the maximum of each window
// along that row. Padding never wins; a window wholly in the padding gives 0, as pool<int8_t>.
// y may be x when there is no leading padding: a row is written after the rows it reads.
inline void max_pool_s8(const PoolParams& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  int8_t* y = static_cast<int8_t*>(out[0]);
  int8_t* cols = static_cast<int8_t*>(out[kScratchSlot]);
  const int32_t in_h = p.in[1], in_w = p.in[2], out_h = p.out[1], out_w = p.out[2], in_size = in_h * in_w;
  const int32_t kh = p.kernel[1], kw = p.kernel[2], sh = p.stride[1], sw = p.stride[2];
  const int32_t dh = p.dilation[1], dw = p.dilation[2], ph = p.pad[1], pw = p.pad[2];
  for (int32_t c = 0; c < p.planes; ++c, x += in_size)
    for (int32_t oh = 0; oh < out_h; ++oh) {
      int32_t rows = 0;
      for (int32_t i = 0, ih = oh * sh - ph; i < kh; ++i, ih += dh) {
        if (ih < 0 || ih >= in_h) continue;
        const int8_t* xr = x + ih * in_w;
        if (rows++ == 0) {
          for (int32_t j = 0; j < in_w; ++j) cols[j] = xr[j];
          continue;
        }
        int32_t j = 0;
#if defined(__ARM_FEATURE_MVE)
        for (; j < in_w; j += 16) {  // sixteen columns a vector, the last ones predicated
          const mve_pred16_t live = vctp8q(uint32_t(in_w - j));
          vstrbq_p_s8(cols + j, vmaxq_s8(vldrbq_z_s8(xr + j, live), vldrbq_z_s8(cols + j, live)), live);
        }
#elif defined(__ARM_FEATURE_SIMD32)
        for (; j + 4 <= in_w; j += 4) {
          uint32_t v, m;
          __builtin_memcpy(&v, xr + j, 4);
          __builtin_memcpy(&m, cols + j, 4);
          __ssub8(int32_t(v), int32_t(m));  // GE per byte: v >= m
          m = uint32_t(__sel(int32_t(v), int32_t(m)));
          __builtin_memcpy(cols + j, &m, 4);
        }
#endif
        for (; j < in_w; ++j) cols[j] = xr[j] > cols[j] ? xr[j] : cols[j];
      }
      for (int32_t ow = 0; ow < out_w; ++ow) {
        int32_t best = 0;
        bool any = false;
        if (rows)
          for (int32_t i = 0, iw = ow * sw - pw; i < kw; ++i, iw += dw)
            if (iw >= 0 && iw < in_w && (!any || cols[iw] > best)) best = cols[iw], any = true;
        *y++ = int8_t(best);
      }
    }
}

// The sum of n int8 values; with Helium sixteen a vector; with the DSP extension four per word in two pairs of 16-bit lanes
// (SXTAB16), emptied into the int32 sum every 128 words, before a lane could overflow.
inline int32_t sum_s8(const int8_t* x, int32_t n) {
  int32_t sum = 0, i = 0;
#if defined(__ARM_FEATURE_MVE)
  for (; i < n; i += 16) {  // VADDVA: sixteen values into the int32 sum
    const mve_pred16_t live = vctp8q(uint32_t(n - i));
    sum = vaddvaq_p_s8(sum, vldrbq_z_s8(x + i, live), live);
  }
#elif defined(__ARM_FEATURE_SIMD32)
  while (i + 4 <= n) {
    uint32_t even = 0, odd = 0;  // bytes 0 and 2, 1 and 3 of each word
    for (int32_t words = 0; words < 128 && i + 4 <= n; ++words, i += 4) {
      uint32_t u;
      __builtin_memcpy(&u, x + i, 4);
      even = uint32_t(__sxtab16(int32_t(even), int32_t(u)));
      __asm__("sxtab16 %0, %0, %1, ror #8" : "+r"(odd) : "r"(u));
    }
    sum += int16_t(even) + int16_t(even >> 16) + int16_t(odd) + int16_t(odd >> 16);
  }
#endif
  for (; i < n; ++i) sum += x[i];
  return sum;
}

struct AvgPoolS8Params {
  int32_t planes;
  int32_t in[3], out[3], kernel[3], stride[3], pad[3];
  int32_t count_include_pad;
  TINYC_PARAMS(AvgPoolS8Params, planes, in, out, kernel, stride, pad, count_include_pad)
};

// Average with the same scale and zero point in and out: the int32 sum divided by the count,
// rounded half away from zero (as TFLite).
inline void avg_pool_s8(const AvgPoolS8Params& p, const void* const* in, void* const* out) {
  int8_t* y = static_cast<int8_t*>(out[0]);
  const int32_t size = p.in[0] * p.in[1] * p.in[2];
  if (p.out[0] * p.out[1] * p.out[2] == 1 && p.kernel[0] * p.kernel[1] * p.kernel[2] == size &&
      p.pad[0] + p.pad[1] + p.pad[2] == 0) {  // global: one plain sum per plane
    const int8_t* x = static_cast<const int8_t*>(in[0]);
    for (int32_t c = 0; c < p.planes; ++c, x += size) {
      const int32_t sum = sum_s8(x, size);
      y[c] = clamp_s8(sum >= 0 ? (sum + size / 2) / size : (sum - size / 2) / size, -128, 127);
    }
    return;
  }
  int_avg_pool(static_cast<const int8_t*>(in[0]), p.planes, p.in, p.out, p.kernel, p.stride, p.pad, nullptr, 0,
               [&](int32_t sum, int32_t count, int32_t window) {
                 const int32_t d = p.count_include_pad ? window : count;
                 *y++ = clamp_s8(sum >= 0 ? (sum + d / 2) / d : (sum - d / 2) / d, -128, 127);
               });
}

struct ConcatS8Params {
  ConcatParams layout;
  int32_t zero_point[kMaxInputs];   // per input
  int32_t multiplier[kMaxInputs];   // input scale / output scale; 0: same parameters, plain copy
  int32_t shift[kMaxInputs];
  int32_t output_zero_point;
  TINYC_PARAMS(ConcatS8Params, layout, zero_point, multiplier, shift, output_zero_point)
};

// Concat of int8 tensors with their own scales: each input is requantized to the output's.
inline void concat_s8(const ConcatS8Params& p, const void* const* in, void* const* out) {
  int8_t* y = static_cast<int8_t*>(out[0]);
  const ConcatParams& l = p.layout;
  for (int32_t o = 0; o < l.outer; ++o)
    for (int32_t k = 0; k < l.count; ++k) {
      const int8_t* x = static_cast<const int8_t*>(in[k]) + o * l.chunk[k];
      for (int32_t j = 0; j < l.chunk[k]; ++j)
        *y++ = p.multiplier[k] == 0
                   ? x[j]
                   : clamp_s8(multiply_by_quantized_multiplier(int32_t(x[j]) - p.zero_point[k], p.multiplier[k],
                                                               p.shift[k]) + p.output_zero_point, -128, 127);
    }
}

struct LookupS8Params {
  int32_t n;
  TINYC_PARAMS(LookupS8Params, n)
};

// y = table[x + 128]: any elementwise function of one int8 input (Sigmoid, Tanh, HardSwish...),
// tabulated at compile time from the input and output scales. in: x, table int8 [256].
inline void lookup_s8(const LookupS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const int8_t* table = static_cast<const int8_t*>(in[1]);
  int8_t* y = static_cast<int8_t*>(out[0]);
  for (int32_t i = 0; i < p.n; ++i) y[i] = table[int32_t(x[i]) + 128];
}

struct SoftmaxS8Params {
  int32_t outer, axis, inner;  // x viewed as [outer, axis, inner], normalized along axis
  int32_t output_zero_point;
  int32_t inv_output_scale;    // round(2^16 / output scale)
  TINYC_PARAMS(SoftmaxS8Params, outer, axis, inner, output_zero_point, inv_output_scale)
};

// Integer softmax. in: x, exp table uint16 [256] with table[d] = round(65535 * exp(-input_scale * d))
// for d = max - x. y = round(table[d] / sum / output_scale) + zero point, in 2^16 fixed point.
inline void softmax_s8(const SoftmaxS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const uint16_t* table = static_cast<const uint16_t*>(in[1]);
  int8_t* y = static_cast<int8_t*>(out[0]);
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t i = 0; i < p.inner; ++i) {
      const int8_t* xs = x + o * p.axis * p.inner + i;
      int8_t* ys = y + o * p.axis * p.inner + i;
      int32_t mx = -128;
      for (int32_t a = 0; a < p.axis; ++a) mx = xs[a * p.inner] > mx ? xs[a * p.inner] : mx;
      int64_t sum = 0;
      for (int32_t a = 0; a < p.axis; ++a) sum += table[mx - xs[a * p.inner]];
      for (int32_t a = 0; a < p.axis; ++a) {
        const int64_t num = int64_t(table[mx - xs[a * p.inner]]) * p.inv_output_scale;
        const int64_t q = (num + sum / 2) / sum;  // prob / output_scale, times 2^16
        const int64_t v = ((q + (1 << 15)) >> 16) + p.output_zero_point;
        ys[a * p.inner] = int8_t(v < -128 ? -128 : (v > 127 ? 127 : v));
      }
    }
}

}  // namespace tinyc

#endif
