// Elementwise operators: unary maps, Cast, Clip, broadcasting arithmetic, comparison and logic.
#include <limits>

#include "ops/op.h"
#include "runtime/tinyc/elementwise.h"

namespace tinyc {

BroadcastParams make_broadcast(const OpContext& c, const Shape& out,
                               const std::vector<Shape>& ins) {
  if (out.size() > kMaxRank) c.fail(fmt::format("rank {} exceeds {}", out.size(), kMaxRank));
  BroadcastParams p{};
  p.n = i32(c, num_elements(out));
  p.rank = out.empty() ? 1 : static_cast<int32_t>(out.size());
  for (int32_t a = 0; a < p.rank; ++a) p.dims[a] = out.empty() ? 1 : i32(c, out[a]);
  for (size_t k = 0; k < ins.size(); ++k) {
    const Shape& s = ins[k];
    const auto st = strides_of(s);
    for (int32_t a = 0; a < p.rank; ++a) {
      const int64_t ia = a - (p.rank - static_cast<int64_t>(s.size()));
      p.strides[k][a] = (ia < 0 || s[ia] == 1) ? 0 : i32(c, st[ia]);
    }
  }
  return p;
}

namespace {

template <class Op>
LowerFn unary(bool float_only, float alpha = 0, float beta = 0, float gamma = 0,
              const char* a_name = "alpha", const char* b_name = "beta",
              const char* g_name = "gamma") {
  return [=](OpContext& c) {
    const Tensor& x = c.input(0);
    c.set_output(0, x.dtype, x.shape);
    MapParams p{i32(c, num_elements(x.shape)), c.node.get_float(a_name, alpha),
                c.node.get_float(b_name, beta), c.node.get_float(g_name, gamma)};
    auto go = [&](auto t) {
      using T = decltype(t);
      return make_kernel(fmt::format("tinyc::map<{}, {}, {}>", Op::name, c_type<T>(), c_type<T>()),
                         p, &map<typename Op::type, T, T>);
    };
    return elementwise_in_place(c, float_only ? with_float_type(c, x.dtype, go) : with_type(c, x.dtype, go));
  };
}

#define NAMED(Op) \
  struct N##Op { using type = op::Op; static constexpr const char* name = "tinyc::op::" #Op; }

NAMED(Copy); NAMED(Relu); NAMED(LeakyRelu); NAMED(ThresholdedRelu); NAMED(Elu); NAMED(Celu);
NAMED(Selu); NAMED(Sigmoid); NAMED(HardSigmoid); NAMED(HardSwish); NAMED(Tanh); NAMED(Softplus);
NAMED(Softsign); NAMED(Mish); NAMED(Erf); NAMED(Exp); NAMED(Log); NAMED(Neg); NAMED(Abs);
NAMED(Reciprocal); NAMED(Sqrt); NAMED(Floor); NAMED(Ceil); NAMED(Round); NAMED(Sign); NAMED(Sin);
NAMED(Cos); NAMED(Tan); NAMED(Asin); NAMED(Acos); NAMED(Atan); NAMED(Sinh); NAMED(Cosh);
NAMED(Asinh); NAMED(Acosh); NAMED(Atanh); NAMED(Not); NAMED(Shrink);
NAMED(Add); NAMED(Sub); NAMED(Mul); NAMED(Div); NAMED(Mean); NAMED(Max); NAMED(Min);
NAMED(Equal); NAMED(Less); NAMED(LessOrEqual); NAMED(Greater); NAMED(GreaterOrEqual); NAMED(And);
NAMED(Or); NAMED(Xor); NAMED(Pow); NAMED(PRelu); NAMED(BitShiftLeft); NAMED(BitShiftRight);
NAMED(FMod); NAMED(Mod); NAMED(Select); NAMED(IsNaN); NAMED(IsInf);
#undef NAMED

// A map whose output type differs from its input type (Cast, IsNaN, IsInf).
template <class Op>
Lowered convert(OpContext& c, DType to, float alpha = 0, float beta = 0) {
  const Tensor& x = c.input(0);
  c.set_output(0, to, x.shape);
  MapParams p{i32(c, num_elements(x.shape)), alpha, beta, 0};
  constexpr bool kFloatIn = !std::is_same_v<Op, NCopy>;  // IsNaN, IsInf
  auto with_in = [&](auto f) {
    if constexpr (kFloatIn) return with_float_type(c, x.dtype, f);
    else return with_type(c, x.dtype, f);
  };
  return with_in([&](auto ti) {
    using TI = decltype(ti);
    return with_type(c, to, [&](auto to_) {
      using TO = decltype(to_);
      return make_kernel(fmt::format("tinyc::map<{}, {}, {}>", Op::name, c_type<TI>(), c_type<TO>()),
                         p, &map<typename Op::type, TI, TO>);
    });
  });
}

// Whether Op::f takes N arguments of type T.
template <class Op, int N, class T, class = void>
struct takes : std::false_type {};
template <class Op, class T>
struct takes<Op, 1, T, std::void_t<decltype(Op::f(T{}))>> : std::true_type {};
template <class Op, class T>
struct takes<Op, 2, T, std::void_t<decltype(Op::f(T{}, T{}))>> : std::true_type {};
template <class Op, class T>
struct takes<Op, 3, T, std::void_t<decltype(Op::f(T{}, T{}, T{}))>> : std::true_type {};

// Broadcasting op over all inputs (1 to 3 of them), all of the first input's type.
enum class Types { Any, Float, Int, Bool };
enum class Result { Same, Bool };

template <class Op>
LowerFn nary(Types types, Result result = Result::Same) {
  return [=](OpContext& c) {
    std::vector<Shape> shapes;
    Shape out;
    for (size_t i = 0; i < c.num_inputs(); ++i) {
      shapes.push_back(c.input(i).shape);
      out = i ? broadcast_shape(c, out, shapes.back()) : shapes.back();
    }
    if (shapes.empty() || shapes.size() > 3) c.fail("needs 1 to 3 inputs");
    const DType t = c.input(0).dtype;
    const DType rt = result == Result::Bool ? DType::Bool : t;
    c.set_output(0, rt, out);
    const BroadcastParams p = make_broadcast(c, out, shapes);
    const bool is_float = t == DType::Float || t == DType::Double;
    if ((types == Types::Float && !is_float) || (types == Types::Int && (is_float || t == DType::Bool)) ||
        (types == Types::Bool && t != DType::Bool))
      c.fail(fmt::format("element type {} is not supported", dtype_name(t)));
    return with_type(c, t, [&](auto tag) {
      using T = decltype(tag);
      using R = std::conditional_t<std::is_same_v<T, bool>, bool, T>;
      auto go = [&](auto rtag) -> Lowered {
        using TO = decltype(rtag);
        const std::string name = fmt::format("tinyc::broadcast<{0}, {1}, {2}, {3}, {3}, {3}>", Op::name,
                                             shapes.size(), c_type<TO>(), c_type<T>());
        using K = typename Op::type;
        if constexpr (takes<K, 1, T>::value)
          if (shapes.size() == 1) return make_kernel(name, p, &broadcast<K, 1, TO, T>);
        if constexpr (takes<K, 2, T>::value)
          if (shapes.size() == 2) return make_kernel(name, p, &broadcast<K, 2, TO, T>);
        if constexpr (takes<K, 3, T>::value)
          if (shapes.size() == 3) return make_kernel(name, p, &broadcast<K, 3, TO, T>);
        c.fail(fmt::format("{} inputs are not supported", shapes.size()));
      };
      return elementwise_in_place(c, result == Result::Bool ? go(bool{}) : go(R{}));
    });
  };
}

Lowered lower_cast(OpContext& c) {
  DType to = c.node.op == "CastLike" ? c.input(1).dtype
                                     : static_cast<DType>(c.node.get_int("to", 0));
  return convert<NCopy>(c, to);
}

Lowered lower_clip(OpContext& c) {
  const Tensor& x = c.input(0);
  c.set_output(0, x.dtype, x.shape);
  ClipParams p{i32(c, num_elements(x.shape)), 0, 0, 0, 0};
  if (c.opset() < 11) {
    p.min = c.node.get_float("min", -std::numeric_limits<float>::infinity());
    p.max = c.node.get_float("max", std::numeric_limits<float>::infinity());
  } else {
    p.has_min = p.has_max = 1;
    for (size_t i : {1, 2})
      if (c.has(i)) c.scalar_input(i);
  }
  return elementwise_in_place(c, TINYC_TYPED_KERNEL(p, tinyc::clip, with_type, c, x.dtype));
}

Lowered lower_where(OpContext& c) {
  const Shape out = broadcast_shape(c, broadcast_shape(c, c.input(0).shape, c.input(1).shape),
                                    c.input(2).shape);
  const DType t = c.input(1).dtype;
  c.set_output(0, t, out);
  const BroadcastParams p =
      make_broadcast(c, out, {c.input(0).shape, c.input(1).shape, c.input(2).shape});
  return elementwise_in_place(c, with_type(c, t, [&](auto tag) {
    using T = decltype(tag);
    return make_kernel(fmt::format("tinyc::broadcast<tinyc::op::Select, 3, {0}, bool, {0}, {0}>",
                                   c_type<T>()),
                       p, &broadcast<op::Select, 3, T, bool, T, T>);
  }));
}

Lowered lower_pow(OpContext& c) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  const Shape out = broadcast_shape(c, a.shape, b.shape);
  c.set_output(0, a.dtype, out);
  const BroadcastParams p = make_broadcast(c, out, {a.shape, b.shape});
  return elementwise_in_place(c, with_type(c, a.dtype, [&](auto ta) {
    using A = decltype(ta);
    return with_type(c, b.dtype, [&](auto tb) {
      using B = decltype(tb);
      return make_kernel(fmt::format("tinyc::broadcast<tinyc::op::Pow, 2, {0}, {0}, {1}, {0}>",
                                     c_type<A>(), c_type<B>()),
                         p, &broadcast<op::Pow, 2, A, A, B>);
    });
  }));
}

}  // namespace

