// Helium's vector requantization: four channels or four accumulators at once, the integers of
// requant.h's ChannelRequant.
#ifndef TINYC_INT8_MVE_REQUANT_H
#define TINYC_INT8_MVE_REQUANT_H

#include "../requant.h"

namespace tinyc {

// ChannelRequant's integers for four accumulators at once (Helium). The fixed-point path is
// MultiplyByQuantizedMultiplier as CMSIS-NN's arm_requantize_mve computes it: VQRDMULH is the
// rounding doubling high multiply, saturation included; VRSHL by -e rounds half up, and 1 taken
// from a negative h first makes that half away from zero: floor((h - 1 + 2^(e-1)) / 2^e). VQADD
// saturating at INT32_MIN changes nothing there, as -2^31 + 2^(e-1) is no multiple of 2^e. The
// float path rounds as the scalar one does: int to float and the product to nearest (a product
// small enough to be flushed to zero rounds to 0 either way), then VCVTN half to even.
template <Rounding R>
struct ChannelRequant4 {
  static constexpr bool onnx = R == Rounding::OnnxFloat;
  int32_t bias, mult, left, right;  // right: minus the right shift, as VRSHL takes it
  float scale;
  ChannelRequant4(const Requant& r, int32_t m)
      : bias(r.bias_of(m)), mult(onnx ? 0 : r.mult[m]), left(onnx || r.shift[m] < 0 ? 0 : r.shift[m]),
        right(onnx || r.shift[m] > 0 ? 0 : r.shift[m]), scale(onnx ? r.fscale[m] : 0.0f) {}
  int32x4_t out(int32x4_t acc, int32_t zp, int32_t lo, int32_t hi) const {
    int32x4_t v;
    if (onnx) {
#if __ARM_FEATURE_MVE & 2
      v = vqaddq_n_s32(vcvtnq_s32_f32(vmulq_n_f32(vcvtq_f32_s32(acc), scale)), zp);  // saturated: the clamp decides
#else
      int32_t a[4];  // no floating point in MVE: ChannelRequant's scalar rounding, lane by lane
      vstrwq_s32(a, acc);
      for (int32_t& e : a) e = ChannelRequant<Rounding::OnnxFloat>::rounded(e, scale);
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
template <Rounding R>
inline int32x4_t requantize4(int32x4_t acc, const Requant& q, int32_t m) {
  constexpr bool onnx = R == Rounding::OnnxFloat;
  int32x4_t v;
  if (onnx) {
#if __ARM_FEATURE_MVE & 2
    v = vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(acc), vldrwq_f32(q.fscale + m)));
#else
    int32_t a[4];  // no floating point in MVE: ChannelRequant's scalar rounding, lane by lane
    vstrwq_s32(a, acc);
    for (int32_t i = 0; i < 4; ++i) a[i] = ChannelRequant<Rounding::OnnxFloat>::rounded(a[i], q.fscale[m + i]);
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
}  // namespace tinyc

#endif
