// fully_connected_s8's micro-kernels in plain C (M0+, M3, the host).
#ifndef TINYC_INT8_PLAIN_FULLY_CONNECTED_H
#define TINYC_INT8_PLAIN_FULLY_CONNECTED_H

#include "../requant.h"

namespace tinyc {

// acc[r] += x . row r over n values, for the R (1 or 4) rows of a packed block wb. The sums are
// four scalars, not an array: GCC keeps an array in memory across the loop.
template <int R>
inline void dot_block_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t* acc) {
  int32_t s0 = acc[0], s1 = R > 1 ? acc[1] : 0, s2 = R > 1 ? acc[2] : 0, s3 = R > 1 ? acc[3] : 0;
  const int32_t tail = n & 15;
  const int8_t* const end = x + (n - tail);
  for (; x < end; x += 16, wb += 16 * R)
    for (int32_t i = 0; i < 16; ++i) {
      const int32_t v = x[i];
      s0 += v * wb[i];
      if (R > 1) s1 += v * wb[16 + i], s2 += v * wb[32 + i], s3 += v * wb[48 + i];
    }
  for (int32_t k = 0; k < tail; ++k) {
    const int32_t v = x[k];
    s0 += v * wb[k];
    if (R > 1) s1 += v * wb[tail + k], s2 += v * wb[2 * tail + k], s3 += v * wb[3 * tail + k];
  }
  acc[0] = s0;
  if (R > 1) acc[1] = s1, acc[2] = s2, acc[3] = s3;
}

// No vector requantization: the driver requantizes one channel at a time.
constexpr bool kRequantizeBlock4 = false;
template <Rounding R>
void requantize_block4_s8(const int32_t* acc, const Requant& q, int32_t m, int8_t* y);

}  // namespace tinyc

#endif
