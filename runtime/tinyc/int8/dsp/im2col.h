// conv_s8_im2col's micro-kernels with the DSP extension (M4, M7, M33): quads of four pixels
// (quad.h) times rows of weights by SMLAD.
#ifndef TINYC_INT8_DSP_IM2COL_H
#define TINYC_INT8_DSP_IM2COL_H

#include "../quad.h"
#include "../plain/shared.h"

namespace tinyc {

inline void interleave_patch(const int16_t* x, int32_t n, int32_t j, uint32_t* quad) {
  const int32_t n4 = n & ~3;
  for (int32_t k = 0; k < n4; k += 4, x += 4) {  // the words (x0, x1), (x2, x3) -> (x0, x2), (x1, x3)
    uint32_t a, b;
    __builtin_memcpy(&a, x, 4);
    __builtin_memcpy(&b, x + 2, 4);
    quad[2 * k + 2 * j] = low_halves(a, b), quad[2 * k + 2 * j + 1] = high_halves(a, b);
  }
  for (int32_t k = n4; k < n; ++k, ++x) quad[2 * n4 + 4 * (k - n4) + j] = uint32_t(int32_t(*x));
}

// A word (four pixels) per channel, transposed in registers.
TINYC_INLINE void pointwise_quad(const int8_t* x, int32_t cs, int32_t n, int32_t zx, uint32_t* quad) {
  int32_t c = 0;
  const int32_t zz = int32_t(pack16(zx, zx));
  for (; c + 4 <= n; c += 4, x += 4 * cs, quad += 8) {
    uint32_t a, b, d, e;  // channels c, c+1, c+2, c+3; byte j is pixel j
    __builtin_memcpy(&a, x, 4);
    __builtin_memcpy(&b, x + cs, 4);
    __builtin_memcpy(&d, x + 2 * cs, 4);
    __builtin_memcpy(&e, x + 3 * cs, 4);
    // Pixels 0 and 2 (and, rotated, 1 and 3) of each channel, minus the zero point.
    const uint32_t a02 = __ssub16(__sxtb16(int32_t(a)), zz), a13 = __ssub16(sxtb16_ror8(a), zz);
    const uint32_t b02 = __ssub16(__sxtb16(int32_t(b)), zz), b13 = __ssub16(sxtb16_ror8(b), zz);
    const uint32_t d02 = __ssub16(__sxtb16(int32_t(d)), zz), d13 = __ssub16(sxtb16_ror8(d), zz);
    const uint32_t e02 = __ssub16(__sxtb16(int32_t(e)), zz), e13 = __ssub16(sxtb16_ror8(e), zz);
    // Pixel j: (x[c], x[c+2]) and (x[c+1], x[c+3]).
    quad[0] = low_halves(a02, d02), quad[1] = low_halves(b02, e02);
    quad[2] = low_halves(a13, d13), quad[3] = low_halves(b13, e13);
    quad[4] = high_halves(a02, d02), quad[5] = high_halves(b02, e02);
    quad[6] = high_halves(a13, d13), quad[7] = high_halves(b13, e13);
  }
  pointwise_quad_tail(x, cs, c, n, zx, quad);
}

// A word (four channels) per pixel: bytes 0 and 2, and 1 and 3, are the quad's pairs as they are.
inline void pointwise_quad_last(const int8_t* x, int32_t ps, int32_t n, int32_t zx, uint32_t* quad) {
  int32_t c = 0;
  const int32_t zz = int32_t(pack16(zx, zx));
  for (; c + 4 <= n; c += 4)
    for (int32_t j = 0; j < 4; ++j, quad += 2) {
      uint32_t u;
      __builtin_memcpy(&u, x + j * ps + c, 4);
      quad[0] = uint32_t(__ssub16(__sxtb16(int32_t(u)), zz)), quad[1] = uint32_t(__ssub16(sxtb16_ror8(u), zz));
    }
  pointwise_quad_tail(x + c, 1, c, n, zx, quad, ps);
}

// Each load of four weights and its two SXTB16 serve four pixels.
TINYC_INLINE void dot4_s8(const uint32_t* quad, const int8_t* w, int32_t n, int32_t* acc) {
  const int32_t n4 = n & ~3;
  int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
  int32_t k = 0;
  // Four values of w against the quad's words at quad + 8 * G: each load of w and its two SXTB16
  // serve four pixels.
  auto step = [&](auto G) {
    constexpr int g = decltype(G)::value;
    uint32_t u;
    __builtin_memcpy(&u, w + k + 4 * g, 4);
    const int32_t w02 = __sxtb16(int32_t(u)), w13 = sxtb16_ror8(u);
    uint32_t a, b;
    ldrd_s32<8 * g>(quad, a, b);  // GCC would load the eight words one by one
    s0 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s0));
    ldrd_s32<8 * g + 2>(quad, a, b);
    s1 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s1));
    ldrd_s32<8 * g + 4>(quad, a, b);
    s2 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s2));
    ldrd_s32<8 * g + 6>(quad, a, b);
    s3 = __smlad(w13, int32_t(b), __smlad(w02, int32_t(a), s3));
  };
  for (; k + 8 <= n4; k += 8, quad += 16)  // two groups a pass: half the loop's overhead
    step(std::integral_constant<int, 0>()), step(std::integral_constant<int, 1>());
  if (k < n4) step(std::integral_constant<int, 0>()), k += 4, quad += 8;
  for (; k < n4; k += 4, quad += 8) {
  }
  dot4_tail_s8(quad, w, k, n, s0, s1, s2, s3);
  acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3;
}
}  // namespace tinyc

#endif
