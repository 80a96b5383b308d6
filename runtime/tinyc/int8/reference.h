// The reference of every int8 kernel: straight from the definition, left slow on purpose, with no
// ISA code and nothing shared with the fast kernels but the parameter structs. Each takes the same
// params and tensors as the kernel it stands for, so the evaluator can run it in that kernel's place
// (tinyc run --reference-kernels) and the tests hold every fast path to it, integer for integer:
//   conv_s8, conv_s8_im2col, depthwise_s8  reference::conv_s8
//   fully_connected_s8                     reference::fully_connected_s8
//   add_s8, avg_pool_s8                    reference::add_s8, reference::avg_pool_s8
//   max_pool_s8                            pool<int8_t> (nn.h), the float kernels' own loop
// concat_s8, lookup_s8 and softmax_s8 are written as plainly as a reference already.
#ifndef TINYC_INT8_REFERENCE_H
#define TINYC_INT8_REFERENCE_H

#include "add.h"
#include "conv.h"
#include "fully_connected.h"
#include "pool.h"

namespace tinyc {
namespace reference {

// TFLite's MultiplyByQuantizedMultiplier as TFLite writes it: gemmlowp's saturating rounding
// doubling high multiply, then a rounding right shift (half away from zero).
inline int32_t high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = int64_t(a) * b;
  const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : 1 - (int64_t(1) << 30);
  return int32_t((ab + nudge) / (int64_t(1) << 31));
}
inline int32_t rounding_shift_right(int32_t x, int32_t e) {
  const int64_t mask = (int64_t(1) << e) - 1, remainder = int64_t(x) & mask;
  const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return int32_t((int64_t(x) >> e) + (remainder > threshold ? 1 : 0));
}
inline int32_t multiply(int32_t x, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  return rounding_shift_right(high_mul(int32_t(uint32_t(x) << left), multiplier), right);
}

inline int8_t clamp(int64_t v, int32_t lo, int32_t hi) { return int8_t(v < lo ? lo : (v > hi ? hi : v)); }

// The output side of a layer as its kernel takes it (conv_s8's bias, multiplier, shift, scale).
struct Output {
  const void* bias;  // int32, or int16 when bias16
  const int32_t* multiplier;
  const int8_t* shift;
  const float* scale;  // float_requant
};

// Output channel m's int32 sum as int8: (sum + bias) requantized by the multiplier and shift, or
// with float_requant ONNX's rounding of (sum + bias) * scale, half to even.
template <class P>
int8_t requantize(const P& p, const Output& o, int32_t m, int32_t sum) {
  const int32_t acc = sum + (p.bias16 ? static_cast<const int16_t*>(o.bias)[m] : static_cast<const int32_t*>(o.bias)[m]);
  const int64_t v =
      p.float_requant ? int64_t(std::nearbyint(float(acc) * o.scale[m])) : multiply(acc, o.multiplier[m], o.shift[m]);
  return clamp(v + p.output_zero_point, p.act_min, p.act_max);
}

// Any convolution conv_s8, conv_s8_im2col or depthwise_s8 computes: y[n, m, o] = requantized
// bias[m] + sum over the group's channels c and the window k inside the input of
// (x[n, c, o * stride + k * dilation - pad] - zx) * w[m, c, k]. x is NCHW, or channels-last with w
// [M, K, C/g] (weight_index); y NCHW or channels-last.
inline void conv_s8(const ConvS8Params& p, const int8_t* x, const int8_t* w, const void* bias, const int32_t* multiplier,
                    const int8_t* shift, const float* scale, int8_t* y, Scratch) {
  const Output out{bias, multiplier, shift, scale};
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t m = 0; m < p.out_ch; ++m)
      for (int32_t o = 0; o < out_size; ++o) {
        const int32_t o3[3] = {o / (p.out[1] * p.out[2]), o / p.out[2] % p.out[1], o % p.out[2]};
        int32_t sum = 0;
        for (int32_t c = 0; c < cg; ++c)
          for (int32_t k = 0; k < p.kernel[0] * p.kernel[1] * p.kernel[2]; ++k) {
            const int32_t k3[3] = {k / (p.kernel[1] * p.kernel[2]), k / p.kernel[2] % p.kernel[1], k % p.kernel[2]};
            int32_t i3[3];
            bool inside = true;
            for (int a = 0; a < 3; ++a) {
              i3[a] = o3[a] * p.stride[a] + k3[a] * p.dilation[a] - p.pad[a];
              inside = inside && i3[a] >= 0 && i3[a] < p.in[a];
            }
            if (!inside) continue;
            const int32_t ch = m / mg * cg + c, pixel = (i3[0] * p.in[1] + i3[1]) * p.in[2] + i3[2];
            const int32_t xv = p.channels_last ? x[(n * in_size + pixel) * p.in_ch + ch] : x[(n * p.in_ch + ch) * in_size + pixel];
            sum += (xv - p.input_zero_point) * w[weight_index(p, m, c, k, p.kernel[0] * p.kernel[1] * p.kernel[2])];
          }
        y[p.channels_last_out ? (n * out_size + o) * p.out_ch + m : (n * p.out_ch + m) * out_size + o] =
            requantize(p, out, m, sum);
      }
}

