// fully_connected_s8 and the compile-time packing of its weights.
#ifndef TINYC_INT8_FULLY_CONNECTED_H
#define TINYC_INT8_FULLY_CONNECTED_H

#include "requant.h"

#include "micro_kernels.h"  // dot16_s8, dot_tail_s8, requantize_block4_s8

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

// acc[r] += x . row r over n values, for the R (1 or 4) rows of a packed block wb: the ISA's
// dot16_s8 for each group of 16, its dot_tail_s8 for the rest. The sums are four scalars, not an
// array: GCC keeps an array in memory across the loop.
template <int R>
TINYC_INLINE void dot_block_s8(const int8_t* x, const int8_t* wb, int32_t n, int32_t* acc) {
  int32_t s0 = acc[0], s1 = R > 1 ? acc[1] : 0, s2 = R > 1 ? acc[2] : 0, s3 = R > 1 ? acc[3] : 0;
  const int32_t tail = n & 15;
  for (const int8_t* const end = x + (n - tail); x < end; x += 16, wb += 16 * R) dot16_s8<R>(x, wb, s0, s1, s2, s3);
  dot_tail_s8<R>(x, wb, tail, s0, s1, s2, s3);
  acc[0] = s0;
  if (R > 1) acc[1] = s1, acc[2] = s2, acc[3] = s3;
}

// in: x int8, w int8 in pack_fully_connected_s8's order, bias int32 (or int16) with the input's
// zero point folded in (fold_input_zero_point), multiplier int32, shift int8. Rows of w four at a
// time against each row of x, read in place (no scratch): dot_block_s8 and, where the ISA has one
// (kRequantizeBlock4), requantize_block4_s8 ({plain,dsp,mve}/fully_connected.h). R as in
// conv_s8_im2col.
template <Rounding R>
TINYC_INLINE void fully_connected_s8(const FullyConnectedS8Params& p, const int8_t* x, const int8_t* w, const void* bias,
                        const int32_t* multiplier, const int8_t* shift, const float* scale, int8_t* y) {
  const Requant q(p, bias, multiplier, shift, scale);
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
      if (kRequantizeBlock4 && nu == 4) {
        requantize_block4_s8<R>(acc, q, u, y + u);
        u += 4, wb += 4 * n;
        continue;
      }
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
