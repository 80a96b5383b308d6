// Generators and masks: Range, EyeLike, Trilu, OneHot.
#ifndef TINYC_MISC_H
#define TINYC_MISC_H

#include "tinyc.h"

namespace tinyc {

struct CountParams {
  int32_t n;
  TINYC_PARAMS(CountParams, n)
};

// y[i] = start + i * delta, start and delta read from inputs 0 and 2.
template <class T>
void range(const CountParams& p, const T* start, const T*, const T* delta, T* y) {
  for (int32_t i = 0; i < p.n; ++i) y[i] = T(*start + T(i) * *delta);
}

struct MatrixParams {
  int32_t batch, rows, cols;
  int32_t k;        // diagonal offset
  int32_t upper;    // Trilu: keep upper (else lower) triangle
  TINYC_PARAMS(MatrixParams, batch, rows, cols, k, upper)
};

// Ones on diagonal k, zeros elsewhere.
template <class T>
void eye_like(const MatrixParams& p, const T*, T* y) {
  for (int32_t r = 0; r < p.rows; ++r)
    for (int32_t c = 0; c < p.cols; ++c) *y++ = T(c - r == p.k ? 1 : 0);
}

// Keeps the upper (c - r >= k) or lower (c - r <= k) triangle; k from input 1 when present.
template <class T>
void trilu(const MatrixParams& p, const T* x, const int64_t* diagonal, T* y) {
  const int64_t k = diagonal ? *diagonal : p.k;
  for (int32_t b = 0; b < p.batch; ++b)
    for (int32_t r = 0; r < p.rows; ++r)
      for (int32_t c = 0; c < p.cols; ++c, ++x, ++y) {
        const bool keep = p.upper ? (c - r >= k) : (c - r <= k);
        *y = keep ? *x : T(0);
      }
}

struct OneHotParams {
  int32_t outer, depth, inner;
  int32_t index_type;  // 0 int64, 1 int32, 2 float
  TINYC_PARAMS(OneHotParams, outer, depth, inner, index_type)
};

// y[o, d, i] = values[d == indices[o, i]]; negative indices count from depth.
template <class T>
void one_hot(const OneHotParams& p, const void* indices, const void*, const T* values, T* y) {
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t d = 0; d < p.depth; ++d)
      for (int32_t i = 0; i < p.inner; ++i) {
        const int32_t at = o * p.inner + i;
        int64_t v = p.index_type == 0   ? static_cast<const int64_t*>(indices)[at]
                    : p.index_type == 1 ? static_cast<const int32_t*>(indices)[at]
                                        : int64_t(static_cast<const float*>(indices)[at]);
        if (v < 0) v += p.depth;
        *y++ = values[v == d ? 1 : 0];
      }
}

}  // namespace tinyc

#endif
