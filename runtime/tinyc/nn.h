// Float reference kernels for the layers of neural networks: convolution, pooling, matrix
// products and normalization. Layout NCHW as in ONNX; 1-D and 2-D convolutions use the 3-D kernel
// with unit leading spatial axes.
#ifndef TINYC_NN_H
#define TINYC_NN_H

#include "elementwise.h"
#include "tinyc.h"

namespace tinyc {

enum Activation : int32_t { kActNone = 0, kActRelu = 1, kActClip = 2, kActLeakyRelu = 3 };

// Activation fused into a producing layer (lo/hi for Clip, alpha for LeakyRelu).
template <class T>
inline T activate(T v, int32_t act, float a, float b) {
  switch (act) {
    case kActRelu: return v > T(0) ? v : T(0);
    case kActClip: return v < T(a) ? T(a) : (v > T(b) ? T(b) : v);
    case kActLeakyRelu: return v < T(0) ? T(v * T(a)) : v;
    default: return v;
  }
}

// y = activation(a + b): a residual Add with the activation that follows it, in one pass.
struct AddActParams {
  BroadcastParams shape;
  int32_t act;
  float act_a, act_b;
  TINYC_PARAMS(AddActParams, shape, act, act_a, act_b)
};

template <class T>
void add_act(const AddActParams& p, const T* a, const T* b, T* y) {
  const BroadcastParams& s = p.shape;
  if (s.n == 0) return;
  int32_t idx[kMaxRank] = {0};
  int32_t off[3] = {0, 0, 0};
  const int32_t last = s.dims[s.rank - 1], sa = s.strides[0][s.rank - 1], sb = s.strides[1][s.rank - 1];
  do {
    for (int32_t j = 0; j < last; ++j) *y++ = activate(T(a[off[0] + j * sa] + b[off[1] + j * sb]), p.act, p.act_a, p.act_b);
  } while (next_row<3>(s.rank, s.dims, idx, s.strides, off));
}

struct ConvParams {
  int32_t batch, in_ch, out_ch, groups;
  int32_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3];  // spatial (D, H, W)
  int32_t act;
  float act_a, act_b;
  int32_t channels_last;  // the input is [N, D, H, W, C] (a layout transpose folded in); y stays NCHW
  TINYC_PARAMS(ConvParams, batch, in_ch, out_ch, groups, in, out, kernel, stride, dilation, pad, act, act_a,
               act_b, channels_last)
};

// Whether a convolution is pointwise: 1x1 kernel, unit stride, no padding, one group (for the
// float and the int8 params alike).
template <class P>
inline bool is_pointwise(const P& p) {
  return p.groups == 1 && p.kernel[0] * p.kernel[1] * p.kernel[2] == 1 && p.stride[0] == 1 && p.stride[1] == 1 &&
         p.stride[2] == 1 && p.pad[0] == 0 && p.pad[1] == 0 && p.pad[2] == 0;
}

