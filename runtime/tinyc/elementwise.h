// Elementwise kernels: unary maps, broadcasting n-ary ops, Where, Clip.
#ifndef TINYC_ELEMENTWISE_H
#define TINYC_ELEMENTWISE_H

#include <type_traits>

#include "tinyc.h"

namespace tinyc {

struct MapParams {
  int32_t n;                   // elements
  float alpha, beta, gamma;    // operator attributes, where it has them
  TINYC_PARAMS(MapParams, n, alpha, beta, gamma)
};

// y[i] = Op::f(x[i], p), converted to TO.
template <class Op, class TI, class TO>
void map(const MapParams& p, const TI* x, TO* y) {
  for (int32_t i = 0; i < p.n; ++i) y[i] = static_cast<TO>(Op::f(x[i], p));
}

namespace op {
using std::fabs;
#define TINYC_UNARY(Name, expr) \
  struct Name {                 \
    template <class T>          \
    static auto f(T x, const MapParams& p) { (void)p; return expr; } \
  };
TINYC_UNARY(Copy, x)
TINYC_UNARY(Relu, x > T(0) ? x : T(0))
TINYC_UNARY(LeakyRelu, x < T(0) ? T(x * T(p.alpha)) : x)
TINYC_UNARY(ThresholdedRelu, x > T(p.alpha) ? x : T(0))
TINYC_UNARY(Elu, x < T(0) ? T(T(p.alpha) * (std::exp(x) - T(1))) : x)
TINYC_UNARY(Celu, T(std::fmax(T(0), x) + std::fmin(T(0), T(T(p.alpha) * (std::exp(x / T(p.alpha)) - T(1))))))
TINYC_UNARY(Selu, T(T(p.gamma) * (x <= T(0) ? T(T(p.alpha) * (std::exp(x) - T(1))) : x)))
TINYC_UNARY(Sigmoid, T(x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x))))
TINYC_UNARY(HardSigmoid, T(std::fmax(T(0), std::fmin(T(1), T(T(p.alpha) * x + T(p.beta))))))
TINYC_UNARY(HardSwish, T(x * std::fmax(T(0), std::fmin(T(1), T(x / T(6) + T(0.5))))))
TINYC_UNARY(Tanh, std::tanh(x))
TINYC_UNARY(Softplus, T(x > T(20) ? T(x) : T(std::log1p(std::exp(x)))))
TINYC_UNARY(Softsign, T(x / (T(1) + std::fabs(x))))
TINYC_UNARY(Mish, T(x * std::tanh(x > T(20) ? T(x) : T(std::log1p(std::exp(x))))))
TINYC_UNARY(Erf, std::erf(x))
TINYC_UNARY(Exp, std::exp(x))
TINYC_UNARY(Log, std::log(x))
TINYC_UNARY(Neg, T(-x))
TINYC_UNARY(Abs, T(x < T(0) ? T(-x) : x))
TINYC_UNARY(Reciprocal, T(T(1) / x))
TINYC_UNARY(Sqrt, std::sqrt(x))
TINYC_UNARY(Floor, std::floor(x))
TINYC_UNARY(Ceil, std::ceil(x))
TINYC_UNARY(Round, std::nearbyint(x))  // default rounding mode: half to even
TINYC_UNARY(Sign, T(x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0))))
TINYC_UNARY(Sin, std::sin(x))
TINYC_UNARY(Cos, std::cos(x))
TINYC_UNARY(Tan, std::tan(x))
TINYC_UNARY(Asin, std::asin(x))
TINYC_UNARY(Acos, std::acos(x))
TINYC_UNARY(Atan, std::atan(x))
TINYC_UNARY(Sinh, std::sinh(x))
TINYC_UNARY(Cosh, std::cosh(x))
TINYC_UNARY(Asinh, std::asinh(x))
TINYC_UNARY(Acosh, std::acosh(x))
TINYC_UNARY(Atanh, std::atanh(x))
TINYC_UNARY(Not, !x)
TINYC_UNARY(IsNaN, x != x)
// alpha: detect negative, beta: detect positive
TINYC_UNARY(IsInf, (std::isinf(x) && ((x > 0 && p.beta != 0) || (x < 0 && p.alpha != 0))))
TINYC_UNARY(Shrink, T(x < T(-p.alpha) ? T(x + T(p.beta)) : (x > T(p.alpha) ? T(x - T(p.beta)) : T(0))))
#undef TINYC_UNARY
}  // namespace op

struct BroadcastParams {
  int32_t n;                        // output elements
  int32_t rank;                     // >= 1
  int32_t dims[kMaxRank];           // output shape
  int32_t strides[3][kMaxRank];     // per input; 0 along broadcast axes
  TINYC_PARAMS(BroadcastParams, n, rank, dims, strides)
};

