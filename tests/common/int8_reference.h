// The int8 convolution and fully connected layer as straightforward loops: the reference every
// int8 kernel is compared with, on the host (tests/unit/int8_test.cpp) and on each emulated core
// (tests/mcu/kernel_check.cpp). Straight from the definition: acc = bias + sum (x - zx) * w over
// the window inside the input, then TFLite's requantization and the clamp.
#ifndef TINYC_TESTS_INT8_REFERENCE_H
#define TINYC_TESTS_INT8_REFERENCE_H

#include <math.h>

#include "tinyc/int8.h"

// The conv_s8_im2col that tinyc emits for a kernel of width kw (widths 3 and 4 written out), with
// ONNX's rounding (onnx) or TFLite's, into the layout Out.
template <tinyc::Layout Out>
auto conv_s8_im2col_for(int kw, bool onnx) {
  using tinyc::conv_s8_im2col;
  constexpr auto F = tinyc::Rounding::OnnxFloat, T = tinyc::Rounding::TFLite;
  if (kw == 3) return onnx ? conv_s8_im2col<F, 3, Out> : conv_s8_im2col<T, 3, Out>;
  if (kw == 4) return onnx ? conv_s8_im2col<F, 4, Out> : conv_s8_im2col<T, 4, Out>;
  return onnx ? conv_s8_im2col<F, 0, Out> : conv_s8_im2col<T, 0, Out>;
}

// 2-D, batch 1, NCHW.
// A random 2-D convolution (batch 1) for the kernel tests, from uni(lo, hi), a uniform integer:
// trial % 3 picks any grouping, pointwise or depthwise (3x3 on odd trials); odd trials clamp to
// int8's own range, and every fourth uses ONNX's float requantization.
template <class Uni>
tinyc::ConvS8Params random_conv_s8(Uni& uni, int trial, int max_groups, int max_per_group) {
  const int kind = trial % 3;  // any, pointwise, depthwise
  tinyc::ConvS8Params p{};
  p.batch = 1;
  p.groups = uni(0, 2) == 0 || kind == 1 ? 1 : uni(1, max_groups);
  p.in_ch = p.groups * (kind == 2 ? 1 : uni(1, max_per_group));
  p.out_ch = p.groups * (kind == 2 ? 1 : uni(1, max_per_group));
  p.in[0] = p.kernel[0] = p.stride[0] = p.dilation[0] = p.out[0] = 1;
  for (int a = 1; a < 3; ++a) {
    p.in[a] = uni(1, 9), p.kernel[a] = uni(1, 4), p.stride[a] = uni(1, 3), p.dilation[a] = uni(1, 2);
    p.pad[a] = uni(0, 2);
    if (kind == 1) p.kernel[a] = p.stride[a] = 1, p.pad[a] = 0;
    if (kind == 2 && trial % 2) p.kernel[a] = 3, p.dilation[a] = 1;
    const int span = (p.kernel[a] - 1) * p.dilation[a] + 1;
    if (p.in[a] + 2 * p.pad[a] < span) p.pad[a] = span;
    p.out[a] = (p.in[a] + 2 * p.pad[a] - span) / p.stride[a] + 1;
  }
  p.input_zero_point = uni(-128, 127), p.output_zero_point = uni(-128, 127);
  p.act_min = uni(-128, 0), p.act_max = uni(0, 127);
  if (trial % 2) p.act_min = -128, p.act_max = 127;  // int8's own range: the kernels' saturating path
  p.float_requant = trial % 4 == 3;                 // ONNX's float rounding (pre-quantized models)
  return p;
}

// A random 2-D max pooling for the kernel tests: windows with strides, dilations, padding at the
// end (as ceil_mode makes) and, when lead_pad, at the start.
template <class Uni>
tinyc::PoolParams random_max_pool(Uni& uni, int max_in, int max_kernel, bool lead_pad) {
  tinyc::PoolParams p{};
  p.kind = tinyc::kPoolMax;
  p.planes = uni(1, 3);
  p.in[0] = p.out[0] = p.kernel[0] = p.stride[0] = p.dilation[0] = 1;
  for (int a = 1; a < 3; ++a) {
    p.in[a] = uni(1, max_in), p.kernel[a] = uni(1, max_kernel), p.stride[a] = uni(1, 3), p.dilation[a] = uni(1, 2);
    p.pad[a] = lead_pad ? uni(0, p.kernel[a] - 1) : 0, p.pad_end[a] = uni(0, p.kernel[a] - 1);
    const int span = (p.kernel[a] - 1) * p.dilation[a] + 1;
    if (p.in[a] + p.pad[a] + p.pad_end[a] < span) p.pad_end[a] = span - p.in[a] - p.pad[a];
    p.out[a] = (p.in[a] + p.pad[a] + p.pad_end[a] - span) / p.stride[a] + 1;
  }
  return p;
}

