// conv_s8_im2col's micro-kernels in plain C (M0+, M3, the host): quads of four pixels (quad.h).
#ifndef TINYC_INT8_PLAIN_IM2COL_H
#define TINYC_INT8_PLAIN_IM2COL_H

#include "../quad.h"
#include "shared.h"

namespace tinyc {

inline void interleave_patch(const int16_t* x, int32_t n, int32_t j, uint32_t* quad) {
  const int32_t n4 = n & ~3;
  for (int32_t k = 0; k < n4; k += 4, x += 4) quad[2 * k + 2 * j] = pack16(x[0], x[2]), quad[2 * k + 2 * j + 1] = pack16(x[1], x[3]);
  for (int32_t k = n4; k < n; ++k, ++x) quad[2 * n4 + 4 * (k - n4) + j] = uint32_t(int32_t(*x));
}

TINYC_INLINE void pointwise_quad(const int8_t* x, int32_t cs, int32_t n, int32_t zx, uint32_t* quad) {
  int32_t c = 0;
  for (; c + 4 <= n; c += 4, x += 4 * cs)
    for (int32_t j = 0; j < 4; ++j, quad += 2) {
      quad[0] = pack16(x[j] - zx, x[2 * cs + j] - zx);
      quad[1] = pack16(x[cs + j] - zx, x[3 * cs + j] - zx);
    }
  pointwise_quad_tail(x, cs, c, n, zx, quad);
}

inline void pointwise_quad_last(const int8_t* x, int32_t ps, int32_t n, int32_t zx, uint32_t* quad) {
  int32_t c = 0;
  for (; c + 4 <= n; c += 4)
    for (int32_t j = 0; j < 4; ++j, quad += 2) {
      const int8_t* xp = x + j * ps + c;
      quad[0] = pack16(xp[0] - zx, xp[2] - zx), quad[1] = pack16(xp[1] - zx, xp[3] - zx);
    }
  pointwise_quad_tail(x + c, 1, c, n, zx, quad, ps);
}

inline void dot4_s8(const uint32_t* quad, const int8_t* w, int32_t n, int32_t* acc) {
  const int32_t n4 = n & ~3;
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  int32_t k = 0;
  for (; k < n4; k += 4, quad += 8) {
    auto dot = [&](uint32_t x02, uint32_t x13) {
      return int16_t(x02) * w[k] + int16_t(x02 >> 16) * w[k + 2] + int16_t(x13) * w[k + 1] + int16_t(x13 >> 16) * w[k + 3];
    };
    s0 += dot(quad[0], quad[1]), s1 += dot(quad[2], quad[3]), s2 += dot(quad[4], quad[5]), s3 += dot(quad[6], quad[7]);
  }
  dot4_tail_s8(quad, w, k, n, s0, s1, s2, s3);
  acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3;
}
}  // namespace tinyc

#endif
