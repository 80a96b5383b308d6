// fully_connected_s8's micro-kernels with the DSP extension (M4, M7, M33): SMLAD on SXTB16 pairs.
#ifndef TINYC_INT8_DSP_FULLY_CONNECTED_H
#define TINYC_INT8_DSP_FULLY_CONNECTED_H

#include "../requant.h"

namespace tinyc {

// s0..s3 += the word of x at x . the words at w, w + 16, w + 32, w + 48 (four rows of a packed
// block): one load of x and its two SXTB16 serve four rows. In one asm statement, because in C
// GCC hoists the loads of the next words and spills the sums.
static inline void dot4_word_s8(const int8_t* x, const int8_t* w, int32_t& s0, int32_t& s1, int32_t& s2, int32_t& s3) {
  uint32_t u, x02, x13, v, t;
  __asm__(
      "ldr %[u], %[x]\n\t"
      "sxtb16 %[x02], %[u]\n\t"
      "sxtb16 %[x13], %[u], ror #8\n\t"
      "ldr %[v], %[w0]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s0], %[t], %[x02], %[s0]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s0], %[t], %[x13], %[s0]\n\t"
      "ldr %[v], %[w1]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s1], %[t], %[x02], %[s1]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s1], %[t], %[x13], %[s1]\n\t"
      "ldr %[v], %[w2]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s2], %[t], %[x02], %[s2]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s2], %[t], %[x13], %[s2]\n\t"
      "ldr %[v], %[w3]\n\t"
      "sxtb16 %[t], %[v]\n\t"
      "smlad %[s3], %[t], %[x02], %[s3]\n\t"
      "sxtb16 %[t], %[v], ror #8\n\t"
      "smlad %[s3], %[t], %[x13], %[s3]"
      : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [u] "=&r"(u), [x02] "=&r"(x02),
        [x13] "=&r"(x13), [v] "=&r"(v), [t] "=&r"(t)
      : [x] "m"(*reinterpret_cast<const uint32_t*>(x)), [w0] "m"(*reinterpret_cast<const uint32_t*>(w)),
        [w1] "m"(*reinterpret_cast<const uint32_t*>(w + 16)), [w2] "m"(*reinterpret_cast<const uint32_t*>(w + 32)),
        [w3] "m"(*reinterpret_cast<const uint32_t*>(w + 48)));
}

// acc[r] += x . row r over n values, for the R (1 or 4) rows of a packed block wb. The sums are
// four scalars, not an array: GCC keeps an array in memory across the loop.
template <int R>
inline void dot_block_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t* acc) {
  int32_t s0 = acc[0], s1 = R > 1 ? acc[1] : 0, s2 = R > 1 ? acc[2] : 0, s3 = R > 1 ? acc[3] : 0;
  const int32_t tail = n & 15;
  const int8_t* const end = x + (n - tail);
  for (; x < end; x += 16, wb += 16 * R) {
    if (R > 1) {
#pragma GCC unroll 4
      for (int32_t i = 0; i < 16; i += 4) dot4_word_s8(x + i, wb + i, s0, s1, s2, s3);
      continue;
    }
    for (int32_t i = 0; i < 16; i += 4) {
      uint32_t u, v;
      __builtin_memcpy(&u, x + i, 4);
      __builtin_memcpy(&v, wb + i, 4);
      s0 = __smlad(sxtb16_ror8(v), sxtb16_ror8(u), __smlad(__sxtb16(int32_t(v)), __sxtb16(int32_t(u)), s0));
    }
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