void register_elementwise_ops(OpTable& t) {
  t["Identity"] = unary<NCopy>(false);
  t["Dropout"] = [](OpContext& c) {
    if (c.has(2) && (!c.input(2).is_const || c.scalar_input(2).ints().at(0) != 0))
      c.fail("training_mode is not supported");
    if (c.out.size() > 1 && c.out[1]) {  // the mask of an inference Dropout is all true
      c.fail("the mask output is not supported");
    }
    return unary<NCopy>(false)(c);
  };
  t["Relu"] = unary<NRelu>(false);
  t["LeakyRelu"] = unary<NLeakyRelu>(true, 0.01f);
  t["ThresholdedRelu"] = unary<NThresholdedRelu>(true, 1.0f);
  t["Elu"] = unary<NElu>(true, 1.0f);
  t["Celu"] = unary<NCelu>(true, 1.0f);
  t["Selu"] = unary<NSelu>(true, 1.67326319217681884765625f, 0, 1.05070102214813232421875f);
  t["Sigmoid"] = unary<NSigmoid>(true);
  t["HardSigmoid"] = unary<NHardSigmoid>(true, 0.2f, 0.5f);
  t["HardSwish"] = unary<NHardSwish>(true);
  t["Tanh"] = unary<NTanh>(true);
  t["Softplus"] = unary<NSoftplus>(true);
  t["Softsign"] = unary<NSoftsign>(true);
  t["Mish"] = unary<NMish>(true);
  t["Erf"] = unary<NErf>(true);
  t["Exp"] = unary<NExp>(true);
  t["Log"] = unary<NLog>(true);
  t["Neg"] = unary<NNeg>(false);
  t["Abs"] = unary<NAbs>(false);
  t["Reciprocal"] = unary<NReciprocal>(true);
  t["Sqrt"] = unary<NSqrt>(true);
  t["Floor"] = unary<NFloor>(true);
  t["Ceil"] = unary<NCeil>(true);
  t["Round"] = unary<NRound>(true);
  t["Sign"] = unary<NSign>(false);
  t["Sin"] = unary<NSin>(true);
  t["Cos"] = unary<NCos>(true);
  t["Tan"] = unary<NTan>(true);
  t["Asin"] = unary<NAsin>(true);
  t["Acos"] = unary<NAcos>(true);
  t["Atan"] = unary<NAtan>(true);
  t["Sinh"] = unary<NSinh>(true);
  t["Cosh"] = unary<NCosh>(true);
  t["Asinh"] = unary<NAsinh>(true);
  t["Acosh"] = unary<NAcosh>(true);
  t["Atanh"] = unary<NAtanh>(true);
  t["Not"] = unary<NNot>(false);
  t["Shrink"] = unary<NShrink>(false, 0.5f, 0.0f, 0.0f, "lambd", "bias");
  t["IsNaN"] = [](OpContext& c) { return convert<NIsNaN>(c, DType::Bool); };
  t["IsInf"] = [](OpContext& c) {
    return convert<NIsInf>(c, DType::Bool, float(c.node.get_int("detect_negative", 1)),
                           float(c.node.get_int("detect_positive", 1)));
  };
  t["Cast"] = lower_cast;
  t["CastLike"] = lower_cast;
  t["Clip"] = lower_clip;
  t["Where"] = lower_where;
  t["Pow"] = lower_pow;
  t["Add"] = [](OpContext& c) { return c.node.has("tinyc_activation") ? lower_add_activation(c) : nary<NAdd>(Types::Any)(c); };
  t["Sum"] = nary<NAdd>(Types::Any);
  t["Sub"] = nary<NSub>(Types::Any);
  t["Mul"] = nary<NMul>(Types::Any);
  t["Div"] = nary<NDiv>(Types::Any);
  t["Mean"] = nary<NMean>(Types::Float);
  t["Max"] = nary<NMax>(Types::Any);
  t["Min"] = nary<NMin>(Types::Any);
  t["PRelu"] = nary<NPRelu>(Types::Any);
  t["Equal"] = nary<NEqual>(Types::Any, Result::Bool);
  t["Less"] = nary<NLess>(Types::Any, Result::Bool);
  t["LessOrEqual"] = nary<NLessOrEqual>(Types::Any, Result::Bool);
  t["Greater"] = nary<NGreater>(Types::Any, Result::Bool);
  t["GreaterOrEqual"] = nary<NGreaterOrEqual>(Types::Any, Result::Bool);
  t["And"] = nary<NAnd>(Types::Bool);
  t["Or"] = nary<NOr>(Types::Bool);
  t["Xor"] = nary<NXor>(Types::Bool);
  t["BitShift"] = [](OpContext& c) {
    return c.node.get_string("direction", "") == "LEFT" ? nary<NBitShiftLeft>(Types::Int)(c)
                                                         : nary<NBitShiftRight>(Types::Int)(c);
  };
  t["Mod"] = [](OpContext& c) {
    return c.node.get_int("fmod", 0) ? nary<NFMod>(Types::Any)(c) : nary<NMod>(Types::Any)(c);
  };
}

}  // namespace tinyc
