// Quantization operators with ONNX semantics: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, integer matrix products and convolutions (ConvInteger, MatMulInteger,
// QLinearConv, QLinearMatMul), and ONNX Runtime's com.microsoft QLinearAdd, QLinearMul,
// QLinearAveragePool, QLinearGlobalAveragePool and QLinearLeakyRelu. Accumulation is exact in int32;
// the QLinear ops requantize as ONNX specifies: round half to even of acc * (x_scale * w_scale /
// y_scale), saturated.
#ifndef TINYC_QUANT_H
#define TINYC_QUANT_H

#include "elementwise.h"
#include "nn.h"
#include "tinyc.h"

namespace tinyc {

// NaN (a zero scale, a NaN input) gives 0: converting it to an integer is undefined behaviour.
template <class T>
inline T saturate(float v);
template <>
inline int8_t saturate<int8_t>(float v) {
  return v != v ? 0 : int8_t(v < -128.f ? -128.f : (v > 127.f ? 127.f : v));
}
template <>
inline uint8_t saturate<uint8_t>(float v) { return v != v ? 0 : uint8_t(v < 0.f ? 0.f : (v > 255.f ? 255.f : v)); }
template <>
inline int32_t saturate<int32_t>(float v) {
  return v != v ? 0 : v < -2147483648.f ? INT32_MIN : (v >= 2147483648.f ? INT32_MAX : int32_t(v));
}

struct QuantizeParams {
  int32_t outer, channels, inner;  // x viewed as [outer, channels, inner]; scale per channel
  int32_t per_channel;             // else one scale and zero point
  TINYC_PARAMS(QuantizeParams, outer, channels, inner, per_channel)
};

// y = saturate(round_half_even(x / scale) + zero_point); in: x, scale, zero point (optional).
template <class TO>
TINYC_INLINE void quantize_linear(const QuantizeParams& p, const float* x, const float* scale, const TO* zp, TO* y) {
  for_each_channel(p.outer, p.channels, [&](int32_t c) {
    const int32_t k = p.per_channel ? c : 0;
    const float z = zp ? float(zp[k]) : 0.f;
    for (int32_t i = 0; i < p.inner; ++i, ++x) *y++ = saturate<TO>(round_half_even(*x / scale[k]) + z);
  });
}

// y = (x - zero_point) * scale.
template <class TI>
TINYC_INLINE void dequantize_linear(const QuantizeParams& p, const TI* x, const float* scale, const TI* zp, float* y) {
  for_each_channel(p.outer, p.channels, [&](int32_t c) {
    const int32_t k = p.per_channel ? c : 0;
    const int32_t z = zp ? int32_t(zp[k]) : 0;
    for (int32_t i = 0; i < p.inner; ++i) *y++ = float(int32_t(*x++) - z) * scale[k];
  });
}

// uint8 quantization with the range of x (always including 0); out: y, scale, zero point.
inline void dynamic_quantize_linear(const QuantizeParams& p, const float* x, uint8_t* y, float* y_scale,
                                    uint8_t* y_zero_point) {
  const int32_t n = p.outer * p.channels * p.inner;
  float lo = 0.f, hi = 0.f;
  for (int32_t i = 0; i < n; ++i) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
  const float scale = (hi - lo) / 255.f;
  const uint8_t zp = scale != 0.f ? saturate<uint8_t>(std::nearbyint(-lo / scale)) : 0;
  for (int32_t i = 0; i < n; ++i) y[i] = scale != 0.f ? saturate<uint8_t>(std::nearbyint(x[i] / scale) + zp) : zp;
  if (y_scale) *y_scale = scale;
  if (y_zero_point) *y_zero_point = zp;
}

struct QMatMulParams {
  MatMulParams mm;
  int32_t qlinear;       // QLinearMatMul (inputs a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp)
  int32_t b_per_column;  // b scale / zero point per output column
  TINYC_PARAMS(QMatMulParams, mm, qlinear, b_per_column)
};

// MatMulInteger (out int32) or QLinearMatMul (out TO: with bs, b's scale, the exact sum times
// mult * bs rounded, plus zy). Zero points are subtracted exactly.
template <class TA, class TB, class TO>
void qmatmul(const QMatMulParams& q, const TA* a, const TB* b, const TA* azp, const TB* bzp, float mult,
             const float* bs, int32_t zy, TO* y) {
  const MatMulParams& p = q.mm;
  const int32_t za = azp ? int32_t(azp[0]) : 0;
  int32_t idx[kMaxRank] = {0};
  int32_t off[2] = {0, 0};
  const int32_t last = p.batch[p.batch_rank - 1];
  do {
    for (int32_t t = 0; t < last; ++t) {
      const TA* at = a + off[0] + t * p.strides[0][p.batch_rank - 1];
      const TB* bt = b + off[1] + t * p.strides[1][p.batch_rank - 1];
      for (int32_t i = 0; i < p.m; ++i)
        for (int32_t j = 0; j < p.n; ++j) {
          const int32_t zb = bzp ? int32_t(bzp[q.b_per_column ? j : 0]) : 0;
          int32_t acc = 0;
          for (int32_t l = 0; l < p.k; ++l) acc += (int32_t(at[i * p.k + l]) - za) * (int32_t(bt[l * p.n + j]) - zb);
          if (q.qlinear) {
            const float s = mult * bs[q.b_per_column ? j : 0];
            *y++ = saturate<TO>(round_half_even(float(acc) * s) + float(zy));
          } else {
            *y++ = TO(acc);
          }
        }
    }
  } while (next_row<2>(p.batch_rank, p.batch, idx, p.strides, off));
}

template <class TA, class TB, class TO>
void matmul_integer(const QMatMulParams& q, const TA* a, const TB* b, const TA* azp, const TB* bzp, TO* y) {
  qmatmul(q, a, b, azp, bzp, 1.f, nullptr, 0, y);
}

template <class TA, class TB, class TO>
void qlinear_matmul(const QMatMulParams& q, const TA* a, const float* a_scale, const TA* azp, const TB* b,
                    const float* b_scale, const TB* bzp, const float* y_scale, const TO* yzp, TO* y) {
  qmatmul(q, a, b, azp, bzp, *a_scale / *y_scale, b_scale, yzp ? int32_t(*yzp) : 0, y);
}

struct QConvParams {
  ConvParams conv;
  int32_t qlinear;        // QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)
  int32_t w_per_channel;  // w scale / zero point per output channel
  TINYC_PARAMS(QConvParams, conv, qlinear, w_per_channel)
};

// ConvInteger (out int32) or QLinearConv (out TO: with ws, w's scale, the exact sum plus bias
// times mult * ws rounded, plus zy); padding reads the input zero point.
template <class TX, class TW, class TO>
void qconv(const QConvParams& q, const TX* x, const TW* w, const TX* xzp, const TW* wzp, const int32_t* bias,
           float mult, const float* ws, int32_t zy, TO* y) {
  const ConvParams& p = q.conv;
  const int32_t zx = xzp ? int32_t(xzp[0]) : 0;
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2];
  const int32_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t m = 0; m < p.out_ch; ++m) {
      const int32_t g = m / mg;
      const int32_t zw = wzp ? int32_t(wzp[q.w_per_channel ? m : 0]) : 0;
      for (int32_t od = 0; od < p.out[0]; ++od)
        for (int32_t oh = 0; oh < p.out[1]; ++oh)
          for (int32_t ow = 0; ow < p.out[2]; ++ow) {
            int32_t acc = bias ? bias[m] : 0;
            for (int32_t c = 0; c < cg; ++c) {
              const TX* xc = x + (n * p.in_ch + g * cg + c) * in_size;
              const TW* wc = w + (m * cg + c) * ksize;
              window_rows(p, p.in, od, oh, [&](int32_t row, int32_t krow) {
                for (int32_t kw = 0; kw < p.kernel[2]; ++kw) {
                  const int32_t iw = ow * p.stride[2] + kw * p.dilation[2] - p.pad[2];
                  if (iw < 0 || iw >= p.in[2]) continue;
                  acc += (int32_t(xc[row * p.in[2] + iw]) - zx) * (int32_t(wc[krow * p.kernel[2] + kw]) - zw);
                }
              });
            }
            if (q.qlinear)
              *y++ = saturate<TO>(round_half_even(float(acc) * (mult * ws[q.w_per_channel ? m : 0])) + float(zy));
            else
              *y++ = TO(acc);
          }
    }
}