// fscale: ONNX's float requantization (round half even of acc * scale) instead of the multiplier.
inline int8_t reference_requantize(int32_t a, int32_t m, const int32_t* mult, const int8_t* shift, const float* fscale,
                                   int32_t zp, int32_t lo, int32_t hi) {
  if (fscale) {
    const double v = nearbyint(double(float(a) * fscale[m])) + zp;
    return int8_t(v < lo ? lo : (v > hi ? hi : v));
  }
  return tinyc::clamp_s8(tinyc::multiply_by_quantized_multiplier(a, mult[m], shift[m]) + zp, lo, hi);
}

inline void reference_conv_s8(const tinyc::ConvS8Params& p, const int8_t* x, const int8_t* w, const int32_t* bias,
                              const int32_t* mult, const int8_t* shift, int8_t* want, const float* fscale = nullptr) {
  const int cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
  for (int m = 0; m < p.out_ch; ++m)
    for (int oh = 0; oh < p.out[1]; ++oh)
      for (int ow = 0; ow < p.out[2]; ++ow) {
        int32_t a = bias[m];
        for (int c = 0; c < cg; ++c)
          for (int kh = 0; kh < p.kernel[1]; ++kh)
            for (int kw = 0; kw < p.kernel[2]; ++kw) {
              const int ih = oh * p.stride[1] + kh * p.dilation[1] - p.pad[1];
              const int iw = ow * p.stride[2] + kw * p.dilation[2] - p.pad[2];
              if (ih < 0 || ih >= p.in[1] || iw < 0 || iw >= p.in[2]) continue;
              a += (x[(m / mg * cg + c) * in_size + ih * p.in[2] + iw] - p.input_zero_point) *
                   w[((m * cg + c) * p.kernel[1] + kh) * p.kernel[2] + kw];
            }
        want[m * out_size + oh * p.out[2] + ow] =
            reference_requantize(a, m, mult, shift, fscale, p.output_zero_point, p.act_min, p.act_max);
      }
}

// Each of `blocks` [rows, cols] matrices of src transposed into dst: x [C, HW] to channels-last
// [HW, C] (blocks 1), or weights [M, C/g, K] to [M, K, C/g] (blocks M).
inline void transpose_blocks(const int8_t* src, int blocks, int rows, int cols, int8_t* dst) {
  for (int b = 0; b < blocks; ++b, src += rows * cols, dst += rows * cols)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// w natural [units, depth]; zx the input's zero point.
inline void reference_fully_connected_s8(const tinyc::FullyConnectedS8Params& p, int32_t zx, const int8_t* x,
                                         const int8_t* w, const int32_t* bias, const int32_t* mult,
                                         const int8_t* shift, int8_t* want, const float* fscale = nullptr) {
  for (int r = 0; r < p.rows; ++r)
    for (int u = 0; u < p.units; ++u) {
      int32_t a = bias[u];
      for (int k = 0; k < p.depth; ++k) a += (x[r * p.depth + k] - zx) * w[u * p.depth + k];
      want[r * p.units + u] = reference_requantize(a, u, mult, shift, fscale, p.output_zero_point, p.act_min, p.act_max);
    }
}

// TFLite's quantized Add of one pair of int8 values, written out.
inline int8_t reference_add_s8(const tinyc::AddS8Params& p, int8_t a, int8_t b, bool sub = false) {
  using tinyc::multiply_by_quantized_multiplier;
  const int32_t va = (a - p.zero_point[0]) * (1 << 20), vb = (sub ? p.zero_point[1] - b : b - p.zero_point[1]) * (1 << 20);
  const int32_t sum = multiply_by_quantized_multiplier(va, p.multiplier[0], p.shift[0]) +
                      multiply_by_quantized_multiplier(vb, p.multiplier[1], p.shift[1]);
  return tinyc::clamp_s8(multiply_by_quantized_multiplier(sum, p.output_multiplier, p.output_shift) + p.output_zero_point,
                         p.act_min, p.act_max);
}

// The constants fully_connected_s8 takes, as the quantizer makes them: the weights w [units,
// depth] packed, and zx folded into the biases.
inline void fully_connected_s8_constants(const tinyc::FullyConnectedS8Params& p, int32_t zx, const int8_t* w,
                                         const int32_t* bias, int8_t* packed, int32_t* folded) {
  tinyc::pack_fully_connected_s8(w, p.units, p.depth, packed);
  for (int u = 0; u < p.units; ++u)
    folded[u] = int32_t(tinyc::fold_input_zero_point(bias[u], w + u * p.depth, p.depth, zx));
}

#endif
