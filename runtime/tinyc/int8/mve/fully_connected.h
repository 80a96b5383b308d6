// fully_connected_s8's micro-kernels with Helium (M55): VMLADAVA on sixteen values a row.
#ifndef TINYC_INT8_MVE_FULLY_CONNECTED_H
#define TINYC_INT8_MVE_FULLY_CONNECTED_H

#include "requant.h"

namespace tinyc {

// acc[r] += x . row r over n values, for the R (1 or 4) rows of a packed block wb. The sums are
// four scalars, not an array: GCC keeps an array in memory across the loop.
template <int R>
inline void dot_block_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t* acc) {
  int32_t s0 = acc[0], s1 = R > 1 ? acc[1] : 0, s2 = R > 1 ? acc[2] : 0, s3 = R > 1 ? acc[3] : 0;
  const int32_t tail = n & 15;
  const int8_t* const end = x + (n - tail);
  for (; x < end; x += 16, wb += 16 * R) {
    const int8x16_t xv = vldrbq_s8(x);
    s0 = vmladavaq_s8(s0, xv, vldrbq_s8(wb));
    if (R > 1) {
      s1 = vmladavaq_s8(s1, xv, vldrbq_s8(wb + 16));
      s2 = vmladavaq_s8(s2, xv, vldrbq_s8(wb + 32));
      s3 = vmladavaq_s8(s3, xv, vldrbq_s8(wb + 48));
    }
  }
  if (tail) {  // lanes past the tail neither load nor add
    const mve_pred16_t live = vctp8q(uint32_t(tail));
    const int8x16_t xv = vldrbq_z_s8(x, live);
    s0 = vmladavaq_p_s8(s0, xv, vldrbq_z_s8(wb, live), live);
    if (R > 1) {
      s1 = vmladavaq_p_s8(s1, xv, vldrbq_z_s8(wb + tail, live), live);
      s2 = vmladavaq_p_s8(s2, xv, vldrbq_z_s8(wb + 2 * tail, live), live);
      s3 = vmladavaq_p_s8(s3, xv, vldrbq_z_s8(wb + 3 * tail, live), live);
    }
  }
  acc[0] = s0;
  if (R > 1) acc[1] = s1, acc[2] = s2, acc[3] = s3;
}

// A block of four rows' sums, requantized as one vector.
constexpr bool kRequantizeBlock4 = true;
template <Rounding R>
inline void requantize_block4_s8(const int32_t* acc, const Requant& q, int32_t m, int8_t* y) {
  vstrbq_s32(y, requantize4<R>(vldrwq_s32(acc), q, m));
}

}  // namespace tinyc

#endif
