// What the plain-C micro-kernels share with the DSP ones: the scalar tails past the last whole
// group of 16 values (fully_connected) or 4 (quads), and no vector requantization.
#ifndef TINYC_INT8_PLAIN_SHARED_H
#define TINYC_INT8_PLAIN_SHARED_H

#include "../requant.h"

namespace tinyc {

// s_r += x . row r over the last n values of R (1 or 4) rows, stored one after another at wb.
template <int R>
inline void dot_tail_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t& s0, int32_t& s1, int32_t& s2,
                        int32_t& s3) {
  for (int32_t k = 0; k < n; ++k) {
    const int32_t v = x[k];
    s0 += v * wb[k];
    if (R > 1) s1 += v * wb[n + k], s2 += v * wb[2 * n + k], s3 += v * wb[3 * n + k];
  }
}

// s_j += patch j . w over values k to n of a quad, one word per pixel past its whole groups.
TINYC_INLINE void dot4_tail_s8(const uint32_t* quad, const int8_t* w, int32_t k, int32_t n, int32_t& s0, int32_t& s1,
                               int32_t& s2, int32_t& s3) {
  for (; k < n; ++k, quad += 4) {
    s0 += int32_t(quad[0]) * w[k], s1 += int32_t(quad[1]) * w[k];
    s2 += int32_t(quad[2]) * w[k], s3 += int32_t(quad[3]) * w[k];
  }
}

// pointwise_quad's channels c to n, one word per pixel (pixels ps apart).
TINYC_INLINE void pointwise_quad_tail(const int8_t* x, int32_t cs, int32_t c, int32_t n, int32_t zx, uint32_t* quad,
                                      int32_t ps = 1) {
  for (; c < n; ++c, x += cs)
    for (int32_t j = 0; j < 4; ++j) *quad++ = uint32_t(int32_t(x[j * ps]) - zx);
}

// No vector requantization: fully_connected_s8 requantizes one channel at a time.
constexpr bool kRequantizeBlock4 = false;
template <Rounding R>
void requantize_block4_s8(const int32_t* acc, const Requant& q, int32_t m, int8_t* y);

}  // namespace tinyc

#endif
