// tinyc runtime: the only code that ships into firmware.
// Header-only, C++17, no heap, no exceptions, no RTTI, no stdio.
//
// A kernel is `void kernel(const Params& p, <its tensors>)`. `p` is a constant built at compile
// time by tinyc (shapes, strides, zero points, multipliers). The tensors follow, typed and named,
// in the order of the node's inputs, then its outputs, then the kernel's Scratch if it needs one:
// `const T*` an input (nullptr for an absent optional), `T*` an output (nullptr if unused),
// `Inputs` / `Outputs` all of a node's with any number of them (Concat, Split). A kernel may
// stop before the node's last inputs when it does not read them.
// The same kernels run inside the compiler as its reference evaluator.
#ifndef TINYC_TINYC_H
#define TINYC_TINYC_H

#include <stdint.h>
#include <string.h>

#include <cmath>
#include <type_traits>

// Names a params struct and lists its fields, so the compiler can print it as a C++ initializer.
#define TINYC_PARAMS(Name, ...)                             \
  static constexpr const char* type_name = "tinyc::" #Name; \
  template <class V>                                       \
  void visit(V&& v) const { v(__VA_ARGS__); }

// For the drivers' micro-kernels: inlined where they are called, so the constants the caller knows
// (a 3x3 window, unit strides) shape their loops as if they were written there.
#if defined(__GNUC__)
#define TINYC_INLINE inline __attribute__((always_inline))
#else
#define TINYC_INLINE inline
#endif

