// depthwise_s8's micro-kernels in plain C (M0+, M3, the host).
#ifndef TINYC_INT8_PLAIN_DEPTHWISE_H
#define TINYC_INT8_PLAIN_DEPTHWISE_H

#include "../depthwise_plane.h"

namespace tinyc {

// rows rows of n values, x[j * step] - zx as int16, from x (rows x_step apart) to dst (rows
// dst_step apart).
TINYC_INLINE void widen_rows_s8(const int8_t* x, int32_t x_step, int32_t step, int32_t zx, int16_t* dst, int32_t dst_step,
                          int32_t rows, int32_t n) {
  for (int32_t r = 0; r < rows; ++r, x += x_step, dst += dst_step)
    for (int32_t j = 0; j < n; ++j) dst[j] = int16_t(x[j * step] - zx);
}

// Channel c's outputs yc from its plane and weights wc; KH x KW known at compile time (0: in s).
template <int KH, int KW, Rounding R, Layout Out>
TINYC_INLINE void depthwise_channel_s8(const int16_t* plane, const DepthwiseShape& s, const int8_t* wc, const Requant& q,
                                 int32_t c, int8_t* yc) {
  depthwise_windows_s8<KH, KW, Out>(plane, s, wc, ChannelRequant<R>(q, c), yc);
}

}  // namespace tinyc

#endif