template <class TX, class TW, class TO>
void conv_integer(const QConvParams& q, const TX* x, const TW* w, const TX* xzp, const TW* wzp, TO* y) {
  qconv(q, x, w, xzp, wzp, nullptr, 1.f, nullptr, 0, y);
}

template <class TX, class TW, class TO>
void qlinear_conv(const QConvParams& q, const TX* x, const float* x_scale, const TX* xzp, const TW* w,
                  const float* w_scale, const TW* wzp, const float* y_scale, const TO* yzp, const int32_t* bias, TO* y) {
  qconv(q, x, w, xzp, wzp, bias, *x_scale / *y_scale, w_scale, yzp ? int32_t(*yzp) : 0, y);
}

struct QLinearBinaryParams {
  BroadcastParams shape;
  int32_t a_zero_point, b_zero_point, c_zero_point;
  float scale_a, scale_b;  // Add: a_scale / c_scale, b_scale / c_scale. Mul: a_scale * b_scale / c_scale, 0
  TINYC_PARAMS(QLinearBinaryParams, shape, a_zero_point, b_zero_point, c_zero_point, scale_a, scale_b)
};

// The broadcasting loop of QLinearAdd and QLinearMul (the scales and zero points are in p):
// c = saturate(round_half_even(f(a - a_zero_point, b - b_zero_point)) + c_zero_point).
template <class T, class F>
void qlinear_binary(const QLinearBinaryParams& p, const T* a, const T* b, T* y, F f) {
  const BroadcastParams& s = p.shape;
  if (s.n == 0) return;
  int32_t idx[kMaxRank] = {0};
  int32_t off[2] = {0, 0};
  const int32_t last = s.dims[s.rank - 1], sa = s.strides[0][s.rank - 1], sb = s.strides[1][s.rank - 1];
  do {
    for (int32_t j = 0; j < last; ++j)
      *y++ = saturate<T>(std::nearbyint(f(int32_t(a[off[0] + j * sa]) - p.a_zero_point,
                                          int32_t(b[off[1] + j * sb]) - p.b_zero_point)) +
                         float(p.c_zero_point));
  } while (next_row<2>(s.rank, s.dims, idx, s.strides, off));
}

