// What tinyc knows about one ONNX operator, in one place: its shape rule, and its lowering to a
// runtime kernel call with compile-time parameters. The same lowered kernel runs on the host as
// the reference evaluator and is emitted as C++ by the code generator.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ir/ir.h"
#include "runtime/tinyc/elementwise.h"
#include "runtime/tinyc/nn.h"
#include "runtime/tinyc/tinyc.h"

namespace tinyc {

// Where a kernel's tensor argument comes from: the node's input or output `index`, the kernel's
// scratch, or all the node's inputs or outputs (runtime/tinyc/tinyc.h: Scratch, Inputs, Outputs).
struct KernelArg {
  enum Kind { FromInput, FromOutput, FromScratch, AllInputs, AllOutputs } kind;
  int index;
  const char* type;  // a tensor's element type as the generated code spells it ("void": any)
};

// A node's buffers on the host: its inputs and outputs (nullptr where absent), the kernel's scratch.
struct HostTensors {
  std::vector<const void*> in;
  std::vector<void*> out;
  void* scratch;
};
using HostCall = std::function<void(const HostTensors&)>;

// A node lowered to one call `kernel(params, tensors...)` of the runtime.
struct Lowered {
  std::string kernel;       // e.g. "tinyc::conv<float>"
  std::string params_type;  // e.g. "tinyc::ConvParams"
  std::string params_init;  // C++ initializer of the params
  std::vector<KernelArg> args;  // the kernel's tensor arguments, from its signature
  HostCall run;                 // the same call, on the host
  // The int8 kernels' reference (runtime/tinyc/int8/reference.h) for the same call, which the
  // evaluator runs instead when asked (tinyc run --reference-kernels); empty: run is its own.
  HostCall reference;
  size_t scratch_bytes = 0;  // scratch the kernel needs, its Scratch argument
  // Output 0 may be the very buffer of input `in_place` (the kernel then needs in_place_scratch
  // bytes of scratch instead of scratch_bytes); -1: never. The planner decides whether it is.
  // With a lead, the output starts that many bytes before the input and overlaps the rest of it
  // (the kernel overwrites only values it no longer reads).
  int in_place = -1;
  size_t in_place_scratch = 0;
  size_t in_place_lead = 0;
};


// What an operator sees while it is lowered. The op sets dtype and shape of every output.
struct OpContext {
  const Node& node;
  const Graph& graph;
  std::vector<const Tensor*> in;  // nullptr for an absent optional input
  std::vector<Tensor*> out;       // nullptr for an absent optional output
  Isa isa = Isa::Portable;        // the core the code is for: scratch sizes may depend on it

