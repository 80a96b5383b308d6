// Requantization of int32 sums to int8: TFLite's fixed-point multiplier and shift, or ONNX's
// float scale rounded half to even, one channel at a time (four at a time: mve/requant.h).
#ifndef TINYC_INT8_REQUANT_H
#define TINYC_INT8_REQUANT_H

#include "../nn.h"
#include "../tinyc.h"
#include "isa.h"

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
// - A zero point added after the shift can ride in the same sum: floor(h / 2^e) + zp =
//   floor((h + zp 2^e) / 2^e), and h + zp 2^e is the high word of the sum plus zp 2^(32+e), which
//   fits int32 while e <= 22 (|h| < 2^30, |zp| <= 128). apply_right_zp adds it so.
// int64_t(a) * b from four 16 x 16 products.
inline int64_t mul_wide_halves(int32_t a, int32_t b) {
  const int32_t ah = a >> 16, bh = b >> 16;
  const uint32_t al = uint32_t(a) & 0xffffu, bl = uint32_t(b) & 0xffffu;
  return (int64_t(ah * bh) << 32) + (int64_t(ah * int32_t(bl)) + int64_t(int32_t(al) * bh)) * 65536 + int64_t(al * bl);
}

// int64_t(a) * b. The M0+ has no 32 x 32 -> 64 multiply, and for this GCC calls libgcc's 64 x 64
// one (__aeabi_lmul), which takes more instructions than four 16 x 16 products. A macro: on the
// other cores a function here, even inlined, changed GCC's inlining of the kernels around it
// (M4 pointwise_64: +1.2% instructions).
#if defined(__ARM_ARCH_6M__)
#define TINYC_MUL_WIDE(a, b) mul_wide_halves(a, b)
#else
#define TINYC_MUL_WIDE(a, b) (int64_t(a) * (b))
#endif

struct QuantizedMultiplier {
  int32_t mult, left, right;   // right: -shift - 1 when shifting right
  uint32_t nudge_lo, nudge_hi;  // 2^30 + 2^(30 - shift) when shifting right
  uint32_t nudge_hi_zp;         // nudge_hi + zp 2^right (two's complement): apply_right_zp's
  QuantizedMultiplier(int32_t multiplier, int32_t shift, int32_t zp = 0)
      : mult(multiplier), left(shift > 0 ? shift : 0), right(shift < 0 ? -shift - 1 : -1),
        nudge_lo(shift < 0 ? (1u << 30) + ((1u << -shift) << 30) : 0), nudge_hi(shift < 0 ? (1u << -shift) >> 2 : 0),
        nudge_hi_zp(nudge_hi + (shift < 0 && -shift - 1 <= 22 ? uint32_t(zp) << (-shift - 1) : 0u)) {}
  int32_t apply(int32_t x) const {
    if (right < 0) return int32_t((TINYC_MUL_WIDE(int32_t(uint32_t(x) << left), mult) + (int64_t(1) << 30)) >> 31);
    return apply_right(x);
  }
  int32_t apply_right(int32_t x) const { return shifted_right(x, nudge_hi); }  // right >= 0
  int32_t apply_right_zp(int32_t x) const { return shifted_right(x, nudge_hi_zp); }  // 0 <= right <= 22: + zp
  int32_t shifted_right(int32_t x, uint32_t hi) const {
    const int64_t k = int64_t((uint64_t(hi) << 32) | nudge_lo) - (x < 0 ? (int64_t(1) << 31) : 0);
    return int32_t(uint64_t(TINYC_MUL_WIDE(x, mult) + k) >> 32) >> right;
  }
};

inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
  return QuantizedMultiplier(multiplier, shift).apply(x);
}

// lo in the low half of a word, hi in the high half (each as int16): the operands of SMLAD and
// its kin.
inline uint32_t pack16(int32_t lo, int32_t hi) { return uint32_t(uint16_t(lo)) | (uint32_t(uint16_t(hi)) << 16); }

// The low halves of u and v as one word (PKHBT), and their high halves (PKHTB).
inline uint32_t low_halves(uint32_t u, uint32_t v) { return (u & 0xffffu) | (v << 16); }
inline uint32_t high_halves(uint32_t u, uint32_t v) { return (u >> 16) | (v & 0xffff0000u); }

inline int8_t clamp_s8(int32_t v, int32_t lo, int32_t hi) { return int8_t(v < lo ? lo : (v > hi ? hi : v)); }

// v clamped to [-128, 127]: one SSAT with the DSP extension.
inline int8_t saturate_s8(int32_t v) {
#if defined(__ARM_FEATURE_DSP)
  return int8_t(__ssat(v, 8));
#else
  return clamp_s8(v, -128, 127);
#endif
}

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

// The output side of a layer: bias (int32, or int16 when bias16), multiplier and shift per output
// channel and, with ONNX's rounding, the float scale; the output zero point and clamp.
struct Requant {
  const void* bias;
  int32_t bias16;
  const int32_t* mult;
  const int8_t* shift;
  const float* fscale;
  int32_t zp, lo, hi;
  template <class P>  // ConvS8Params, FullyConnectedS8Params
  Requant(const P& p, const void* bias_, const int32_t* multiplier, const int8_t* shift_, const float* scale)
      : bias(bias_), bias16(p.bias16), mult(multiplier), shift(shift_), fscale(p.float_requant ? scale : nullptr),
        zp(p.output_zero_point), lo(p.act_min), hi(p.act_max) {}
  int32_t bias_of(int32_t m) const { return bias_at(bias, bias16, m); }
  int8_t at(int32_t acc, int32_t m) const {
    return requantize(acc, mult[m], shift[m], fscale ? fscale + m : nullptr, zp, lo, hi);
  }
};

