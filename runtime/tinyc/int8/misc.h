// Concat with requantization, table lookups (any elementwise function) and softmax on int8.
#ifndef TINYC_INT8_MISC_H
#define TINYC_INT8_MISC_H

#include "requant.h"
#include "../movement.h"

namespace tinyc {

struct ConcatS8Params {
  ConcatParams layout;
  int32_t zero_point[kMaxInputs];   // per input
  int32_t multiplier[kMaxInputs];   // input scale / output scale; 0: same parameters, plain copy
  int32_t shift[kMaxInputs];
  int32_t output_zero_point;
  TINYC_PARAMS(ConcatS8Params, layout, zero_point, multiplier, shift, output_zero_point)
};

// Concat of int8 tensors with their own scales: each input is requantized to the output's.
inline void concat_s8(const ConcatS8Params& p, Inputs in, int8_t* y) {
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
inline void lookup_s8(const LookupS8Params& p, const int8_t* x, const int8_t* table, int8_t* y) {
  for (int32_t i = 0; i < p.n; ++i) y[i] = table[int32_t(x[i]) + 128];
}

struct SoftmaxS8Params {
  int32_t outer, axis, inner;  // x viewed as [outer, axis, inner], normalized along axis
  int32_t output_zero_point;
  int32_t inv_output_scale;    // round(2^16 / output scale)
  TINYC_PARAMS(SoftmaxS8Params, outer, axis, inner, output_zero_point, inv_output_scale)
};

// For each line of a softmax over int8 x along p.axis, with the exp table: f(xs, ys, table, max,
// sum), its input and output at the line's start (values p.inner apart), its maximum and the sum of
// table[max - x] over it (softmax_s8 and log_softmax_s8).
template <class P, class F>
inline void for_each_exp_line(const P& p, const int8_t* x, const uint16_t* table, int8_t* y, F f) {
  for_each_line(p.outer, p.axis, p.inner, [&](int32_t at, int32_t, int32_t) {
    const int8_t* xs = x + at;
    int32_t mx = -128;
    for (int32_t a = 0; a < p.axis; ++a) mx = xs[a * p.inner] > mx ? xs[a * p.inner] : mx;
    int64_t sum = 0;
    for (int32_t a = 0; a < p.axis; ++a) sum += table[mx - xs[a * p.inner]];
    f(xs, y + at, table, mx, sum);
  });
}

// Integer softmax. in: x, exp table uint16 [256] with table[d] = round(65535 * exp(-input_scale * d))
// for d = max - x. y = round(table[d] / sum / output_scale) + zero point, in 2^16 fixed point.
inline void softmax_s8(const SoftmaxS8Params& p, const int8_t* x, const uint16_t* table, int8_t* y) {
  for_each_exp_line(p, x, table, y, [&](const int8_t* xs, int8_t* ys, const uint16_t* table, int32_t mx, int64_t sum) {
    for (int32_t a = 0; a < p.axis; ++a) {
      const int64_t num = int64_t(table[mx - xs[a * p.inner]]) * p.inv_output_scale;
      const int64_t q = (num + sum / 2) / sum;  // prob / output_scale, times 2^16
      const int64_t v = ((q + (1 << 15)) >> 16) + p.output_zero_point;
      ys[a * p.inner] = int8_t(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
  });
}

struct PReluS8Params {
  int32_t outer, channels, inner;  // x viewed as [outer, channels, inner]; the slope per channel
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift;       // input scale / output scale, for x >= 0
  TINYC_PARAMS(PReluS8Params, outer, channels, inner, input_zero_point, output_zero_point, multiplier, shift)
};

// PRelu on int8: d = x - zx requantized by the input-to-output scale where d >= 0, by |slope[c]|
// times it where d < 0 (negated for a negative slope), plus the output's zero point. in: x,
// multiplier int32 [C], shift int8 [C] and sign int8 [C] of the negative side.
inline void prelu_s8(const PReluS8Params& p, const int8_t* x, const int32_t* mult, const int8_t* shift,
                     const int8_t* sign, int8_t* y) {
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t c = 0; c < p.channels; ++c)
      for (int32_t i = 0; i < p.inner; ++i, ++x, ++y) {
        const int32_t d = int32_t(*x) - p.input_zero_point;
        const int32_t v = d >= 0 ? multiply_by_quantized_multiplier(d, p.multiplier, p.shift)
                                 : sign[c] * multiply_by_quantized_multiplier(d, mult[c], shift[c]);
        *y = saturate_s8(v + p.output_zero_point);
      }
}

struct LogSoftmaxS8Params {
  int32_t outer, axis, inner;  // as SoftmaxS8Params
  int32_t output_zero_point;
  int32_t ratio;               // round(2^16 * input scale / output scale)
  float inv_output_scale;
  TINYC_PARAMS(LogSoftmaxS8Params, outer, axis, inner, output_zero_point, ratio, inv_output_scale)
};

// Log-softmax on int8: log p = -input_scale * d - log(sum of exp(-input_scale * d)), d = max - x,
// the sum from the same exp table as softmax_s8 (65535 exp(-input_scale d)) and one logarithm per
// row; y = round(log p / output_scale) + zero point, in 2^16 fixed point.
inline void log_softmax_s8(const LogSoftmaxS8Params& p, const int8_t* x, const uint16_t* table, int8_t* y) {
  for_each_exp_line(p, x, table, y, [&](const int8_t* xs, int8_t* ys, const uint16_t*, int32_t mx, int64_t sum) {
    const int64_t offset = int64_t(65536.0f * std::log(float(sum) / 65535.0f) * p.inv_output_scale + 0.5f);
    for (int32_t a = 0; a < p.axis; ++a) {
      const int64_t v = -(int64_t(p.ratio) * (mx - xs[a * p.inner]) + offset);
      const int64_t q = ((v + (1 << 15)) >> 16) + p.output_zero_point;
      ys[a * p.inner] = int8_t(q < -128 ? -128 : (q > 127 ? 127 : q));
    }
  });
}

}  // namespace tinyc

#endif