// y[n,m,o] = b[m] + sum_{c in group, k} x[n,c,o*stride+k*dilation-pad] * w[m,c,k], the sum taken
// in the same order (bias, then c, kd, kh, kw) by both paths:
// - pointwise: one pixel at a time, its channels gathered into scratch (in_ch values), then a
//   matrix-vector product. It reads a pixel before writing it, so y may be x.
// - otherwise weight-stationary: each weight is multiplied into a whole output row, over the range
//   of output columns whose input column lies inside the image, so the inner loop has no bounds
//   checks. The input may be channels-last. y may be x for a depthwise convolution (groups = in_ch = out_ch, output no larger than
//   the input): each input plane is copied into scratch before its output overwrites it.
template <class T>
void conv(const ConvParams& p, const T* x, const T* w, const T* bias, T* y, Scratch buffer) {
  T* scratch = static_cast<T*>(buffer.data);
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const int32_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  // Element strides of a channel and of a column of the input.
  const int32_t cs = p.channels_last ? 1 : in_size, ws = p.channels_last ? p.in_ch : 1;
  const int32_t sw = p.stride[2] * ws;
  if (is_pointwise(p)) {
    for (int32_t n = 0; n < p.batch; ++n)
      for (int32_t i = 0; i < in_size; ++i) {
        for (int32_t c = 0; c < p.in_ch; ++c) scratch[c] = x[n * p.in_ch * in_size + c * cs + i * ws];
        for (int32_t m = 0; m < p.out_ch; ++m) {
          const T* wm = w + m * p.in_ch;
          T acc = bias ? bias[m] : T(0);
          for (int32_t c = 0; c < p.in_ch; ++c) acc += wm[c] * scratch[c];
          y[(n * p.out_ch + m) * in_size + i] = activate(acc, p.act, p.act_a, p.act_b);
        }
      }
    return;
  }
  const bool in_place = static_cast<const void*>(x) == static_cast<const void*>(y);
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t m = 0; m < p.out_ch; ++m) {
      const int32_t g = m / mg;
      T* ym = y + (n * p.out_ch + m) * out_size;
      if (in_place)
        for (int32_t i = 0; i < in_size; ++i) scratch[i] = x[(n * p.in_ch + m) * in_size + i];
      const T b = bias ? bias[m] : T(0);
      for (int32_t i = 0; i < out_size; ++i) ym[i] = b;
      for (int32_t c = 0; c < cg; ++c) {
        const T* xc = in_place ? scratch : x + n * p.in_ch * in_size + (g * cg + c) * cs;
        const T* wc = w + (m * cg + c) * ksize;
        for (int32_t od = 0; od < p.out[0]; ++od)
          for (int32_t oh = 0; oh < p.out[1]; ++oh) {
            T* yr = ym + (od * p.out[1] + oh) * p.out[2];
            window_rows(p, p.in, od, oh, [&](int32_t row, int32_t krow) {
              for (int32_t kw = 0; kw < p.kernel[2]; ++kw) {
                const int32_t shift = kw * p.dilation[2] - p.pad[2];  // input column ow * stride + shift
                const Columns cols = inside_columns(shift, p.stride[2], p.in[2], p.out[2]);
                const T* xr = xc + (row * p.in[2] + shift) * ws;
                const T wv = wc[krow * p.kernel[2] + kw];
                for (int32_t ow = cols.lo; ow < cols.hi; ++ow) yr[ow] += wv * xr[ow * sw];
              }
            });
          }
      }
      if (p.act != kActNone)
        for (int32_t i = 0; i < out_size; ++i) ym[i] = activate(ym[i], p.act, p.act_a, p.act_b);
    }
}

// Transposed convolution: every input element scatters kernel * value into the output.
// Weights are [in_ch, out_ch / groups, k...]; pad is the begin padding cropped from the output.
template <class T>
void conv_transpose(const ConvParams& p, const T* x, const T* w, const T* bias, T* y) {
  const int32_t cg = p.in_ch / p.groups, mg = p.out_ch / p.groups;
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2], out_size = p.out[0] * p.out[1] * p.out[2];
  const int32_t ksize = p.kernel[0] * p.kernel[1] * p.kernel[2];
  for (int32_t n = 0; n < p.batch; ++n) {
    T* yn = y + n * p.out_ch * out_size;
    for (int32_t m = 0; m < p.out_ch; ++m)
      for (int32_t i = 0; i < out_size; ++i) yn[m * out_size + i] = bias ? bias[m] : T(0);
    for (int32_t c = 0; c < p.in_ch; ++c) {
      const int32_t g = c / cg;
      const T* xc = x + (n * p.in_ch + c) * in_size;
      for (int32_t id = 0; id < p.in[0]; ++id)
        for (int32_t ih = 0; ih < p.in[1]; ++ih)
          for (int32_t iw = 0; iw < p.in[2]; ++iw) {
            const T v = xc[(id * p.in[1] + ih) * p.in[2] + iw];
            for (int32_t mm = 0; mm < mg; ++mm) {
              const int32_t m = g * mg + mm;
              const T* wk = w + (c * mg + mm) * ksize;
              T* ym = yn + m * out_size;
              window_rows(p, p.out, id, ih, [&](int32_t row, int32_t krow) {  // the output rows it reaches
                for (int32_t kw = 0; kw < p.kernel[2]; ++kw) {
                  const int32_t ow = iw * p.stride[2] + kw * p.dilation[2] - p.pad[2];
                  if (ow >= 0 && ow < p.out[2]) ym[row * p.out[2] + ow] += v * wk[krow * p.kernel[2] + kw];
                }
              });
            }
          }
    }
    if (p.act != kActNone)
      for (int32_t i = 0; i < p.out_ch * out_size; ++i) yn[i] = activate(yn[i], p.act, p.act_a, p.act_b);
  }
}

