// fully_connected_s8 and the compile-time packing of its weights.
#ifndef TINYC_INT8_FULLY_CONNECTED_H
#define TINYC_INT8_FULLY_CONNECTED_H

#include "int8_requant.h"

namespace tinyc {

struct FullyConnectedS8Params {
  int32_t rows, depth, units;  // x [rows, depth], w [units, depth]
  int32_t output_zero_point;
  int32_t act_min, act_max;
  int32_t float_requant;  // as in ConvS8Params
  int32_t bias16;
  TINYC_PARAMS(FullyConnectedS8Params, rows, depth, units, output_zero_point, act_min, act_max, float_requant, bias16)
};

// The order fully_connected_s8 reads its weights in, made at compile time: the units in blocks of
// four rows (the last units % 4 in blocks of one); in a block, for each group of 16 values of x,
// the 16 weights of each row in turn, then the depth % 16 last weights of each row. Each row's
// weights for a group are one vector (MVE) or four words at fixed offsets from one pointer (DSP).
// A block of one row is that row as it was.
// T: int8_t, or an index type, which shows where each weight went (--emit-onnx undoes the order).
template <class T>
void pack_fully_connected_s8(const T* w, int32_t units, int32_t depth, T* packed) {
  const int32_t groups = depth / 16, tail = depth % 16;
  for (int32_t u = 0; u < units;) {
    const int32_t rows = units - u >= 4 ? 4 : 1;
    for (int32_t g = 0; g < groups; ++g)
      for (int32_t r = 0; r < rows; ++r)
        for (int32_t k = 0; k < 16; ++k) *packed++ = w[(u + r) * depth + 16 * g + k];
    for (int32_t r = 0; r < rows; ++r)
      for (int32_t k = 0; k < tail; ++k) *packed++ = w[(u + r) * depth + 16 * groups + k];
    u += rows;
  }
}

// The bias fully_connected_s8 takes: the input's zero point is a constant term, -zx * sum of the
// row's weights, folded in at compile time, so the kernel multiplies x as it is.
inline int64_t fold_input_zero_point(int64_t bias, const int8_t* row, int32_t depth, int32_t zx) {
  int64_t sum = 0;
  for (int32_t k = 0; k < depth; ++k) sum += row[k];
  return bias - int64_t(zx) * sum;
}

#if defined(__ARM_FEATURE_SIMD32) && !defined(__ARM_FEATURE_MVE)
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
#endif

// acc[r] += x . row r over n values, for the R (1 or 4) rows of a packed block wb. The sums are
// four scalars, not an array: GCC keeps an array in memory across the loop.
template <int R>
inline void dot_block_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t* acc) {
  int32_t s0 = acc[0], s1 = R > 1 ? acc[1] : 0, s2 = R > 1 ? acc[2] : 0, s3 = R > 1 ? acc[3] : 0;
  const int32_t tail = n & 15;
  const int8_t* const end = x + (n - tail);
#if defined(__ARM_FEATURE_MVE)
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
#else
  for (; x < end; x += 16, wb += 16 * R) {
#if defined(__ARM_FEATURE_SIMD32)
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
#else
    for (int32_t i = 0; i < 16; ++i) {
      const int32_t v = x[i];
      s0 += v * wb[i];
      if (R > 1) s1 += v * wb[16 + i], s2 += v * wb[32 + i], s3 += v * wb[48 + i];
    }
#endif
  }
  for (int32_t k = 0; k < tail; ++k) {
    const int32_t v = x[k];
    s0 += v * wb[k];
    if (R > 1) s1 += v * wb[tail + k], s2 += v * wb[2 * tail + k], s3 += v * wb[3 * tail + k];
  }
#endif
  acc[0] = s0;
  if (R > 1) acc[1] = s1, acc[2] = s2, acc[3] = s3;
}

// in: x int8, w int8 in pack_fully_connected_s8's order, bias int32 (or int16) with the input's
// zero point folded in (fold_input_zero_point), multiplier int32, shift int8. Rows of w four at a
// time against each row of x, read in place (no scratch). R as in conv_s8_im2col.
template <Rounding R>
void fully_connected_s8(const FullyConnectedS8Params& p, const void* const* in, void* const* out) {
  const int8_t* x = static_cast<const int8_t*>(in[0]);
  const int8_t* w = static_cast<const int8_t*>(in[1]);
  const Requant q(in, p.bias16, p.float_requant, p.output_zero_point, p.act_min, p.act_max);
  int8_t* y = static_cast<int8_t*>(out[0]);
  const int32_t n = p.depth, units = p.units, zp = q.zp, lo = q.lo, hi = q.hi;
  const bool own_clamp = lo == -128 && hi == 127;
  for (int32_t r = 0; r < p.rows; ++r, x += n, y += units) {
    const int8_t* wb = w;
    for (int32_t u = 0; u < units;) {
      int32_t acc[4];
      const int32_t nu = units - u >= 4 ? 4 : 1;
      for (int32_t i = 0; i < nu; ++i) acc[i] = q.bias_of(u + i);
      if (nu == 4) dot_block_s8<4>(x, wb, n, acc);
      else dot_block_s8<1>(x, wb, n, acc);
#if defined(__ARM_FEATURE_MVE)
      if (nu == 4) {
        vstrbq_s32(y + u, requantize4<R>(vldrwq_s32(acc), q, u));
        u += 4, wb += 4 * n;
        continue;
      }
#endif
      for (int32_t i = 0; i < nu; ++i) {
        const ChannelRequant<R> c(q, u + i);
        y[u + i] = c.out(acc[i], zp, lo, hi, own_clamp && c.plain(-128, 127));
      }
      u += nu, wb += nu * n;
    }
  }
}

}  // namespace tinyc

#endif
