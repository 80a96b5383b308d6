// tinyc runtime: the only code that ships into firmware.
// Header-only, C++17, no heap, no exceptions, no RTTI, no stdio.
//
// Every kernel has the same signature:
//     void kernel(const Params& p, const void* const* in, void* const* out);
// `p` is a constant built at compile time by tinyc (shapes, strides, attributes), `in`/`out` point
// to the tensors in the order of the ONNX node's inputs/outputs (nullptr for an absent optional;
// both arrays have at least 10 slots).
// The same kernels run inside the compiler as its reference evaluator.
#ifndef TINYC_TINYC_H
#define TINYC_TINYC_H

#include <stdint.h>
#include <string.h>

#include <cmath>

// Names a params struct and lists its fields, so the compiler can print it as a C++ initializer.
#define TINYC_PARAMS(Name, ...)                             \
  static constexpr const char* type_name = "tinyc::" #Name; \
  template <class V>                                       \
  void visit(V&& v) const { v(__VA_ARGS__); }

namespace tinyc {

constexpr int kMaxRank = 8;
constexpr int kMaxInputs = 16;

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

// Reads element i of an integer tensor whose element type is given at run time (int32 or int64).
inline int64_t read_index(const void* p, int32_t is64, int32_t i) {
  return is64 ? static_cast<const int64_t*>(p)[i] : static_cast<const int32_t*>(p)[i];
}

}  // namespace tinyc

#endif
