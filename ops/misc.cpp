// Generators and compile-time operators: Constant, Shape, Size, ConstantOfShape, EyeLike (always
// folded by the compiler), Range, Trilu, OneHot.
#include <algorithm>
#include <cstring>

#include "ops/op.h"
#include "runtime/tinyc/misc.h"

namespace tinyc {
namespace {

// An operator whose output depends only on attributes and shapes: evaluated at compile time,
// never emitted.
Lowered compile_time(std::vector<uint8_t> bytes) {
  Lowered l;
  l.run = [bytes = std::move(bytes)](const HostTensors& t) {
    if (!bytes.empty()) std::memcpy(t.out[0], bytes.data(), bytes.size());
  };
  return l;
}

// The same for output 0 = the float or int64 values v: a 1-D tensor, or a scalar (one value).
template <class T>
Lowered compile_time(OpContext& c, const std::vector<T>& v, bool scalar = false) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, int64_t>);
  c.set_output(0, std::is_same_v<T, float> ? DType::Float : DType::Int64,
               scalar ? Shape{} : Shape{static_cast<int64_t>(v.size())});
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return compile_time(std::move(b));
}

Lowered lower_constant(OpContext& c) {
  const Node& n = c.node;
  if (n.has("value")) {
    const Tensor& t = *n.attrs.at("value").t;
    c.set_output(0, t.dtype, t.shape);
    return compile_time(t.data);
  }
  if (n.has("value_float")) return compile_time(c, std::vector<float>{n.get_float("value_float", 0)}, true);
  if (n.has("value_floats")) return compile_time(c, n.get_floats("value_floats"));
  if (n.has("value_int")) return compile_time(c, std::vector<int64_t>{n.get_int("value_int", 0)}, true);
  if (n.has("value_ints")) return compile_time(c, n.get_ints("value_ints"));
  c.fail("only numeric tensor values are supported");
}

Lowered lower_shape(OpContext& c) {
  const Shape& s = c.input(0).shape;
  const int64_t r = static_cast<int64_t>(s.size());
  int64_t start = c.node.get_int("start", 0), end = c.node.get_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  return compile_time(c, std::vector<int64_t>(s.begin() + start, s.begin() + end));
}

Lowered lower_size(OpContext& c) {
  return compile_time(c, std::vector<int64_t>{num_elements(c.input(0).shape)}, true);
}

Lowered lower_constant_of_shape(OpContext& c) {
  Shape out;
  out = c.input(0).is_const ? c.input(0).ints() : c.declared_output(0, "the shape input is");
  DType t = DType::Float;
  std::vector<uint8_t> one(4, 0);
  if (c.node.has("value")) {
    const Tensor& v = *c.node.attrs.at("value").t;
    if (num_elements(v.shape) != 1) c.fail("value must hold one element");
    t = v.dtype;
    one = v.data;
  }
  if (dtype_size(t) == 0) c.fail("unsupported value type");
  c.set_output(0, t, out);
  std::vector<uint8_t> bytes(static_cast<size_t>(num_elements(out)) * one.size());
  if (!bytes.empty()) std::memcpy(bytes.data(), one.data(), one.size());
  for (size_t have = one.size(); have < bytes.size(); have *= 2)  // not value by value: up to 1 GiB
    std::memcpy(bytes.data() + have, bytes.data(), std::min(have, bytes.size() - have));
  return compile_time(std::move(bytes));
}

Lowered lower_eye_like(OpContext& c) {
  const Tensor& x = c.input(0);
  if (x.shape.size() != 2) c.fail("input must be 2-D");
  const DType t = c.node.has("dtype") ? static_cast<DType>(c.node.get_int("dtype", 1)) : x.dtype;
  c.set_output(0, t, x.shape);
  MatrixParams p{1, i32(c, x.shape[0]), i32(c, x.shape[1]), i32(c, c.node.get_int("k", 0)), 0};
  Lowered l = TINYC_TYPED_KERNEL(p, tinyc::eye_like, with_type, c, t);
  l.kernel.clear();  // depends on the shape only: always folded
  return l;
}

Lowered lower_range(OpContext& c) {
  const Tensor& start = c.input(0);
  int64_t n;
  if (start.is_const && c.input(1).is_const && c.input(2).is_const) {
    const double s = c.scalar_input(0).floats().at(0), l = c.scalar_input(1).floats().at(0), d = c.scalar_input(2).floats().at(0);
    if (d == 0) c.fail("delta is 0");
    const double count = std::ceil((l - s) / d);
    if (!(count < 2147483648.0)) c.fail("the range has too many values");  // NaN too
    n = count > 0 ? static_cast<int64_t>(count) : 0;
  } else {
    n = num_elements(c.declared_output(0, "the bounds are"));
  }
  c.set_output(0, start.dtype, {n});
  CountParams p{i32(c, n)};
  return TINYC_TYPED_KERNEL(p, tinyc::range, with_type, c, start.dtype);
}

Lowered lower_trilu(OpContext& c) {
  const Tensor& x = c.input(0);
  const size_t r = x.shape.size();
  if (r < 2) c.fail("input must be at least 2-D");
  c.set_output(0, x.dtype, x.shape);
  const int64_t rows = x.shape[r - 2], cols = x.shape[r - 1];
  MatrixParams p{i32(c, (rows * cols) != 0 ? num_elements(x.shape) / (rows * cols) : 0), i32(c, rows),
                 i32(c, cols), 0, static_cast<int32_t>(c.node.get_int("upper", 1))};
  return TINYC_TYPED_KERNEL(p, tinyc::trilu, with_type, c, x.dtype);
}

Lowered lower_one_hot(OpContext& c) {
  const Tensor& idx = c.input(0);
  const Tensor& values = c.input(2);
  int64_t depth;
  const int64_t r = static_cast<int64_t>(idx.shape.size()) + 1;
  const int64_t axis = norm_axis(c, c.node.get_int("axis", -1), r);
  if (c.input(1).is_const) {
    const double d = c.scalar_input(1).floats().at(0);
    if (!(std::fabs(d) < 2147483648.0)) c.fail("depth is out of range");  // NaN too
    depth = static_cast<int64_t>(d);
  } else {
    const Shape& declared = c.declared_output(0, "depth is");
    if (declared.size() != static_cast<size_t>(r)) c.fail("the declared output has the wrong rank");
    depth = declared[axis];
  }
  Shape out = idx.shape;
  out.insert(out.begin() + axis, depth);
  c.set_output(0, values.dtype, out);
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < r - 1; ++a) (a < axis ? outer : inner) *= idx.shape[a];
  const int32_t it = idx.dtype == DType::Int64 ? 0 : idx.dtype == DType::Int32 ? 1
                   : idx.dtype == DType::Float ? 2 : -1;
  if (it < 0) c.fail("indices must be int64, int32 or float");
  OneHotParams p{i32(c, outer), i32(c, depth), i32(c, inner), it};
  return TINYC_TYPED_KERNEL(p, tinyc::one_hot, with_type, c, values.dtype);
}

}  // namespace

// Constants, shapes, ranges and one-hot.
void register_misc_ops(OpTable& t) {
  t.insert({{"Constant", lower_constant}, {"Shape", lower_shape}, {"Size", lower_size},
            {"ConstantOfShape", lower_constant_of_shape}, {"EyeLike", lower_eye_like}, {"Range", lower_range},
            {"Trilu", lower_trilu}, {"OneHot", lower_one_hot}});
}

}  // namespace tinyc