// v / 2^d rounded half to even, 0 < d < 64.
inline uint64_t shift_half_even(uint64_t v, int32_t d) {
  const uint64_t q = v >> d, r = v & ((uint64_t(1) << d) - 1), half = uint64_t(1) << (d - 1);
  return q + ((r > half || (r == half && (q & 1))) ? 1 : 0);
}

// ONNX's rounding in integers, for cores without an FPU: the very integer that float(acc) * scale
// (each step rounded to float, half to even), clamped to +-512 and rounded half to even, gives.
// |scale| = m * 2^e with m in [2^23, 2^24) (a normal float; a subnormal one gives 0 as the float
// product does); the product is rounded to 24 significant bits as the float multiply rounds it,
// then to an integer.
inline int32_t rounded_soft(int32_t acc, float scale) {
  uint32_t bits;
  __builtin_memcpy(&bits, &scale, 4);
  const uint32_t m = (bits & 0x7fffffu) | 0x800000u;
  int32_t e = int32_t((bits >> 23) & 0xffu) - 150;
  uint32_t a = acc < 0 ? 0u - uint32_t(acc) : uint32_t(acc);
  if (a >= (1u << 24)) {  // float(acc) keeps 24 significant bits
    const int32_t d = 8 - __builtin_clz(a);
    a = uint32_t(shift_half_even(a, d)), e += d;
  }
  uint64_t v = uint64_t(a) * m;
  if (v == 0) return 0;
  const int32_t n = 64 - __builtin_clzll(v);
  if (n > 24) v = shift_half_even(v, n - 24), e += n - 24;  // the product as a float: v <= 2^24
  int32_t r;
  if (e >= 0)
    r = e >= 10 ? 512 : int32_t(v << e > 512 ? 512 : v << e);
  else
    r = e < -25 ? 0 : int32_t(shift_half_even(v, -e) > 512 ? 512 : shift_half_even(v, -e));
  return (acc < 0) != (bits >> 31 != 0) ? -r : r;
}

// How a layer's int32 sums become int8, chosen at compile time: TFLite's fixed-point multiplier
// and shift (models tinyc quantizes), or the float scale rounded half to even (pre-quantized
// models, as ONNX Runtime rounds).
enum class Rounding { TFLite, OnnxFloat };

// One output channel of a Requant, read once and kept in registers by the fast kernels:
// scaled(acc) + zero point, clamped, gives requantize()'s integers.
template <Rounding R>
struct ChannelRequant {
  static constexpr bool onnx = R == Rounding::OnnxFloat;
  int32_t bias;
  QuantizedMultiplier q;  // TFLite's, its right shift carrying the output zero point (folded)
  float scale;
  bool folded;  // 0 <= right <= 22: apply_right_zp gives the sum with the zero point
  ChannelRequant(const Requant& r, int32_t m)
      : bias(r.bias_of(m)), q(onnx ? 0 : r.mult[m], onnx ? 0 : r.shift[m], onnx ? 0 : r.zp),
        scale(onnx ? r.fscale[m] : 0.0f), folded(!onnx && q.right >= 0 && q.right <= 22) {}
  // Whether scaled_plain() and saturate_s8() serve: no left shift, no clamp but int8's own.
  bool plain(int32_t lo, int32_t hi) const { return (onnx || q.right >= 0) && lo == -128 && hi == 127; }
  int32_t scaled_plain(int32_t acc) const { return onnx ? scaled(acc) : q.apply_right(acc); }
  // acc as int8 with zero point zp and clamp [lo, hi]; plain: plain(lo, hi), read once per channel.
  int8_t out(int32_t acc, int32_t zp, int32_t lo, int32_t hi, bool plain) const {
    return plain ? saturate_s8(scaled_plain(acc) + zp) : clamp_s8(scaled(acc) + zp, lo, hi);
  }
  // The same with the zero point folded into the shift where it can be: one register and one add
  // less per output, for the kernels with many outputs per channel (depthwise); the fold costs a
  // few instructions per channel, more than it saves where a channel has few outputs.
  bool plain_zp(int32_t lo, int32_t hi) const { return (onnx || folded) && lo == -128 && hi == 127; }
  int8_t out_zp(int32_t acc, int32_t zp, int32_t lo, int32_t hi, bool plain) const {
    return plain ? saturate_s8(onnx ? scaled(acc) + zp : q.apply_right_zp(acc)) : clamp_s8(with_zp(acc, zp), lo, hi);
  }
  // scaled(acc) + zp.
  int32_t with_zp(int32_t acc, int32_t zp) const {
    if (onnx) return scaled(acc) + zp;
    return folded ? q.apply_right_zp(acc) : q.apply(acc) + zp;
  }
  int32_t scaled(int32_t acc) const { return onnx ? rounded(acc, scale) : q.apply(acc); }
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
#elif defined(__arm__) && !defined(__ARM_FP)
    (void)f;
    return rounded_soft(acc, scale);  // no FPU: the library's float calls cost about 200 instructions
#else
    f = f < -512.0f ? -512.0f : (f > 512.0f ? 512.0f : f);  // beyond +-512 the clamp decides
    return int32_t((f + 12582912.0f) - 12582912.0f);        // round half even: |f| < 2^22
#endif
  }
};

}  // namespace tinyc

#endif
