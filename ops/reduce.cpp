// Reductions: Reduce*, ArgMax/ArgMin, CumSum, TopK.
#include "ops/op.h"
#include "runtime/tinyc/elementwise.h"
#include "runtime/tinyc/reduce.h"

namespace tinyc {
namespace {

// The reduced axes, when they are only known at run time, from the output shape the model
// declares: with keepdims an axis is reduced where the output has 1 (reducing a 1 changes
// nothing); without, the output shape is the input's with the reduced axes left out.
std::vector<bool> reduced_from_declared(OpContext& c, bool keep) {
  const Shape& s = c.input(0).shape;
  const Shape& o = c.declared_output(0, "the axes input is");
  std::vector<bool> r(s.size(), false);
  if (keep) {
    if (o.size() != s.size()) c.fail("the declared output shape does not match keepdims");
    for (size_t a = 0; a < s.size(); ++a) r[a] = o[a] == 1 && s[a] != 1;
    return r;
  }
  // Match the kept axes from the left and from the right; if both agree the answer is unique.
  std::vector<bool> l(s.size(), true), rr(s.size(), true);
  size_t j = 0, k = o.size();
  for (size_t a = 0; a < s.size() && j < o.size(); ++a)
    if (s[a] == o[j]) l[a] = false, ++j;
  for (size_t a = s.size(); a-- > 0 && k > 0;)
    if (s[a] == o[k - 1]) rr[a] = false, --k;
  if (j != o.size() || k != 0) c.fail("the declared output shape does not match the input");
  if (l != rr) c.fail("the axes input is not a constant and the declared output shape is ambiguous");
  r = l;
  return r;
}

Lowered lower_reduce(OpContext& c, int32_t kind) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> axes = c.node.get_ints("axes");
  const bool keep = c.node.get_int("keepdims", 1) != 0;
  const bool runtime_axes = c.node.op == "ReduceSum" && c.opset() >= 13 && c.has(1) && !c.input(1).is_const;
  if (c.node.op == "ReduceSum" && c.opset() >= 13 && c.has(1) && !runtime_axes) axes = c.input(1).ints();
  std::vector<bool> reduced(r, axes.empty() && !c.node.get_int("noop_with_empty_axes", 0));
  if (runtime_axes) reduced = reduced_from_declared(c, keep);
  for (int64_t a : axes) reduced[norm_axis(c, a, r)] = true;
  Shape out, kept;
  for (int64_t a = 0; a < r; ++a) {
    if (!reduced[a] || keep) out.push_back(reduced[a] ? 1 : x.shape[a]);
    kept.push_back(reduced[a] ? 1 : x.shape[a]);
  }
  c.set_output(0, x.dtype, out);
  if (r > kMaxRank) c.fail("rank too high");
  ReduceParams p{};
  p.kind = kind;
  p.n_in = i32(c, num_elements(x.shape));
  p.n_out = i32(c, num_elements(kept));
  p.rank = r ? static_cast<int32_t>(r) : 1;
  p.in_dims[0] = 1;
  const auto st = strides_of(kept);
  for (int64_t a = 0; a < r; ++a) {
    p.in_dims[a] = i32(c, x.shape[a]);
    p.out_strides[0][a] = reduced[a] ? 0 : i32(c, st[a]);
  }
  return TINYC_TYPED_KERNEL(p, tinyc::reduce, with_type, c, x.dtype);
}

Lowered lower_arg(OpContext& c, bool is_max) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const int64_t axis = norm_axis(c, c.node.get_int("axis", 0), r);
  Shape out = x.shape;
  if (c.node.get_int("keepdims", 1)) out[axis] = 1;
  else out.erase(out.begin() + axis);
  c.set_output(0, DType::Int64, out);
  int64_t outer, inner;
  split_at(x.shape, axis, &outer, &inner);
  ArgParams p{i32(c, outer), i32(c, x.shape[axis]), i32(c, inner), is_max,
              static_cast<int32_t>(c.node.get_int("select_last_index", 0))};
  return TINYC_TYPED_KERNEL(p, tinyc::arg_reduce, with_type, c, x.dtype);
}

Lowered lower_cumsum(OpContext& c) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1 || r > kMaxRank) c.fail("unsupported rank");
  c.set_output(0, x.dtype, x.shape);
  CumSumParams p{};
  p.rank = static_cast<int32_t>(r);
  for (int64_t a = 0; a < r; ++a) p.dims[a] = i32(c, x.shape[a]);
  p.exclusive = static_cast<int32_t>(c.node.get_int("exclusive", 0));
  p.reverse = static_cast<int32_t>(c.node.get_int("reverse", 0));
  p.axis = -1;  // read from input 1 at run time
  p.index64_axis = c.input(1).dtype == DType::Int64;
  if (c.input(1).is_const) p.axis = static_cast<int32_t>(norm_axis(c, c.scalar_input(1).ints().at(0), r));
  return TINYC_TYPED_KERNEL(p, tinyc::cumsum, with_type, c, x.dtype);
}

Lowered lower_topk(OpContext& c) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const int64_t axis = norm_axis(c, c.node.get_int("axis", -1), r);
  int64_t k;
  if (c.opset() < 10) k = c.node.get_int("k", 0);
  else if (c.input(1).is_const) k = c.scalar_input(1).ints().at(0);
  else if (c.declared_output(0, "K is").size() != x.shape.size()) c.fail("the declared output has the wrong rank");
  else k = c.declared_output(0, "K is")[axis];
  if (k < 0 || k > x.shape[axis]) c.fail(fmt::format("K = {} is out of range", k));
  if (!c.node.get_int("sorted", 1)) c.fail("sorted = 0 is not supported");
  Shape out = x.shape;
  out[axis] = k;
  c.set_output(0, x.dtype, out);
  c.set_output(1, DType::Int64, out);
  int64_t outer, inner;
  split_at(x.shape, axis, &outer, &inner);
  TopKParams p{i32(c, outer), i32(c, x.shape[axis]), i32(c, inner), i32(c, k),
               static_cast<int32_t>(c.node.get_int("largest", 1))};
  return TINYC_TYPED_KERNEL(p, tinyc::topk, with_type, c, x.dtype);
}

}  // namespace

void register_reduce_ops(OpTable& t) {
  const std::pair<const char*, int32_t> reductions[] = {
      {"ReduceSum", kReduceSum}, {"ReduceMean", kReduceMean}, {"ReduceMax", kReduceMax},
      {"ReduceMin", kReduceMin}, {"ReduceProd", kReduceProd}, {"ReduceL1", kReduceL1},
      {"ReduceL2", kReduceL2}, {"ReduceSumSquare", kReduceSumSquare},
      {"ReduceLogSum", kReduceLogSum}, {"ReduceLogSumExp", kReduceLogSumExp}};
  for (const auto& [name, kind] : reductions) {
    const int32_t k = kind;
    t[name] = [k](OpContext& c) { return lower_reduce(c, k); };
  }
  t["ArgMax"] = [](OpContext& c) { return lower_arg(c, true); };
  t["ArgMin"] = [](OpContext& c) { return lower_arg(c, false); };
  t["CumSum"] = lower_cumsum;
  t["TopK"] = lower_topk;
}

}  // namespace tinyc
