// fully_connected_s8's micro-kernels with the DSP extension (M4, M7, M33): SMLAD on SXTB16 pairs.
#ifndef TINYC_INT8_DSP_FULLY_CONNECTED_H
#define TINYC_INT8_DSP_FULLY_CONNECTED_H

#include "../plain/shared.h"  // dot_tail_s8, requantize_block4_s8

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

// s_r += x . row r over the 16 values at x, for the R (1 or 4) rows of a packed block's group wb.
template <int R>
TINYC_INLINE void dot16_s8(const int8_t* x, const int8_t* wb, int32_t& s0, int32_t& s1, int32_t& s2, int32_t& s3) {
  if (R > 1) {
#pragma GCC unroll 4
    for (int32_t i = 0; i < 16; i += 4) dot4_word_s8(x + i, wb + i, s0, s1, s2, s3);
    return;
  }
  for (int32_t i = 0; i < 16; i += 4) {
    uint32_t u, v;
    __builtin_memcpy(&u, x + i, 4);
    __builtin_memcpy(&v, wb + i, 4);
    s0 = __smlad(sxtb16_ror8(v), sxtb16_ror8(u), __smlad(__sxtb16(int32_t(v)), __sxtb16(int32_t(u)), s0));
  }
}

}  // namespace tinyc

#endif
