// The int8 convolution's parameters and its reference kernel, conv_s8, which the fast ones
// (int8_im2col.h, int8_depthwise.h) equal integer for integer.
#ifndef TINYC_INT8_CONV_H
#define TINYC_INT8_CONV_H

#include "requant.h"

namespace tinyc {

struct ConvS8Params {
  int32_t batch, in_ch, out_ch, groups;
  int32_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];
  int32_t input_zero_point, output_zero_point;
  int32_t act_min, act_max;  // output clamp (the fused activation)
  int32_t float_requant;     // ONNX's rounding (pre-quantized models): the float scale per channel
  int32_t bias16;            // the int32 biases all fit int16 and are stored so
  int32_t channels_last;     // x is [N, D, H, W, C] and w [M, KD, KH, KW, C/g] (CMSIS-NN's layouts)
  int32_t channels_last_out; // y is [N, D, H, W, M]
  TINYC_PARAMS(ConvS8Params, batch, in_ch, out_ch, groups, in, out, kernel, stride, dilation, pad, input_zero_point,
               output_zero_point, act_min, act_max, float_requant, bias16, channels_last, channels_last_out)
};

// The layout of a fast kernel's output, a compile-time choice: NCHW, or NHWC (channels_last_out).
enum class Layout { ChannelsFirst, ChannelsLast };

// Where weight (m, c, k) of a group's convolution is, c < C/g and k the window's place: w is
// [M, C/g, K] channels-first and [M, K, C/g] channels-last.
inline int32_t weight_index(const ConvS8Params& p, int32_t m, int32_t c, int32_t k, int32_t ksize) {
  const int32_t cg = p.in_ch / p.groups;
  return p.channels_last ? (m * ksize + k) * cg + c : (m * cg + c) * ksize + k;
}

// A convolution's tensors, as the fast drivers (conv_s8_im2col, depthwise_s8) take them inside: one
// pointer, where nine arguments spread over registers and the stack would change the register
// allocation of their loops (thousands of instructions a layer).
struct ConvS8Tensors {
  const int8_t* x;
  const int8_t* w;
  const void* bias;
  const int32_t* multiplier;
  const int8_t* shift;
  const float* scale;
  int8_t* y;
  Scratch scratch;
};

// The compiler's: weights [M, C/g, K] reordered to channels-last [M, K, C/g] (to_last), or back.
template <class T>
void reorder_conv_weights(const T* from, int64_t m, int64_t cg, int64_t ksize, bool to_last, T* to) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t k = 0; k < ksize; ++k) {
        const int64_t first = (i * cg + c) * ksize + k, last = (i * ksize + k) * cg + c;
        to[to_last ? last : first] = from[to_last ? first : last];
      }
}

// x int8; w int8 [M, C/g, k...] or channels-last [M, k..., C/g] (symmetric, per output channel);
// per output channel: bias int32 (int16 when bias16), multiplier and shift, or with float_requant
// the float scale (nullptr otherwise); y int8; scratch the accumulators (and a plane in place).
// acc = bias + sum (x - zx) * w, then requantized. Padding contributes nothing (x = zx there).
// The reference for every grouping: weight-stationary along each output row into one int32 per
// output column of scratch, so the inner loop has no bounds checks; the input may be
// channels-last. y may be x for a depthwise convolution whose output is no larger than its
// input: each input plane is first copied after the accumulators. The faster kernels below
// (conv_s8_im2col, depthwise_s8) give the very same integers.
inline void conv_s8(const ConvS8Params& p, const int8_t* x, const int8_t* w, const void* bias, const int32_t* multiplier,
                    const int8_t* shift, const float* scale, int8_t* y, Scratch scratch) {
  const Requant q(p, bias, multiplier, shift, scale);
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2];
  const int32_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  const int32_t zx = p.input_zero_point, ow_n = p.out[2];
  // Element strides of a channel and of a column of the input.
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  const int32_t st = p.stride[2], sw = st * ws;
  const int32_t kstep = p.channels_last ? cg : 1;  // between a window's places in w
  // Element strides of an output channel and of an output column.
  const int32_t out_size = p.out[0] * p.out[1] * ow_n;
  const int32_t ms = p.channels_last_out ? 1 : out_size, ys = p.channels_last_out ? p.out_ch : 1;
  int32_t* acc = static_cast<int32_t*>(scratch.data);
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
            const int8_t* wc = w + weight_index(p, m, c, 0, ksize);
            window_rows(p, p.in, od, oh, [&](int32_t row, int32_t krow) {
              const int8_t* xrow = xc + row * p.in[2] * ws;
              const int8_t* wk = wc + krow * p.kernel[2] * kstep;
              for (int32_t kw = 0; kw < p.kernel[2]; ++kw) {
                const int32_t sh = kw * p.dilation[2] - p.pad[2];  // input column ow * stride + sh
                const Columns cols = inside_columns(sh, st, p.in[2], ow_n);
                const int8_t* xr = xrow + sh * ws;
                const int32_t wv = wk[kw * kstep];
                for (int32_t ow = cols.lo; ow < cols.hi; ++ow) acc[ow] += (int32_t(xr[ow * sw]) - zx) * wv;
              }
            });
          }
          int8_t* yr = y + n * p.out_ch * out_size + m * ms + (od * p.out[1] + oh) * ow_n * ys;
          for (int32_t ow = 0; ow < ow_n; ++ow) yr[ow * ys] = q.at(acc[ow], m);
        }
    }
}

}  // namespace tinyc

#endif
