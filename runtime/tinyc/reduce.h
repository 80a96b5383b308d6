// Reductions over axes, ArgMax/ArgMin, CumSum, TopK.
#ifndef TINYC_REDUCE_H
#define TINYC_REDUCE_H

#include "tinyc.h"

namespace tinyc {

enum ReduceKind : int32_t {
  kReduceSum = 0, kReduceMean, kReduceMax, kReduceMin, kReduceProd, kReduceL1, kReduceL2,
  kReduceSumSquare, kReduceLogSum, kReduceLogSumExp
};

struct ReduceParams {
  int32_t kind;
  int32_t n_in, n_out;
  int32_t rank;
  int32_t in_dims[kMaxRank];
  int32_t out_strides[1][kMaxRank];  // output stride per input axis; 0 along reduced axes
  TINYC_PARAMS(ReduceParams, kind, n_in, n_out, rank, in_dims, out_strides)
};

// Accumulates in the output element type.
template <class T>
void reduce(const ReduceParams& p, const T* x, T* y) {
  if (p.n_out == 0) return;
  const int32_t count = p.n_in / p.n_out;
  int32_t idx[kMaxRank] = {0};
  int32_t off[1] = {0};
  const int32_t last = p.in_dims[p.rank - 1], s = p.out_strides[0][p.rank - 1];
  int32_t visited = 0;
  do {
    for (int32_t j = 0; j < last; ++j, ++visited) {
      const T v = x[visited];
      T& r = y[off[0] + j * s];
      // The first contribution to r has index 0 along every reduced axis.
      bool first = true;
      for (int32_t a = 0; a < p.rank - 1; ++a)
        if (p.out_strides[0][a] == 0 && idx[a] != 0) first = false;
      if (s == 0 && j != 0) first = false;
      switch (p.kind) {
        case kReduceMax: r = first || v > r ? v : r; break;
        case kReduceMin: r = first || v < r ? v : r; break;
        case kReduceProd: r = first ? v : T(r * v); break;
        case kReduceL1: r = first ? T(std::fabs(double(v))) : T(r + T(std::fabs(double(v)))); break;
        case kReduceL2:
        case kReduceSumSquare: r = first ? T(v * v) : T(r + T(v * v)); break;
        case kReduceLogSumExp: r = first ? T(std::exp(double(v))) : T(r + T(std::exp(double(v)))); break;
        default: r = first ? v : T(r + v); break;
      }
    }
  } while (next_row<1>(p.rank, p.in_dims, idx, p.out_strides, off));
  for (int32_t i = 0; i < p.n_out; ++i) {
    switch (p.kind) {
      case kReduceMean: y[i] = T(double(y[i]) / count); break;
      case kReduceL2: y[i] = T(std::sqrt(double(y[i]))); break;
      case kReduceLogSum:
      case kReduceLogSumExp: y[i] = T(std::log(double(y[i]))); break;
      default: break;
    }
  }
}

struct ArgParams {
  int32_t outer, axis, inner;
  int32_t is_max, select_last;
  TINYC_PARAMS(ArgParams, outer, axis, inner, is_max, select_last)
};

template <class T>
void arg_reduce(const ArgParams& p, const T* x, int64_t* y) {
  for_each_line(p.outer, p.axis, p.inner, [&](int32_t at, int32_t, int32_t) {
    const T* xs = x + at;
    int32_t best = 0;
    for (int32_t a = 1; a < p.axis; ++a) {
      const T v = xs[a * p.inner], b = xs[best * p.inner];
      const bool better = p.is_max ? (v > b || (p.select_last && v == b))
                                   : (v < b || (p.select_last && v == b));
      if (better) best = a;
    }
    *y++ = best;
  });
}

struct CumSumParams {
  int32_t rank;
  int32_t dims[kMaxRank];
  int32_t axis;          // -1: read from input 1 at run time
  int32_t index64_axis;  // input 1 is int64 (else int32)
  int32_t exclusive, reverse;
  TINYC_PARAMS(CumSumParams, rank, dims, axis, index64_axis, exclusive, reverse)
};

template <class T>
void cumsum(const CumSumParams& p, const T* x, const void* axis_input, T* y) {
  int32_t axis = p.axis;
  if (axis < 0) {
    const int64_t a = read_index(axis_input, p.index64_axis, 0);
    axis = static_cast<int32_t>(a < 0 ? a + p.rank : a);
  }
  int32_t outer = 1, inner = 1;
  for (int32_t a = 0; a < p.rank; ++a)
    if (a < axis) outer *= p.dims[a];
    else if (a > axis) inner *= p.dims[a];
  const int32_t len = p.dims[axis];
  for (int32_t o = 0; o < outer; ++o)
    for (int32_t i = 0; i < inner; ++i) {
      T acc = T(0);
      for (int32_t t = 0; t < len; ++t) {
        const int32_t a = p.reverse ? len - 1 - t : t;
        const int32_t at = (o * len + a) * inner + i;
        if (p.exclusive) {
          y[at] = acc;
          acc += x[at];
        } else {
          acc += x[at];
          y[at] = acc;
        }
      }
    }
}

struct TopKParams {
  int32_t outer, axis, inner, k;
  int32_t largest;
  TINYC_PARAMS(TopKParams, outer, axis, inner, k, largest)
};

// Selection by repeated scans (k is small in practice); ties keep the lower index first.
template <class T>
void topk(const TopKParams& p, const T* x, T* values, int64_t* indices) {
  for_each_line(p.outer, p.axis, p.inner, [&](int32_t at, int32_t o, int32_t i) {
    const T* xs = x + at;
    int32_t prev = -1;
    for (int32_t r = 0; r < p.k; ++r) {
      int32_t best = -1;
      for (int32_t a = 0; a < p.axis; ++a) {
        const T v = xs[a * p.inner];
        if (prev >= 0) {  // only elements ranked after the previous pick
          const T pv = xs[prev * p.inner];
          const bool after = p.largest ? (v < pv || (v == pv && a > prev))
                                       : (v > pv || (v == pv && a > prev));
          if (!after) continue;
        }
        if (best < 0) { best = a; continue; }
        const T b = xs[best * p.inner];
        if (p.largest ? v > b : v < b) best = a;
      }
      const int32_t to = (o * p.k + r) * p.inner + i;
      values[to] = xs[best * p.inner];
      if (indices) indices[to] = best;
      prev = best;
    }
  });
}

}  // namespace tinyc

#endif
