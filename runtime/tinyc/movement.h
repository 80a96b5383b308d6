// Data movement: strided copies (Transpose, Slice, Expand, DepthToSpace...), Concat, Split,
// Gather, Pad, Tile.
#ifndef TINYC_MOVEMENT_H
#define TINYC_MOVEMENT_H

#include "tinyc.h"

namespace tinyc {

struct StridedParams {
  int32_t n;                  // output elements
  int32_t rank;               // >= 1
  int32_t offset;             // input element where output element 0 comes from
  int32_t dims[kMaxRank];     // output shape
  int32_t strides[1][kMaxRank];  // input element stride per output axis (may be 0 or negative)
  TINYC_PARAMS(StridedParams, n, rank, offset, dims, strides)
};

// y[i0..ik] = x[offset + sum(i_a * strides[a])]. Covers views that are affine in the index.
template <class T>
void strided_copy(const StridedParams& p, const T* x, T* y) {
  x += p.offset;
  if (p.n == 0) return;
  int32_t idx[kMaxRank] = {0};
  int32_t off[1] = {0};
  const int32_t last = p.dims[p.rank - 1], s = p.strides[0][p.rank - 1];
  do {
    const T* row = x + off[0];
    for (int32_t j = 0; j < last; ++j) *y++ = row[j * s];
  } while (next_row<1>(p.rank, p.dims, idx, p.strides, off));
}

struct ConcatParams {
  int32_t outer;                 // product of dims before the axis
  int32_t count;                 // inputs
  int32_t chunk[kMaxInputs];     // elements per outer row of each input (axis dim * inner)
  TINYC_PARAMS(ConcatParams, outer, count, chunk)
};

template <class T>
void concat(const ConcatParams& p, Inputs in, T* y) {
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t k = 0; k < p.count; ++k) {
      const T* x = static_cast<const T*>(in[k]) + o * p.chunk[k];
      for (int32_t j = 0; j < p.chunk[k]; ++j) *y++ = x[j];
    }
}

// The inverse of concat: out[k] gets chunk[k] elements of every outer row.
template <class T>
void split(const ConcatParams& p, const T* x, Outputs out) {
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t k = 0; k < p.count; ++k) {
      T* y = static_cast<T*>(out[k]) + o * p.chunk[k];
      for (int32_t j = 0; j < p.chunk[k]; ++j) y[j] = *x++;
    }
}

struct GatherParams {
  int32_t outer, axis_dim, inner;  // input viewed as [outer, axis_dim, inner]
  int32_t count;                   // number of indices
  int32_t index64;                 // indices are int64 (else int32)
  TINYC_PARAMS(GatherParams, outer, axis_dim, inner, count, index64)
};

// y[o, j, i] = x[o, indices[j], i]; negative indices count from the end, others are clamped.
template <class T>
void gather(const GatherParams& p, const T* x, const void* indices, T* y) {
  for (int32_t o = 0; o < p.outer; ++o)
    for (int32_t j = 0; j < p.count; ++j) {
      int64_t k = read_index(indices, p.index64, j);
      if (k < 0) k += p.axis_dim;
      k = clamp_to<int64_t>(k, 0, p.axis_dim - 1);
      const T* src = x + (o * p.axis_dim + k) * p.inner;
      for (int32_t i = 0; i < p.inner; ++i) *y++ = src[i];
    }
}

struct GatherElementsParams {
  int32_t n, rank, axis;
  int32_t index64;
  int32_t dims[kMaxRank];       // index / output shape
  int32_t in_dims[kMaxRank];    // data shape
  TINYC_PARAMS(GatherElementsParams, n, rank, axis, index64, dims, in_dims)
};

template <class T>
void gather_elements(const GatherElementsParams& p, const T* x, const void* indices, T* y) {
  for_each_index(p.n, p.rank, p.dims, [&](const int32_t* idx, int32_t i) {
    int64_t off = 0;
    for (int32_t a = 0; a < p.rank; ++a) {
      int64_t v = idx[a];
      if (a == p.axis) {
        v = read_index(indices, p.index64, i);
        if (v < 0) v += p.in_dims[a];
        v = clamp_to<int64_t>(v, 0, p.in_dims[a] - 1);
      }
      off = off * p.in_dims[a] + v;
    }
    y[i] = x[off];
  });
}

