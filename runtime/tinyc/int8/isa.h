// The ISA extensions the int8 kernels use: Helium (MVE) and the DSP extension's intrinsics, and
// the few instructions GCC does not emit by itself.
#ifndef TINYC_INT8_ISA_H
#define TINYC_INT8_ISA_H

#include <stdint.h>

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif
#if defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>

// The two words at p + I (p 4-byte aligned) in one instruction.
template <int I>
static inline void ldrd_s32(const uint32_t* p, uint32_t& a, uint32_t& b) {
  __asm__("ldrd %0, %1, [%2, %3]"
          : "=r"(a), "=r"(b)
          : "r"(p), "i"(4 * I), "m"(*reinterpret_cast<const uint32_t(*)[2]>(p + I)));
}

// Bytes 1 and 3 of u, sign-extended to two int16 (GCC does not fold the rotation into SXTB16).
static inline int32_t sxtb16_ror8(uint32_t u) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(u));
  return r;
}
#endif

#endif