// The real sum over the output scale, from each input's offset times its scale ratio.
template <class T>
void qlinear_add(const QLinearBinaryParams& p, const T* a, const float*, const T*, const T* b, T* y) {
  qlinear_binary<T>(p, a, b, y, [&p](int32_t a, int32_t b) { return float(a) * p.scale_a + float(b) * p.scale_b; });
}

// The exact int32 product of the offsets, times one scale.
template <class T>
void qlinear_mul(const QLinearBinaryParams& p, const T* a, const float*, const T*, const T* b, T* y) {
  qlinear_binary<T>(p, a, b, y, [&p](int32_t a, int32_t b) { return float(a * b) * p.scale_a; });
}

struct QLinearPoolParams {
  int32_t planes;  // NCHW: batch * channels planes of in[0] x in[1] x in[2]
  int32_t in[3], out[3], kernel[3], stride[3], pad[3], pad_end[3];
  int32_t count_include_pad;
  int32_t x_zero_point, y_zero_point;
  float scale;  // x_scale / y_scale
  TINYC_PARAMS(QLinearPoolParams, planes, in, out, kernel, stride, pad, pad_end, count_include_pad, x_zero_point,
               y_zero_point, scale)
};

// Average pooling of quantized values: the int32 sum of x - x_zero_point over the window, divided
// by the window clipped to the padded input (count_include_pad) or to the input, then rescaled:
// y = saturate(round_half_even(sum * scale / count) + y_zero_point).
template <class T>
void qlinear_avg_pool(const QLinearPoolParams& p, const T* x, T* y) {
  int_avg_pool(x, p.planes, p.in, p.out, p.kernel, p.stride, p.pad, p.pad_end,
               p.x_zero_point, [&](int32_t sum, int32_t count, int32_t count_pad) {
                 const float d = float(p.count_include_pad ? count_pad : count);
                 *y++ = saturate<T>(round_half_even(float(sum) * p.scale / d) + float(p.y_zero_point));
               });
}

struct QLinearLeakyReluParams {
  int32_t n;
  int32_t x_zero_point, y_zero_point;
  float scale, negative_scale;  // x_scale / y_scale, and alpha times that
  TINYC_PARAMS(QLinearLeakyReluParams, n, x_zero_point, y_zero_point, scale, negative_scale)
};

// y = saturate(round_half_even((x - x_zero_point) * (x < x_zero_point ? alpha : 1) * scale) + y_zero_point).
template <class T>
void qlinear_leaky_relu(const QLinearLeakyReluParams& p, const T* x, T* y) {
  for (int32_t i = 0; i < p.n; ++i) {
    const int32_t v = int32_t(x[i]) - p.x_zero_point;
    y[i] = saturate<T>(round_half_even(float(v) * (v < 0 ? p.negative_scale : p.scale)) + float(p.y_zero_point));
  }
}

struct QLinearSoftmaxParams {
  int32_t outer, axis, inner;  // x viewed as [outer, axis, inner]; normalized along axis
  int32_t x_zero_point, y_zero_point;
  float x_scale, y_scale;
  TINYC_PARAMS(QLinearSoftmaxParams, outer, axis, inner, x_zero_point, y_zero_point, x_scale, y_scale)
};

// Softmax of quantized x into quantized y (com.microsoft QLinearSoftmax, and DequantizeLinear ->
// Softmax -> QuantizeLinear in pre-quantized models) with the very float operations of the three
// ONNX operators in turn (dequantize_linear, softmax<float>, quantize_linear), so the integers are
// those of the float path, which ONNX Runtime's references give. Scratch: the line's exponentials
// (axis floats).
template <class T>
TINYC_INLINE void qlinear_softmax(const QLinearSoftmaxParams& p, const T* x, T* y, Scratch scratch) {
  float* e = static_cast<float*>(scratch.data);
  for_each_line(p.outer, p.axis, p.inner, [&](int32_t at, int32_t, int32_t) {
    const T* xs = x + at;
    T* ys = y + at;
    auto real = [&](int32_t a) { return float(int32_t(xs[a * p.inner]) - p.x_zero_point) * p.x_scale; };
    float mx = real(0);
    for (int32_t a = 1; a < p.axis; ++a) mx = real(a) > mx ? real(a) : mx;
    float sum = 0;
    for (int32_t a = 0; a < p.axis; ++a) sum += (e[a] = std::exp(real(a) - mx));
    const float inv = 1.0f / sum;
    for (int32_t a = 0; a < p.axis; ++a)
      ys[a * p.inner] = saturate<T>(round_half_even(e[a] * inv / p.y_scale) + float(p.y_zero_point));
  });
}

}  // namespace tinyc

#endif