namespace tinyc {

constexpr int kMaxRank = 8;

// The instruction set a kernel's fast path is built for; its scratch size may depend on it.
// Portable: generated code for any core (--target host): the largest scratch of them all.
enum class Isa { Portable, Plain, Dsp, Helium };
constexpr int kMaxInputs = 16;

// A kernel's scratch buffer, its last argument: part of the arena, planned like any tensor, so
// no kernel needs a large stack frame.
struct Scratch {
  void* data;
};

// All the inputs (outputs) of a node that takes any number of them, in order.
using Inputs = const void* const*;
using Outputs = void* const*;

// An untyped address (the arena, a caller's buffer, a weight array) as the generated code passes it
// to a kernel's typed tensor argument: it converts to a pointer to any element type.
struct Buffer {
  const void* data;
  template <class T>
  operator T*() const {
    return static_cast<T*>(const_cast<void*>(data));
  }
};

// std::nearbyint in the default rounding mode (half to even), without a library call on cores
// with an FPU but no rounding instruction: adding and subtracting 1.5 * 2^23 rounds a float below
// 2^22 in magnitude to an integer, ties to even.
inline float round_half_even(float v) {
  if (std::fabs(v) < 4194304.0f) return (v + 12582912.0f) - 12582912.0f;
  return std::nearbyint(v);
}

// Average pooling (no dilation) of integer planes: for each output element in order, y(sum,
// count, count_pad) with the int32 sum of x - zero_point over the window, the number of window
// elements inside the input, and the number inside the input padded up to in + pad_end
// (pad_end nullptr: the whole window).
template <class T, class Y>
inline void int_avg_pool(const T* x, int32_t planes, const int32_t in[3], const int32_t out[3], const int32_t kernel[3],
                         const int32_t stride[3], const int32_t pad[3], const int32_t* pad_end, int32_t zero_point,
                         Y y) {
  const int32_t in_size = in[0] * in[1] * in[2];
  for (int32_t c = 0; c < planes; ++c, x += in_size)
    for (int32_t od = 0; od < out[0]; ++od)
      for (int32_t oh = 0; oh < out[1]; ++oh)
        for (int32_t ow = 0; ow < out[2]; ++ow) {
          const int32_t o[3] = {od, oh, ow};
          int32_t b[3], e[3], count = 1, count_pad = 1;  // the window inside the input: [b, e)
          for (int a = 0; a < 3; ++a) {
            const int32_t lo = o[a] * stride[a] - pad[a], hi = lo + kernel[a];
            const int32_t end = pad_end ? in[a] + pad_end[a] : hi;
            count_pad *= (hi < end ? hi : end) - lo;
            b[a] = lo < 0 ? 0 : lo, e[a] = hi < in[a] ? hi : in[a];
            count *= e[a] - b[a];
          }
          int32_t sum = 0;
          for (int32_t id = b[0]; id < e[0]; ++id)
            for (int32_t ih = b[1]; ih < e[1]; ++ih) {
              const T* row = x + (id * in[1] + ih) * in[2];
              for (int32_t iw = b[2]; iw < e[2]; ++iw) sum += row[iw];
            }
          sum -= zero_point * count;
          y(sum, count, count_pad);
        }
}

// Calls f(row, kernel row) for each row (kd, kh) of the window at row (od, oh) that lies inside
// `bound` (depth, height): row d * bound[1] + h with d = od * stride + kd * dilation - pad (h
// alike), kernel row kd * kernel[1] + kh. P: a convolution's params (kernel, stride, dilation, pad
// as depth, height, width). A convolution's window over its input (bound p.in, from an output
// row), or a transposed convolution's over its output (bound p.out, from an input row).
template <class P, class F>
TINYC_INLINE void window_rows(const P& p, const int32_t* bound, int32_t od, int32_t oh, F f) {
  for (int32_t kd = 0; kd < p.kernel[0]; ++kd) {
    const int32_t d = od * p.stride[0] + kd * p.dilation[0] - p.pad[0];
    if (d < 0 || d >= bound[0]) continue;
    for (int32_t kh = 0; kh < p.kernel[1]; ++kh) {
      const int32_t h = oh * p.stride[1] + kh * p.dilation[1] - p.pad[1];
      if (h < 0 || h >= bound[1]) continue;
      f(d * bound[1] + h, kd * p.kernel[1] + kh);
    }
  }
}

// Calls f(at, o, i) for each line along the middle axis of a tensor viewed as [outer, axis, inner],
// in order: the line's first element is at `at` = (o * axis) * inner + i, its next ones inner apart.
template <class F>
TINYC_INLINE void for_each_line(int32_t outer, int32_t axis, int32_t inner, F f) {
  for (int32_t o = 0; o < outer; ++o)
    for (int32_t i = 0; i < inner; ++i) f(o * axis * inner + i, o, i);
}

// Calls f(idx, i) for the first n multi-indices idx over dims (rank axes, row-major), i counting
// from 0.
template <class F>
TINYC_INLINE void for_each_index(int32_t n, int32_t rank, const int32_t* dims, F f) {
  int32_t idx[kMaxRank] = {0};
  for (int32_t i = 0; i < n; ++i) {
    f(static_cast<const int32_t*>(idx), i);
    for (int32_t a = rank - 1; a >= 0 && ++idx[a] == dims[a]; --a) idx[a] = 0;
  }
}

// Calls f(c) for each channel of a tensor viewed as [outer, channels, inner], in order: f takes
// the channel's next inner elements.
template <class F>
TINYC_INLINE void for_each_channel(int32_t outer, int32_t channels, F f) {
  for (int32_t o = 0; o < outer; ++o)
    for (int32_t c = 0; c < channels; ++c) f(c);
}

// The output columns lo <= ow < hi whose input column ow * stride + shift lies in [0, width).
struct Columns {
  int32_t lo, hi;
};
inline Columns inside_columns(int32_t shift, int32_t stride, int32_t width, int32_t out_width) {
  const int32_t lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  const int32_t hi = width - shift <= 0 ? 0 : (width - shift + stride - 1) / stride;
  return {lo, hi < out_width ? hi : out_width};
}

template <class T>
inline T clamp_to(T x, T lo, T hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Advances a row-major multi-index over `dims` (all but the last axis) and the matching element
// offsets of up to kN operands with the given strides. Returns false after the last row.
template <int kN>
inline bool next_row(int32_t rank, const int32_t* dims, int32_t* idx,
                     const int32_t (*strides)[kMaxRank], int32_t* off) {
  for (int32_t a = rank - 2; a >= 0; --a) {
    if (++idx[a] < dims[a]) {
      for (int k = 0; k < kN; ++k) off[k] += strides[k][a];
      return true;
    }
    for (int k = 0; k < kN; ++k) off[k] -= strides[k][a] * (dims[a] - 1);
    idx[a] = 0;
  }
  return false;
}

// IEEE binary16, stored as its bits; arithmetic happens in float.
struct half {
  uint16_t bits;
  half() = default;
  half(float f) : bits(from_float(f)) {}
  operator float() const { return to_float(bits); }
  half& operator+=(float v) { return *this = half(float(*this) + v); }
  half& operator-=(float v) { return *this = half(float(*this) - v); }
  half& operator*=(float v) { return *this = half(float(*this) * v); }

  static float to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
      bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
      bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      uint32_t m = man;
      do { ++e; m <<= 1; } while (!(m & 0x400u));
      bits = sign | ((112 - e) << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
  }
  // Round to nearest, ties to even.
  static uint16_t from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to infinity
    if (ax < 0x38800000u) {  // subnormal or zero in half
      if (ax < 0x33000000u) return sign;
      const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
      const int shift = 126 - int(ax >> 23);  // 14..24
      const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
      return uint16_t(sign | (q + (rem > halfway || (rem == halfway && (q & 1)))));
    }
    const uint32_t q = ((ax >> 13) - (112u << 10)), rem = ax & 0x1fffu;
    return uint16_t(sign | (q + (rem > 0x1000u || (rem == 0x1000u && (q & 1)))));
  }
};

// Floating point for the kernels: float, double and half.
template <class T>
struct is_float {
  static constexpr bool value = std::is_floating_point<T>::value || std::is_same<T, half>::value;
};

// Reads element i of an integer tensor whose element type is given at run time (int32 or int64).
inline int64_t read_index(const void* p, int32_t is64, int32_t i) {
  return is64 ? static_cast<const int64_t*>(p)[i] : static_cast<const int32_t*>(p)[i];
}

}  // namespace tinyc

#endif