// Where pack_fully_connected_s8 put weight (u, k) of w [units, depth].
inline int32_t packed_index(int32_t u, int32_t k, int32_t units, int32_t depth) {
  const int32_t whole = units - units % 4;  // the units in blocks of four rows; the rest one a block
  const int32_t first = u < whole ? u - u % 4 : u, rows = u < whole ? 4 : 1, r = u - first;
  const int32_t groups = depth / 16, tail = depth % 16;
  const int32_t at = k < 16 * groups ? (k / 16 * rows + r) * 16 + k % 16 : 16 * groups * rows + r * tail + k - 16 * groups;
  return first * depth + at;
}

// y[r, u] = requantized bias[u] + sum over k of x[r, k] * w[u, k]: w packed, the input's zero
// point folded into the bias (fully_connected.h).
inline void fully_connected_s8(const FullyConnectedS8Params& p, const int8_t* x, const int8_t* w, const void* bias,
                               const int32_t* multiplier, const int8_t* shift, const float* scale, int8_t* y) {
  const Output out{bias, multiplier, shift, scale};
  for (int32_t r = 0; r < p.rows; ++r)
    for (int32_t u = 0; u < p.units; ++u) {
      int32_t sum = 0;
      for (int32_t k = 0; k < p.depth; ++k) sum += x[r * p.depth + k] * w[packed_index(u, k, p.units, p.depth)];
      y[r * p.units + u] = requantize(p, out, u, sum);
    }
}

// TFLite's quantized Add (Sub: a - b), one output element at a time, with numpy broadcasting.
template <bool Sub = false>
inline void add_s8(const AddS8Params& p, const int8_t* a, const int8_t* b, int8_t* y) {
  const BroadcastParams& s = p.shape;
  const int8_t* in[2] = {a, b};
  for (int32_t i = 0; i < s.n; ++i) {
    int32_t off[2] = {0, 0};
    for (int32_t a = s.rank - 1, rest = i; a >= 0; rest /= s.dims[a], --a)
      for (int k = 0; k < 2; ++k) off[k] += rest % s.dims[a] * s.strides[k][a];
    int32_t v[2];
    for (int k = 0; k < 2; ++k) {
      const int32_t d = in[k][off[k]] - p.zero_point[k];
      v[k] = multiply((Sub && k == 1 ? -d : d) * (1 << 20), p.multiplier[k], p.shift[k]);
    }
    const int64_t sum = multiply(v[0] + v[1], p.output_multiplier, p.output_shift);
    y[i] = clamp(sum + p.output_zero_point, p.act_min, p.act_max);
  }
}

// The average of each window over the input (count_include_pad: over the whole window), as
// average_s8 rounds it.
inline void avg_pool_s8(const AvgPoolS8Params& p, const int8_t* x, int8_t* y) {
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const int32_t window = p.kernel[0] * p.kernel[1] * p.kernel[2];
  for (int32_t c = 0; c < p.planes; ++c)
    for (int32_t o = 0; o < out_size; ++o) {
      const int32_t o3[3] = {o / (p.out[1] * p.out[2]), o / p.out[2] % p.out[1], o % p.out[2]};
      int32_t sum = 0, count = 0;
      for (int32_t k = 0; k < window; ++k) {
        const int32_t k3[3] = {k / (p.kernel[1] * p.kernel[2]), k / p.kernel[2] % p.kernel[1], k % p.kernel[2]};
        int32_t i3[3];
        bool inside = true;
        for (int a = 0; a < 3; ++a) {
          i3[a] = o3[a] * p.stride[a] + k3[a] - p.pad[a];
          inside = inside && i3[a] >= 0 && i3[a] < p.in[a];
        }
        if (inside) sum += x[c * in_size + (i3[0] * p.in[1] + i3[1]) * p.in[2] + i3[2]], ++count;
      }
      y[c * out_size + o] = average_s8(p, sum, count, p.count_include_pad ? window : count);
    }
}

}  // namespace reference
}  // namespace tinyc

#endif