enum PoolKind : int32_t { kPoolMax = 0, kPoolAvg = 1, kPoolLp = 2 };

struct PoolParams {
  int32_t kind;
  int32_t planes;  // batch * channels
  int32_t in[3], out[3], kernel[3], stride[3], dilation[3], pad[3], pad_end[3];
  int32_t count_include_pad;
  float p;  // Lp norm order
  TINYC_PARAMS(PoolParams, kind, planes, in, out, kernel, stride, dilation, pad, pad_end, count_include_pad, p)
};

// Max, average or Lp pooling. Average divides by the window clipped to the padded input
// (count_include_pad) or to the input.
template <class T>
void pool(const PoolParams& p, const T* x, T* y) {
  const int32_t in_size = p.in[0] * p.in[1] * p.in[2];
  for (int32_t c = 0; c < p.planes; ++c, x += in_size)
    for (int32_t od = 0; od < p.out[0]; ++od)
      for (int32_t oh = 0; oh < p.out[1]; ++oh)
        for (int32_t ow = 0; ow < p.out[2]; ++ow) {
          const int32_t o[3] = {od, oh, ow};
          int32_t lo[3], hi[3], count_pad = 1;
          for (int a = 0; a < 3; ++a) {
            lo[a] = o[a] * p.stride[a] - p.pad[a];
            hi[a] = lo[a] + (p.kernel[a] - 1) * p.dilation[a] + 1;
            const int32_t end = p.in[a] + p.pad_end[a];  // end of the padded input
            count_pad *= ((hi[a] < end ? hi[a] : end) - lo[a] + p.dilation[a] - 1) / p.dilation[a];
          }
          T best = T(0);
          double sum = 0;
          int32_t count = 0;
          for (int32_t id = lo[0]; id < hi[0]; id += p.dilation[0]) {
            if (id < 0 || id >= p.in[0]) continue;
            for (int32_t ih = lo[1]; ih < hi[1]; ih += p.dilation[1]) {
              if (ih < 0 || ih >= p.in[1]) continue;
              for (int32_t iw = lo[2]; iw < hi[2]; iw += p.dilation[2]) {
                if (iw < 0 || iw >= p.in[2]) continue;
                const T v = x[(id * p.in[1] + ih) * p.in[2] + iw];
                if (count == 0 || v > best) best = v;
                if (p.kind == kPoolAvg) sum += v;
                if (p.kind == kPoolLp) sum += std::pow(std::fabs(double(v)), double(p.p));
                ++count;
              }
            }
          }
          if (p.kind == kPoolMax) *y++ = best;
          else if (p.kind == kPoolAvg) *y++ = T(sum / (p.count_include_pad ? count_pad : count));
          else *y++ = T(std::pow(sum, 1.0 / p.p));
        }
}

struct GemmParams {
  int32_t m, k, n;
  int32_t trans_a, trans_b;
  float alpha, beta;
  int32_t c_stride_m, c_stride_n;  // broadcast strides of C (0 along broadcast axes)
  int32_t act;
  float act_a, act_b;
  TINYC_PARAMS(GemmParams, m, k, n, trans_a, trans_b, alpha, beta, c_stride_m, c_stride_n, act, act_a, act_b)
};

