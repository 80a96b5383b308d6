// The pooling micro-kernels in plain C (M0+, M3, the host).
#ifndef TINYC_INT8_PLAIN_POOL_H
#define TINYC_INT8_PLAIN_POOL_H

#include <stdint.h>

namespace tinyc {

// cols[j] = max(cols[j], x[j]) for j in [0, n).
inline void max_row_s8(const int8_t* x, int8_t* cols, int32_t n) {
  for (int32_t j = 0; j < n; ++j) cols[j] = x[j] > cols[j] ? x[j] : cols[j];
}

// The sum of n int8 values.
inline int32_t sum_s8(const int8_t* x, int32_t n) {
  int32_t sum = 0;
  for (int32_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

}  // namespace tinyc

#endif