// y = Op::f(a, b[, c]) with numpy broadcasting, for kArity inputs.
template <class Op, int kArity, class TO, class T0, class T1 = T0, class T2 = T0>
void broadcast(const BroadcastParams& p, const T0* a, const T1* b, const T2* c, TO* y) {
  if (p.n == 0) return;
  int32_t idx[kMaxRank] = {0};
  int32_t off[3] = {0, 0, 0};
  const int32_t last = p.dims[p.rank - 1];
  const int32_t s0 = p.strides[0][p.rank - 1], s1 = p.strides[1][p.rank - 1],
                s2 = p.strides[2][p.rank - 1];
  do {
    for (int32_t j = 0; j < last; ++j) {
      if constexpr (kArity == 1) *y++ = static_cast<TO>(Op::f(a[off[0] + j * s0]));
      if constexpr (kArity == 2) *y++ = static_cast<TO>(Op::f(a[off[0] + j * s0], b[off[1] + j * s1]));
      if constexpr (kArity == 3)
        *y++ = static_cast<TO>(Op::f(a[off[0] + j * s0], b[off[1] + j * s1], c[off[2] + j * s2]));
    }
  } while (next_row<3>(p.rank, p.dims, idx, p.strides, off));
}

namespace op {
#define TINYC_NARY(Name, ...) \
  struct Name {               \
    template <class A, class... R> static auto f(A a, R... r) { (void)a; __VA_ARGS__ } \
  };
TINYC_NARY(Add, return (a + ... + r);)
TINYC_NARY(Sub, return (a - ... - r);)
TINYC_NARY(Mul, return (a * ... * r);)
TINYC_NARY(Div, return (a / ... / r);)
TINYC_NARY(Mean, return (a + ... + r) / A(1 + sizeof...(r));)
TINYC_NARY(Max, A m = a; ((m = (r > m || r != r) ? A(r) : m), ...); return m;)
TINYC_NARY(Min, A m = a; ((m = (r < m || r != r) ? A(r) : m), ...); return m;)
TINYC_NARY(Equal, return ((a == r) && ...);)
TINYC_NARY(Less, return ((a < r) && ...);)
TINYC_NARY(LessOrEqual, return ((a <= r) && ...);)
TINYC_NARY(Greater, return ((a > r) && ...);)
TINYC_NARY(GreaterOrEqual, return ((a >= r) && ...);)
TINYC_NARY(And, return (a && ... && r);)
TINYC_NARY(Or, return (a || ... || r);)
TINYC_NARY(Xor, return ((bool(a) != bool(r)) && ...);)
#undef TINYC_NARY
#define TINYC_BINARY(Name, expr) \
  struct Name {                  \
    template <class A, class B> static auto f(A a, B b) -> decltype(expr) { return expr; } \
  };
TINYC_BINARY(Pow, A(std::pow(double(a), double(b))))
TINYC_BINARY(PRelu, a < A(0) ? A(a * b) : a)
TINYC_BINARY(BitShiftLeft, A(a << b))
TINYC_BINARY(BitShiftRight, A(a >> b))
TINYC_BINARY(FMod, A(std::fmod(a, b)))
#undef TINYC_BINARY
// Mod with the sign of the divisor (Python semantics, ONNX fmod = 0).
struct Mod {
  template <class A, class B>
  static A f(A a, B b) {
    if constexpr (is_float<A>::value) {
      const A m = A(std::fmod(a, A(b)));
      return (m != 0 && ((m < 0) != (b < 0))) ? A(m + b) : m;
    } else if constexpr (std::is_signed<A>::value) {
      const A m = A(a % b);
      return (m != 0 && ((m < 0) != (b < 0))) ? A(m + b) : m;
    } else {
      return A(a % b);
    }
  }
};
struct Select {
  template <class C, class A>
  static A f(C c, A a, A b) { return c ? a : b; }
};
}  // namespace op

struct ClipParams {
  int32_t n;
  int32_t has_min, has_max;  // bounds come from inputs 1 and 2 when present
  float min, max;            // bounds from attributes (opset < 11)
  TINYC_PARAMS(ClipParams, n, has_min, has_max, min, max)
};

template <class T>
void clip(const ClipParams& p, const T* x, const T* min, const T* max, T* y) {
  const bool lo_in = p.has_min && min, hi_in = p.has_max && max;
  const T lo = lo_in ? *min : T(p.min);
  const T hi = hi_in ? *max : T(p.max);
  const bool use_lo = lo_in || !p.has_min, use_hi = hi_in || !p.has_max;
  for (int32_t i = 0; i < p.n; ++i) {
    T v = x[i];
    if (use_lo && v < lo) v = lo;
    if (use_hi && v > hi) v = hi;
    y[i] = v;
  }
}

}  // namespace tinyc

#endif
