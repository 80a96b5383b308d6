// Resize and Upsample: nearest, N-D linear and cubic interpolation, as ONNX defines them. Every
// output element is a weighted sum over the product of per-axis taps (up to 4 input indices each).
// int8 / uint8 data (the same scale and zero point in and out) interpolate in float and round half to
// even, so nearest mode copies the integers exactly.
#ifndef TINYC_RESIZE_H
#define TINYC_RESIZE_H

#include <limits>

#include "tinyc.h"

namespace tinyc {

enum ResizeMode : int32_t { kResizeNearest = 0, kResizeLinear = 1, kResizeCubic = 2 };
enum ResizeCoord : int32_t {
  kCoordHalfPixel, kCoordPytorchHalfPixel, kCoordAlignCorners, kCoordAsymmetric,
  kCoordTfHalfPixelForNearest, kCoordTfCropAndResize
};
enum ResizeRound : int32_t { kRoundPreferFloor, kRoundPreferCeil, kRoundFloor, kRoundCeil };

struct ResizeParams {
  int32_t n, rank;
  int32_t mode, coord, nearest;
  int32_t scales_input;     // input slot of the float scales, or -1: scale = output / input size
  int32_t roi_input;        // input slot of the float roi (tf_crop_and_resize), or -1
  int32_t exclude_outside;  // cubic: drop the taps outside the input and renormalize
  float cubic_a, extrapolation;
  int32_t in_dims[kMaxRank];
  int32_t dims[kMaxRank];   // output shape
  TINYC_PARAMS(ResizeParams, n, rank, mode, coord, nearest, scales_input, roi_input, exclude_outside, cubic_a,
               extrapolation, in_dims, dims)
};

// The taps of output index o along an axis of `len` inputs and `out_size` outputs: indices `idx` and
// weights `w`. Returns their count, 0 when the point is outside the crop box (tf_crop_and_resize).
template <class T>
inline int32_t resize_taps(const ResizeParams& p, int32_t len, int32_t out_size, int32_t o, T scale, T lo,
                           T hi, int32_t* idx, T* w) {
  const T out_len = scale * T(len);  // as ONNX's reference: not the rounded output size
  const T last = T(len - 1);
  T x;
  switch (p.coord) {
    case kCoordPytorchHalfPixel: x = out_size > 1 ? (T(o) + T(0.5)) / scale - T(0.5) : T(0); break;
    case kCoordAlignCorners: x = out_len == T(1) ? T(0) : T(o) * last / (out_len - T(1)); break;
    case kCoordAsymmetric: x = T(o) / scale; break;
    case kCoordTfHalfPixelForNearest: x = (T(o) + T(0.5)) / scale; break;
    case kCoordTfCropAndResize:
      x = out_len == T(1) ? (hi - lo) * last / T(2) : T(o) * (hi - lo) * last / (out_len - T(1));
      x += lo * last;
      if (x < T(0) || x > last) return 0;
      break;
    default: x = (T(o) + T(0.5)) / scale - T(0.5);  // half_pixel
  }
  const T fl = std::floor(x), t = x - fl;
  const int32_t i0 = static_cast<int32_t>(fl);
  if (p.mode == kResizeNearest || t == T(0)) {
    bool up = false;
    if (t != T(0))
      up = p.nearest == kRoundCeil || (p.nearest == kRoundPreferFloor && t > T(0.5)) ||
           (p.nearest == kRoundPreferCeil && t >= T(0.5));
    idx[0] = clamp_to<int32_t>(i0 + (up ? 1 : 0), 0, len - 1);
    w[0] = T(1);
    return 1;
  }
  if (p.mode == kResizeLinear) {
    idx[0] = clamp_to<int32_t>(i0, 0, len - 1);
    idx[1] = clamp_to<int32_t>(i0 + 1, 0, len - 1);
    w[0] = T(1) - t;
    w[1] = t;
    return 2;
  }
  // Cubic convolution (Keys) with coefficient a over inputs i0 - 1 .. i0 + 2.
  const T a = T(p.cubic_a);
  T sum = T(0);
  for (int32_t k = 0; k < 4; ++k) {
    const int32_t j = i0 - 1 + k;
    const T s = std::fabs(x - T(j));
    w[k] = s <= T(1) ? ((a + T(2)) * s - (a + T(3))) * s * s + T(1)
                     : ((a * s - T(5) * a) * s + T(8) * a) * s - T(4) * a;
    if (p.exclude_outside && (j < 0 || j >= len)) w[k] = T(0);
    idx[k] = clamp_to<int32_t>(j, 0, len - 1);
    sum += w[k];
  }
  if (p.exclude_outside)
    for (int32_t k = 0; k < 4; ++k) w[k] /= sum;
  return 4;
}

// An interpolated value as T: integers are rounded half to even and saturated.
template <class T, class C>
inline T resize_value(C v) {
  if constexpr (std::is_integral<T>::value) {
    return T(clamp_to<C>(std::nearbyint(v), C(std::numeric_limits<T>::min()), C(std::numeric_limits<T>::max())));
  } else {
    return T(v);
  }
}

// T: the data; C: the arithmetic (T itself for floating-point data, float for int8 and uint8).
// input1, input2: the node's inputs 1 and 2, roi and scales (Resize-11 on) or scales (Upsample,
// Resize-10), as p.roi_input and p.scales_input say.
template <class T, class C = T>
void resize(const ResizeParams& p, const T* x, const float* input1, const float* input2, T* y) {
  if (p.n == 0) return;
  auto input = [&](int32_t i) { return i == 1 ? input1 : i == 2 ? input2 : nullptr; };
  const float* scales = input(p.scales_input);
  const float* roi = input(p.roi_input);
  int32_t stride[kMaxRank], o[kMaxRank], count[kMaxRank], idx[kMaxRank][4];
  C w[kMaxRank][4];
  auto taps = [&](int32_t a) {
    const C s = scales ? C(scales[a]) : C(p.dims[a]) / C(p.in_dims[a]);
    count[a] = resize_taps<C>(p, p.in_dims[a], p.dims[a], o[a], s, roi ? C(roi[a]) : C(0),
                              roi ? C(roi[p.rank + a]) : C(1), idx[a], w[a]);
  };
  for (int32_t a = p.rank - 1, st = 1; a >= 0; st *= p.in_dims[a--]) stride[a] = st;
  for (int32_t a = 0; a < p.rank; ++a) o[a] = 0, taps(a);
  for (int32_t i = 0; i < p.n; ++i) {
    bool inside = true;
    for (int32_t a = 0; a < p.rank; ++a) inside = inside && count[a] > 0;
    C v = C(p.extrapolation);
    if (inside) {
      int32_t k[kMaxRank] = {0};
      v = C(0);
      for (int32_t a = 0; a >= 0;) {
        C wt = C(1);
        int32_t off = 0;
        for (int32_t b = 0; b < p.rank; ++b) wt *= w[b][k[b]], off += idx[b][k[b]] * stride[b];
        v += wt * C(x[off]);
        for (a = p.rank - 1; a >= 0 && ++k[a] == count[a]; --a) k[a] = 0;
      }
    }
    y[i] = resize_value<T>(v);
    // Next output index; the taps change only along the axes that moved.
    int32_t a = p.rank - 1;
    for (; a >= 0 && ++o[a] == p.dims[a]; --a) o[a] = 0;
    for (int32_t b = a < 0 ? 0 : a; b < p.rank; ++b) taps(b);
  }
}

}  // namespace tinyc

#endif
