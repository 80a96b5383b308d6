// fully_connected_s8's micro-kernels with Helium (M55): VMLADAVA on sixteen values a row.
#ifndef TINYC_INT8_MVE_FULLY_CONNECTED_H
#define TINYC_INT8_MVE_FULLY_CONNECTED_H

#include "requant.h"

namespace tinyc {

// s_r += x . row r over the 16 values at x, for the R (1 or 4) rows of a packed block's group wb.
template <int R>
TINYC_INLINE void dot16_s8(const int8_t* x, const int8_t* wb, int32_t& s0, int32_t& s1, int32_t& s2, int32_t& s3) {
  const int8x16_t xv = vldrbq_s8(x);
  s0 = vmladavaq_s8(s0, xv, vldrbq_s8(wb));
  if (R > 1) {
    s1 = vmladavaq_s8(s1, xv, vldrbq_s8(wb + 16));
    s2 = vmladavaq_s8(s2, xv, vldrbq_s8(wb + 32));
    s3 = vmladavaq_s8(s3, xv, vldrbq_s8(wb + 48));
  }
}

// s_r += x . row r over the last n (< 16) values of R rows, stored one after another at wb: lanes
// past the tail neither load nor add.
template <int R>
TINYC_INLINE void dot_tail_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t& s0, int32_t& s1, int32_t& s2,
                              int32_t& s3) {
  if (n) {
    const mve_pred16_t live = vctp8q(uint32_t(n));
    const int8x16_t xv = vldrbq_z_s8(x, live);
    s0 = vmladavaq_p_s8(s0, xv, vldrbq_z_s8(wb, live), live);
    if (R > 1) {
      s1 = vmladavaq_p_s8(s1, xv, vldrbq_z_s8(wb + n, live), live);
      s2 = vmladavaq_p_s8(s2, xv, vldrbq_z_s8(wb + 2 * n, live), live);
      s3 = vmladavaq_p_s8(s3, xv, vldrbq_z_s8(wb + 3 * n, live), live);
    }
  }
}

// A block of four rows' sums, requantized as one vector.
constexpr bool kRequantizeBlock4 = true;
template <Rounding R>
inline void requantize_block4_s8(const int32_t* acc, const Requant& q, int32_t m, int8_t* y) {
  vstrbq_s32(y, requantize4<R>(vldrwq_s32(acc), q, m));
}

}  // namespace tinyc

#endif