// Y = alpha * op(A) op(B) + beta * C, then the fused activation. Every sum runs over k in order.
// Y must not overlap A, B or C (the planner never lets a node's output share its inputs' bytes).
template <class T>
void gemm(const GemmParams& p, const T* a, const T* b, const T* c, T* y) {
  const int32_t sam = p.trans_a ? 1 : p.k, sak = p.trans_a ? p.m : 1;
  const int32_t sbk = p.trans_b ? 1 : p.n, sbn = p.trans_b ? p.k : 1;
  if (sbn == 1) {  // B is [K, N]: accumulate whole output rows, B read row by row
    for (int32_t i = 0; i < p.m; ++i) {
      T* yr = y + i * p.n;
      for (int32_t j = 0; j < p.n; ++j) yr[j] = T(0);
      for (int32_t l = 0; l < p.k; ++l) {
        const T av = a[i * sam + l * sak];
        const T* br = b + l * sbk;
        for (int32_t j = 0; j < p.n; ++j) yr[j] += av * br[j];
      }
      for (int32_t j = 0; j < p.n; ++j) {
        T v = p.alpha == 1.0f ? yr[j] : T(T(p.alpha) * yr[j]);
        if (c) v += p.beta == 1.0f ? c[i * p.c_stride_m + j * p.c_stride_n]
                                   : T(T(p.beta) * c[i * p.c_stride_m + j * p.c_stride_n]);
        yr[j] = activate(v, p.act, p.act_a, p.act_b);
      }
    }
    return;
  }
  for (int32_t i = 0; i < p.m; ++i)
    for (int32_t j = 0; j < p.n; ++j) {
      const T* ar = a + i * sam;
      const T* bc = b + j * sbn;
      T acc = T(0);
      if (sak == 1 && sbk == 1) {  // both rows contiguous: the common [M,K] x [N,K]^T case
        for (int32_t l = 0; l < p.k; ++l) acc += ar[l] * bc[l];
      } else {
        for (int32_t l = 0; l < p.k; ++l) acc += ar[l * sak] * bc[l * sbk];
      }
      T v = p.alpha == 1.0f ? acc : T(T(p.alpha) * acc);
      if (c) v += p.beta == 1.0f ? c[i * p.c_stride_m + j * p.c_stride_n]
                                 : T(T(p.beta) * c[i * p.c_stride_m + j * p.c_stride_n]);
      y[i * p.n + j] = activate(v, p.act, p.act_a, p.act_b);
    }
}

struct MatMulParams {
  int32_t m, k, n;
  int32_t batch_rank;                  // >= 1
  int32_t batch[kMaxRank];             // broadcast batch shape
  int32_t strides[2][kMaxRank];        // batch strides of A and B in elements (0 = broadcast)
  TINYC_PARAMS(MatMulParams, m, k, n, batch_rank, batch, strides)
};

// Batched, broadcasting matrix product; A is [.., m, k], B is [.., k, n].
template <class T>
void matmul(const MatMulParams& p, const T* a, const T* b, T* y) {
  int32_t idx[kMaxRank] = {0};
  int32_t off[2] = {0, 0};
  // next_row walks all but the last batch axis; handle the last one here.
  const int32_t last = p.batch[p.batch_rank - 1];
  const int32_t sa = p.strides[0][p.batch_rank - 1], sb = p.strides[1][p.batch_rank - 1];
  do {
    for (int32_t t = 0; t < last; ++t) {
      const T* at = a + off[0] + t * sa;
      const T* bt = b + off[1] + t * sb;
      for (int32_t i = 0; i < p.m; ++i)
        for (int32_t j = 0; j < p.n; ++j) {
          T acc = T(0);
          for (int32_t l = 0; l < p.k; ++l) acc += at[i * p.k + l] * bt[l * p.n + j];
          *y++ = acc;
        }
    }
  } while (next_row<2>(p.batch_rank, p.batch, idx, p.strides, off));
}

struct NormParams {
  int32_t outer, channels, inner;  // x viewed as [outer, channels, inner]
  float epsilon;
  TINYC_PARAMS(NormParams, outer, channels, inner, epsilon)
};

// Inference batch normalization: y = (x - mean) / sqrt(var + eps) * scale + bias per channel.
template <class T>
void batch_norm(const NormParams& p, const T* x, const T* scale, const T* bias, const T* mean, const T* var, T* y) {
  for_each_channel(p.outer, p.channels, [&](int32_t c) {
    const T s = scale[c] / std::sqrt(var[c] + T(p.epsilon));
    const T t = bias[c] - mean[c] * s;
    for (int32_t i = 0; i < p.inner; ++i, ++x) *y++ = *x * s + t;
  });
}