struct PadParams {
  int32_t n, rank;
  int32_t mode;                 // 0 constant, 1 reflect, 2 edge
  int32_t pads_from_input;      // pads (and value) are inputs 1 (and 2), read at run time
  int32_t in_dims[kMaxRank];
  int32_t dims[kMaxRank];       // output shape
  int32_t begin[kMaxRank];      // pad before each axis (may be negative: crop)
  float value;
  TINYC_PARAMS(PadParams, n, rank, mode, pads_from_input, in_dims, dims, begin, value)
};

template <class T>
void pad(const PadParams& p, const T* x, const int64_t* pads, const T* constant_value, T* y) {
  int32_t begin[kMaxRank];
  T value = T(p.value);
  for (int32_t a = 0; a < p.rank; ++a) begin[a] = p.begin[a];
  if (p.pads_from_input) {
    for (int32_t a = 0; a < p.rank; ++a) begin[a] = static_cast<int32_t>(pads[a]);
    if (constant_value) value = *constant_value;
  }
  for_each_index(p.n, p.rank, p.dims, [&](const int32_t* idx, int32_t i) {
    int32_t off = 0;
    bool inside = true;
    for (int32_t a = 0; a < p.rank; ++a) {
      int32_t v = idx[a] - begin[a];
      const int32_t d = p.in_dims[a];
      if (v < 0 || v >= d) {
        if (p.mode == 0) {
          inside = false;
        } else if (p.mode == 2) {
          v = v < 0 ? 0 : d - 1;
        } else if (d == 1) {
          v = 0;
        } else {
          const int32_t period = 2 * (d - 1);
          v = v % period;
          if (v < 0) v += period;
          if (v >= d) v = period - v;
        }
      }
      off = off * d + v;
    }
    y[i] = inside ? x[off] : value;
  });
}

struct TileParams {
  int32_t n, rank;
  int32_t in_dims[kMaxRank];
  int32_t dims[kMaxRank];
  TINYC_PARAMS(TileParams, n, rank, in_dims, dims)
};

template <class T>
void tile(const TileParams& p, const T* x, T* y) {
  for_each_index(p.n, p.rank, p.dims, [&](const int32_t* idx, int32_t i) {
    int32_t off = 0;
    for (int32_t a = 0; a < p.rank; ++a) off = off * p.in_dims[a] + idx[a] % p.in_dims[a];
    y[i] = x[off];
  });
}

struct SliceParams {
  int32_t n, rank;
  int32_t in_dims[kMaxRank];
  int32_t dims[kMaxRank];       // output shape
  int32_t naxes;                // entries in starts/ends/axes/steps inputs
  int32_t index64;
  TINYC_PARAMS(SliceParams, n, rank, in_dims, dims, naxes, index64)
};

// Slice whose starts/axes/steps are only known at run time (inputs 1, 3, 4); the output shape is
// fixed at compile time. A slice with constant inputs is lowered to strided_copy instead.
template <class T>
void slice_dynamic(const SliceParams& p, const T* x, const void* starts, const void*, const void* axes,
                   const void* steps, T* y) {
  int32_t start[kMaxRank], step[kMaxRank];
  for (int32_t a = 0; a < p.rank; ++a) start[a] = 0, step[a] = 1;
  for (int32_t k = 0; k < p.naxes; ++k) {
    int64_t a = axes ? read_index(axes, p.index64, k) : k;
    if (a < 0) a += p.rank;
    const int64_t d = p.in_dims[a];
    const int64_t st = steps ? read_index(steps, p.index64, k) : 1;
    int64_t s = read_index(starts, p.index64, k);
    if (s < 0) s += d;
    s = st > 0 ? clamp_to<int64_t>(s, 0, d) : clamp_to<int64_t>(s, 0, d - 1);
    start[a] = static_cast<int32_t>(s);
    step[a] = static_cast<int32_t>(st);
  }
  StridedParams sp;
  sp.n = p.n;
  sp.rank = p.rank;
  sp.offset = 0;
  int32_t stride = 1;
  for (int32_t a = p.rank - 1; a >= 0; --a) {
    sp.dims[a] = p.dims[a];
    sp.strides[0][a] = stride * step[a];
    sp.offset += stride * start[a];
    stride *= p.in_dims[a];
  }
  strided_copy<T>(sp, x, y);
}

}  // namespace tinyc

#endif
