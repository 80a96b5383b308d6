// fully_connected_s8's micro-kernels in plain C (M0+, M3, the host).
#ifndef TINYC_INT8_PLAIN_FULLY_CONNECTED_H
#define TINYC_INT8_PLAIN_FULLY_CONNECTED_H

#include "shared.h"  // dot_tail_s8, requantize_block4_s8

namespace tinyc {

// s_r += x . row r over the 16 values at x, for the R (1 or 4) rows of a packed block's group wb.
template <int R>
TINYC_INLINE void dot16_s8(const int8_t* x, const int8_t* wb, int32_t& s0, int32_t& s1, int32_t& s2, int32_t& s3) {
  for (int32_t i = 0; i < 16; ++i) {
    const int32_t v = x[i];
    s0 += v * wb[i];
    if (R > 1) s1 += v * wb[16 + i], s2 += v * wb[32 + i], s3 += v * wb[48 + i];
  }
}

}  // namespace tinyc

#endif