// The mean and (biased) variance of n values, in double.
struct Moments {
  double mean, var;
};
template <class T>
Moments moments(const T* x, int32_t n) {
  double mean = 0, var = 0;
  for (int32_t i = 0; i < n; ++i) mean += x[i];
  mean /= n;
  for (int32_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  return {mean, var / n};
}

// Instance normalization: per (n, c) plane statistics, per-channel scale and bias.
template <class T>
void instance_norm(const NormParams& p, const T* x, const T* scale, const T* bias, T* y) {
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t c = 0; c < p.channels; ++c, x += p.inner, y += p.inner) {
      const Moments m = moments(x, p.inner);
      const double s = scale[c] / std::sqrt(m.var + p.epsilon);
      for (int32_t i = 0; i < p.inner; ++i) y[i] = T((x[i] - m.mean) * s + bias[c]);
    }
}

// Layer normalization over the trailing `inner` elements (channels = 1); scale and bias are
// broadcast over outer rows. Optional outputs 1 and 2 get the mean and 1/stddev.
template <class T>
void layer_norm(const NormParams& p, const T* x, const T* scale, const T* bias, T* y, float* mean_out,
                float* inv_std_out) {
  for (int32_t o = 0; o < p.outer; ++o, x += p.inner, y += p.inner) {
    const Moments m = moments(x, p.inner);
    const double inv = 1.0 / std::sqrt(m.var + p.epsilon);
    for (int32_t i = 0; i < p.inner; ++i) y[i] = T((x[i] - m.mean) * inv * scale[i] + (bias ? bias[i] : T(0)));
    if (mean_out) mean_out[o] = float(m.mean);
    if (inv_std_out) inv_std_out[o] = float(inv);
  }
}

enum SoftmaxKind : int32_t { kSoftmax = 0, kLogSoftmax = 1, kHardmax = 2 };

struct SoftmaxParams {
  int32_t kind;
  int32_t outer, axis, inner;  // x viewed as [outer, axis, inner]; normalized along axis
  TINYC_PARAMS(SoftmaxParams, kind, outer, axis, inner)
};

template <class T>
void softmax(const SoftmaxParams& p, const T* x, T* y) {
  for_each_line(p.outer, p.axis, p.inner, [&](int32_t at, int32_t, int32_t) {
    const T* xs = x + at;
    T* ys = y + at;
    T mx = xs[0];
    int32_t arg = 0;
    for (int32_t a = 1; a < p.axis; ++a)
      if (xs[a * p.inner] > mx) mx = xs[a * p.inner], arg = a;
    if (p.kind == kHardmax) {
      for (int32_t a = 0; a < p.axis; ++a) ys[a * p.inner] = T(a == arg ? 1 : 0);
      return;
    }
    T sum = T(0);
    for (int32_t a = 0; a < p.axis; ++a) {
      const T e = std::exp(xs[a * p.inner] - mx);
      sum += e;
      if (p.kind == kSoftmax) ys[a * p.inner] = e;
    }
    if (p.kind == kSoftmax) {
      const T inv = T(1) / sum;
      for (int32_t a = 0; a < p.axis; ++a) ys[a * p.inner] *= inv;
    } else {
      const T ls = std::log(sum);
      for (int32_t a = 0; a < p.axis; ++a) ys[a * p.inner] = xs[a * p.inner] - mx - ls;
    }
  });
}

struct LrnParams {
  int32_t batch, channels, inner, size;
  float alpha, beta, bias;
  TINYC_PARAMS(LrnParams, batch, channels, inner, size, alpha, beta, bias)
};

template <class T>
void lrn(const LrnParams& p, const T* x, T* y) {
  const int32_t lo_off = (p.size - 1) / 2, hi_off = p.size / 2;
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t c = 0; c < p.channels; ++c)
      for (int32_t i = 0; i < p.inner; ++i) {
        double sq = 0;
        for (int32_t k = c - lo_off; k <= c + hi_off; ++k)
          if (k >= 0 && k < p.channels) {
            const double v = x[(n * p.channels + k) * p.inner + i];
            sq += v * v;
          }
        const int32_t at = (n * p.channels + c) * p.inner + i;
        y[at] = T(x[at] / std::pow(p.bias + p.alpha / p.size * sq, double(p.beta)));
      }
}

}  // namespace tinyc

#endif
