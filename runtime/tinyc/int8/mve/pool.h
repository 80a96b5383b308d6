// The pooling micro-kernels with Helium (M55): sixteen bytes a vector, the last ones predicated.
#ifndef TINYC_INT8_MVE_POOL_H
#define TINYC_INT8_MVE_POOL_H

#include "../isa.h"

namespace tinyc {

// cols[j] = max(cols[j], x[j]) for j in [0, n).
inline void max_row_s8(const int8_t* x, int8_t* cols, int32_t n) {
  for (int32_t j = 0; j < n; j += 16) {
    const mve_pred16_t live = vctp8q(uint32_t(n - j));
    vstrbq_p_s8(cols + j, vmaxq_s8(vldrbq_z_s8(x + j, live), vldrbq_z_s8(cols + j, live)), live);
  }
}

// The sum of n int8 values: VADDVA, sixteen values into the int32 sum.
inline int32_t sum_s8(const int8_t* x, int32_t n) {
  int32_t sum = 0;
  for (int32_t i = 0; i < n; i += 16) {
    const mve_pred16_t live = vctp8q(uint32_t(n - i));
    sum = vaddvaq_p_s8(sum, vldrbq_z_s8(x + i, live), live);
  }
  return sum;
}

}  // namespace tinyc

#endif
