// add_s8 and sub_s8: TFLite's quantized Add and Sub, with broadcasting.
#ifndef TINYC_INT8_ADD_H
#define TINYC_INT8_ADD_H

#include "../elementwise.h"
#include "requant.h"

namespace tinyc {

struct AddS8Params {
  BroadcastParams shape;
  int32_t zero_point[2], output_zero_point;
  int32_t multiplier[2], shift[2];   // input rescale to the common 2^20-scaled domain
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
  TINYC_PARAMS(AddS8Params, shape, zero_point, output_zero_point, multiplier, shift, output_multiplier, output_shift,
               act_min, act_max)
};

// One row of add_s8 (sub_s8: Sub): n values of a and b (element strides sa, sb) into y. Right:
// every multiplier scales down (the usual case), so each takes one SMLAL and no shift check.
template <bool Right, bool Sub>
inline void add_s8_row(const AddS8Params& p, const QuantizedMultiplier* q, const int8_t* a, int32_t sa,
                       const int8_t* b, int32_t sb, int32_t n, int8_t* y) {
  auto scaled = [](const QuantizedMultiplier& m, int32_t v) { return Right ? m.apply_right(v) : m.apply(v); };
  const int32_t za = p.zero_point[0], zb = p.zero_point[1], zy = p.output_zero_point;
  const int32_t lo = p.act_min, hi = p.act_max;
  const bool own_clamp = lo == -128 && hi == 127;
  for (int32_t j = 0; j < n; ++j, a += sa, b += sb) {
    const int32_t db = Sub ? zb - int32_t(*b) : int32_t(*b) - zb;
    const int32_t sum = scaled(q[0], (int32_t(*a) - za) * (1 << 20)) + scaled(q[1], db * (1 << 20));
    const int32_t v = scaled(q[2], sum) + zy;
    y[j] = own_clamp ? saturate_s8(v) : clamp_s8(v, lo, hi);
  }
}

// TFLite's quantized Add (Sub: a - b): both inputs are shifted left by 20 bits, rescaled to twice
// the larger input scale, summed and rescaled to the output. The three multipliers are set up
// once per call.
template <bool Sub>
inline void add_sub_s8(const AddS8Params& p, const int8_t* a, const int8_t* b, int8_t* y) {
  const BroadcastParams& s = p.shape;
  int32_t idx[kMaxRank] = {0};
  int32_t off[2] = {0, 0};
  const int32_t last = s.dims[s.rank - 1], sa = s.strides[0][s.rank - 1], sb = s.strides[1][s.rank - 1];
  if (s.n == 0) return;
  const QuantizedMultiplier q[3] = {{p.multiplier[0], p.shift[0]}, {p.multiplier[1], p.shift[1]},
                                    {p.output_multiplier, p.output_shift}};
  const bool right = q[0].right >= 0 && q[1].right >= 0 && q[2].right >= 0;
  do {
    if (right) add_s8_row<true, Sub>(p, q, a + off[0], sa, b + off[1], sb, last, y);
    else add_s8_row<false, Sub>(p, q, a + off[0], sa, b + off[1], sb, last, y);
    y += last;
  } while (next_row<2>(s.rank, s.dims, idx, s.strides, off));
}

inline void add_s8(const AddS8Params& p, const int8_t* a, const int8_t* b, int8_t* y) { add_sub_s8<false>(p, a, b, y); }
inline void sub_s8(const AddS8Params& p, const int8_t* a, const int8_t* b, int8_t* y) { add_sub_s8<true>(p, a, b, y); }

}  // namespace tinyc

#endif
