// The pooling micro-kernels with the DSP extension (M4, M7, M33): four bytes a word.
#ifndef TINYC_INT8_DSP_POOL_H
#define TINYC_INT8_DSP_POOL_H

#include "../isa.h"

namespace tinyc {

// cols[j] = max(cols[j], x[j]) for j in [0, n): four columns a word (SSUB8 sets a flag per byte,
// SEL keeps the larger).
inline void max_row_s8(const int8_t* x, int8_t* cols, int32_t n) {
  int32_t j = 0;
  for (; j + 4 <= n; j += 4) {
    uint32_t v, m;
    __builtin_memcpy(&v, x + j, 4);
    __builtin_memcpy(&m, cols + j, 4);
    __ssub8(int32_t(v), int32_t(m));  // GE per byte: v >= m
    m = uint32_t(__sel(int32_t(v), int32_t(m)));
    __builtin_memcpy(cols + j, &m, 4);
  }
  for (; j < n; ++j) cols[j] = x[j] > cols[j] ? x[j] : cols[j];
}

// The sum of n int8 values: four per word in two pairs of 16-bit lanes (SXTAB16), emptied into
// the int32 sum every 128 words, before a lane could overflow.
inline int32_t sum_s8(const int8_t* x, int32_t n) {
  int32_t sum = 0, i = 0;
  while (i + 4 <= n) {
    uint32_t even = 0, odd = 0;  // bytes 0 and 2, 1 and 3 of each word
    for (int32_t words = 0; words < 128 && i + 4 <= n; ++words, i += 4) {
      uint32_t u;
      __builtin_memcpy(&u, x + i, 4);
      even = uint32_t(__sxtab16(int32_t(even), int32_t(u)));
      __asm__("sxtab16 %0, %0, %1, ror #8" : "+r"(odd) : "r"(u));
    }
    sum += int16_t(even) + int16_t(even >> 16) + int16_t(odd) + int16_t(odd >> 16);
  }
  for (; i < n; ++i) sum += x[i];
  return sum;
}

}  // namespace tinyc

#endif