  size_t num_inputs() const { return in.size(); }
  bool has(size_t i) const { return i < in.size() && in[i] != nullptr; }
  const Tensor& input(size_t i) const;
  const Tensor& const_input(size_t i) const;  // must be a constant
  const Tensor& scalar_input(size_t i) const;  // must hold a value (a bound, a count, an axis)
  int opset() const { return graph.opset; }
  [[noreturn]] void fail(const std::string& why) const;
  // The shape the model declares for output i, for when it depends on values known only at run
  // time (`what` names them in the error when the model declares none).
  const Shape& declared_output(size_t i, const char* what) const;
  void set_output(size_t i, DType t, const Shape& s);
};

using LowerFn = std::function<Lowered(OpContext&)>;

// Marks l in place over the first input of the output's shape and type: for kernels that compute
// each output element from the input elements at the same index only (maps, broadcasts).
Lowered elementwise_in_place(const OpContext& c, Lowered l);

// The lowering of `op` (domain "" / ai.onnx), or nullptr if tinyc does not support it.
const LowerFn* find_op(const std::string& op);
const LowerFn* find_op(const Node& n);  // the same for n's operator in n's domain

// Fails with one line per node whose operator tinyc does not support, all at once.
void check_supported(const Graph& g);

// Which of a lowered node's host functions the evaluator runs: the kernel the generated code
// calls, or its reference where it has one.
enum class Kernels { Fast, Reference };

// Runs a lowered node on the host on the given buffers (in/out: one entry per node input/output,
// nullptr where absent), providing scratch.
void run_lowered(const Lowered& l, std::vector<const void*> in, std::vector<void*> out, Kernels k = Kernels::Fast);

// Lowers one node of the graph for `isa`: sets its outputs' dtypes and shapes, returns the kernel
// call. The host's evaluator runs Portable kernels.
Lowered lower_node(Graph& g, const Node& n, Isa isa = Isa::Portable);

// ---- helpers for the op files ----

std::string params_value(int32_t v);
std::string params_value(float v);
template <size_t N>
std::string params_value(const int32_t (&a)[N]) {
  std::string s = "{";
  for (size_t i = 0; i < N; ++i) s += (i ? ", " : "") + params_value(a[i]);
  return s + "}";
}
template <size_t M, size_t N>
std::string params_value(const int32_t (&a)[M][N]) {
  std::string s = "{";
  for (size_t i = 0; i < M; ++i) s += (i ? ", " : "") + params_value(a[i]);
  return s + "}";
}

// A nested params struct.
template <class P, class = decltype(P::type_name)>
std::string params_value(const P& p) {
  std::string s;
  p.visit([&](const auto&... f) {
    std::vector<std::string> parts{params_value(f)...};
    s = "{" + fmt::format("{}", fmt::join(parts, ", ")) + "}";
  });
  return s;
}

// Where a kernel's argument of type A comes from: a Scratch, Inputs, Outputs, `const T*` the next
// input, `T*` the next output.
template <class A>
constexpr KernelArg::Kind arg_kind() {
  if constexpr (std::is_same_v<A, Scratch>) {
    return KernelArg::FromScratch;
  } else if constexpr (std::is_same_v<A, Inputs>) {
    return KernelArg::AllInputs;
  } else if constexpr (std::is_same_v<A, Outputs>) {
    return KernelArg::AllOutputs;
  } else {
    static_assert(std::is_pointer_v<A>, "a kernel's tensor is a pointer, Scratch, Inputs or Outputs");
    return std::is_const_v<std::remove_pointer_t<A>> ? KernelArg::FromInput : KernelArg::FromOutput;
  }
}

template <class T> const char* c_type();
// The element type of a tensor argument of type A as the generated code spells it; "" for the others.
template <class A>
const char* arg_type() {
  if constexpr (std::is_pointer_v<A> && !std::is_same_v<A, Inputs> && !std::is_same_v<A, Outputs>) {
    using T = std::remove_cv_t<std::remove_pointer_t<A>>;
    if constexpr (std::is_void_v<T>) return "void";
    else return c_type<T>();
  } else {
    return "";
  }
}

// The tensor arguments of a kernel with argument types A (after its params), in order.
template <class... A>
std::vector<KernelArg> kernel_args() {
  std::vector<KernelArg> v;
  int ins = 0, outs = 0;
  const std::pair<KernelArg::Kind, const char*> kinds[] = {{arg_kind<A>(), arg_type<A>()}...};
  for (const auto& [k, type] : kinds)
    v.push_back({k, k == KernelArg::FromInput ? ins++ : k == KernelArg::FromOutput ? outs++ : 0, type});
  return v;
}

// The argument `a` of type A from a node's buffers (nullptr past the node's last input or output).
template <class A>
A host_arg(const KernelArg& a, const HostTensors& t) {
  if constexpr (std::is_same_v<A, Scratch>) return Scratch{t.scratch};
  else if constexpr (std::is_same_v<A, Inputs>) return t.in.data();
  else if constexpr (std::is_same_v<A, Outputs>) return t.out.data();
  else if constexpr (std::is_const_v<std::remove_pointer_t<A>>)
    return size_t(a.index) < t.in.size() ? static_cast<A>(t.in[a.index]) : nullptr;
  else return size_t(a.index) < t.out.size() ? static_cast<A>(t.out[a.index]) : nullptr;
}

template <class P, class... A, size_t... I>
void call_kernel(void (*fn)(const P&, A...), const P& p, const std::vector<KernelArg>& args, const HostTensors& t,
                 std::index_sequence<I...>) {
  fn(p, host_arg<A>(args[I], t)...);
}

// The host's call of kernel fn with params p.
template <class P, class... A>
HostCall host_call(const P& p, void (*fn)(const P&, A...)) {
  return [p, fn, args = kernel_args<A...>()](const HostTensors& t) {
    call_kernel(fn, p, args, t, std::index_sequence_for<A...>());
  };
}

// Builds the Lowered for kernel `name` with params `p`; `fn` must be that very kernel.
template <class P, class... A>
Lowered make_kernel(const std::string& name, const P& p, void (*fn)(const P&, A...)) {
  Lowered l;
  l.kernel = name;
  l.params_type = P::type_name;
  l.params_init = params_value(p);
  l.args = kernel_args<A...>();
  l.run = host_call(p, fn);
  return l;
}

// l with the reference `fn` (runtime/tinyc/int8/reference.h) of its kernel, on the same params.
template <class P, class... A>
Lowered with_reference(Lowered l, const P& p, void (*fn)(const P&, A...)) {
  l.reference = host_call(p, fn);
  return l;
}

// make_kernel for a kernel spelled once, as the generated code calls it (namespace included); the
// host gets the very function the name names: TINYC_KERNEL(p, tinyc::add_s8).
#define TINYC_KERNEL(p, ...) make_kernel(#__VA_ARGS__, p, &__VA_ARGS__)

// The element types of kernels: each DType and its C++ type, spelled as the generated code spells it.
#define TINYC_ELEMENT_TYPES(X)                                                                            \
  X(Float, float) X(Double, double) X(Int8, int8_t) X(Int16, int16_t) X(Int32, int32_t) X(Int64, int64_t) \
  X(UInt8, uint8_t) X(UInt16, uint16_t) X(UInt32, uint32_t) X(UInt64, uint64_t) X(Bool, bool)           \
  X(Float16, tinyc::half)

// Calls f(T{}) with T the C++ type of `t` (numeric types only); fails for others.
template <class F>
auto with_type(const OpContext& c, DType t, F f) {
  switch (t) {
#define TINYC_CASE(D, T) case DType::D: return f(T{});
    TINYC_ELEMENT_TYPES(TINYC_CASE)
#undef TINYC_CASE
    default: c.fail(fmt::format("element type {} is not supported", dtype_name(t)));
  }
}
// The same for float types only.
template <class F>
auto with_float_type(const OpContext& c, DType t, F f) {
  switch (t) {
    case DType::Float: return f(float{});
    case DType::Double: return f(double{});
    default: c.fail(fmt::format("element type {} is not supported", dtype_name(t)));
  }
}

template <class T> const char* c_type();
#define TINYC_C_TYPE(D, T) template <> inline const char* c_type<T>() { return #T; }
TINYC_ELEMENT_TYPES(TINYC_C_TYPE)
#undef TINYC_C_TYPE
#undef TINYC_ELEMENT_TYPES

// "name<a, b>": a kernel template with its type arguments, as the generated code calls it.
std::string template_name(const char* name, std::initializer_list<const char*> types);

// TINYC_KERNEL for a kernel template, instantiated with the C++ types that a dispatcher picks from
// element types (with_type, with_float_type, ...): TINYC_TYPED_KERNEL(p, tinyc::pad, with_type, c,
// x.dtype) is tinyc::pad<float> for a float x.
#define TINYC_TYPED_KERNEL(p, fn, with, ...)                                                        \
  with(__VA_ARGS__, [&](auto... tag) {                                                              \
    return make_kernel(template_name(#fn, {c_type<decltype(tag)>()...}), p, &fn<decltype(tag)...>); \
  })

// Normalizes a possibly negative axis against `rank`; fails when out of range.
int64_t norm_axis(const OpContext& c, int64_t axis, int64_t rank);
// Broadcast shape of two shapes (numpy rules); fails when incompatible.
Shape broadcast_shape(const OpContext& c, const Shape& a, const Shape& b);
// The products of the dimensions before and after `axis`: s viewed as [outer, s[axis], inner].
void split_at(const Shape& s, int64_t axis, int64_t* outer, int64_t* inner);
// Element strides of a row-major shape.
std::vector<int64_t> strides_of(const Shape& s);
// Checked narrowing of a size to the runtime's int32.
int32_t i32(const OpContext& c, int64_t v);

// Geometry of a convolution (pads, strides, dilations, groups, output size) with input x and
// weights w; sets output 0 to `out_type`, NCHW or channels-last (ops/nn.cpp).
ConvParams conv_params(OpContext& c, const Tensor& x, const Tensor& w, const Tensor* bias, DType out_type,
                       bool channels_last_out = false);
// Geometry of a transposed convolution of x with m output channels and a window of `window`
// (strides, dilations, pads, output_padding, output_shape, auto_pad); sets output 0 to
// `out_type` (ops/nn.cpp).
ConvParams conv_transpose_params(OpContext& c, const Tensor& x, int64_t m, const Shape& window, DType out_type);
// Whether the convolution kernels (conv, conv_s8) may write the output over the input: pointwise
// ones that keep or shrink the channels (or batch 1), depthwise ones whose output is not larger.
bool conv_in_place(const ConvParams& p);
// Add with a fused activation (attribute tinyc_activation, set by the optimizer).
Lowered lower_add_activation(OpContext& c);
// Whether the pooling kernels (pool, avg_pool_s8), which finish each output element before the
// next and walk them in order, may write the output over the input: without leading padding and
// no axis growing, no output lands on an input element a later window still reads.
bool pool_in_place(const int32_t in[3], const int32_t out[3], const int32_t pad_begin[3]);
// Numpy broadcasting of `ins` to `out` (ops/elementwise.cpp).
BroadcastParams make_broadcast(const OpContext& c, const Shape& out, const std::vector<Shape>& ins);

// Registration: each ops/*.cpp file adds its operators here.
using OpTable = std::map<std::string, LowerFn>;
void register_elementwise_ops(OpTable& t);
void register_movement_ops(OpTable& t);
void register_nn_ops(OpTable& t);
void register_reduce_ops(OpTable& t);
void register_misc_ops(OpTable& t);
void register_rnn_ops(OpTable& t);
void register_resize_ops(OpTable& t);
void register_quant_ops(OpTable& t);
void register_loss_ops(OpTable& t);
void register_int8_ops(OpTable& t);

}  // namespace tinyc
