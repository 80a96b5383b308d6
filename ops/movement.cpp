// Operators that move data without arithmetic: views (Reshape, Flatten, Squeeze, Unsqueeze),
// Transpose, Slice, Concat, Split, Gather, Pad, Expand, Tile, DepthToSpace, SpaceToDepth.
#include <algorithm>

#include "ops/op.h"
#include "runtime/tinyc/elementwise.h"
#include "runtime/tinyc/movement.h"

namespace tinyc {
namespace {

Lowered copy_kernel(OpContext& c, DType t, int64_t n) {
  MapParams p{i32(c, n), 0, 0, 0};
  return with_type(c, t, [&](auto tag) {
    using T = decltype(tag);
    return make_kernel(fmt::format("tinyc::map<tinyc::op::Copy, {0}, {0}>", c_type<T>()), p,
                       &map<op::Copy, T, T>);
  });
}

// A node whose output holds the input's elements in the same order, in a new shape.
Lowered view(OpContext& c, const Shape& out) {
  const Tensor& x = c.input(0);
  if (num_elements(out) != num_elements(x.shape))
    c.fail(fmt::format("cannot view {} as {}", shape_str(x.shape), shape_str(out)));
  c.set_output(0, x.dtype, out);
  return copy_kernel(c, x.dtype, num_elements(out));
}

Lowered lower_reshape(OpContext& c) {
  const Tensor& x = c.input(0);
  if (!c.input(1).is_const) return view(c, c.declared_output(0, "the shape input is"));
  std::vector<int64_t> spec = c.input(1).ints();
  const bool allow_zero = c.node.get_int("allowzero", 0) != 0;
  Shape out;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allow_zero) {
      if (i >= x.shape.size()) c.fail("shape copies a dimension the input does not have");
      d = x.shape[i];
    }
    if (d == -1) {
      if (infer >= 0) c.fail("shape has more than one -1");
      infer = static_cast<int64_t>(i);
      d = 1;
    } else if (d < 0) {
      c.fail(fmt::format("shape has invalid dimension {}", d));
    }
    out.push_back(d);
    if (__builtin_mul_overflow(known, d, &known)) c.fail("shape has too many elements");
  }
  if (infer >= 0) {
    if (known == 0 || num_elements(x.shape) % known) c.fail("cannot infer the -1 dimension");
    out[infer] = num_elements(x.shape) / known;
  }
  return view(c, out);
}

Lowered lower_flatten(OpContext& c) {
  const Shape& s = c.input(0).shape;
  const int64_t r = static_cast<int64_t>(s.size());
  int64_t axis = c.node.get_int("axis", 1);
  if (axis < -r || axis > r) c.fail(fmt::format("axis {} is out of range", axis));
  if (axis < 0) axis += r;
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < r; ++i) (i < axis ? a : b) *= s[i];
  return view(c, {a, b});
}

std::vector<int64_t> axes_of(OpContext& c, size_t input, bool* known) {
  *known = true;
  if (c.opset() < 13 || c.node.has("axes")) return c.node.get_ints("axes");
  if (!c.has(input)) return {};
  if (!c.input(input).is_const) {
    *known = false;
    return {};
  }
  return c.input(input).ints();
}

Lowered lower_squeeze(OpContext& c) {
  const Shape& s = c.input(0).shape;
  bool known;
  std::vector<int64_t> axes = axes_of(c, 1, &known);
  if (!known) return view(c, c.declared_output(0, "the axes input is"));
  const int64_t r = static_cast<int64_t>(s.size());
  std::vector<bool> drop(s.size(), false);
  for (int64_t a : axes) {
    a = norm_axis(c, a, r);
    if (s[a] != 1) c.fail(fmt::format("cannot squeeze axis {} of size {}", a, s[a]));
    drop[a] = true;
  }
  Shape out;
  for (int64_t i = 0; i < r; ++i)
    if (!(axes.empty() ? s[i] == 1 : drop[i])) out.push_back(s[i]);
  return view(c, out);
}

Lowered lower_unsqueeze(OpContext& c) {
  const Shape& s = c.input(0).shape;
  bool known;
  std::vector<int64_t> axes = axes_of(c, 1, &known);
  if (!known) return view(c, c.declared_output(0, "the axes input is"));
  const int64_t r = static_cast<int64_t>(s.size() + axes.size());
  std::vector<bool> added(r, false);
  for (int64_t a : axes) {
    a = norm_axis(c, a, r);
    if (added[a]) c.fail("repeated axis");
    added[a] = true;
  }
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(added[i] ? 1 : s[k++]);
  return view(c, out);
}

// out[i...] = in[offset + sum i_a * strides[a]], the output then seen as shape `result`
// (default: `out`).
Lowered strided(OpContext& c, const Shape& out, int64_t offset, const std::vector<int64_t>& strides,
                const Shape* result = nullptr) {
  const Tensor& x = c.input(0);
  if (out.size() > kMaxRank) c.fail(fmt::format("rank {} exceeds {}", out.size(), kMaxRank));
  c.set_output(0, x.dtype, result ? *result : out);
  StridedParams p{};
  p.n = i32(c, num_elements(out));
  p.offset = i32(c, offset);
  p.rank = out.empty() ? 1 : static_cast<int32_t>(out.size());
  p.dims[0] = 1;
  for (size_t a = 0; a < out.size(); ++a) {
    p.dims[a] = i32(c, out[a]);
    p.strides[0][a] = i32(c, strides[a]);
  }
  return TINYC_TYPED_KERNEL(p, tinyc::strided_copy, with_type, c, x.dtype);
}

Lowered lower_transpose(OpContext& c) {
  const Shape& s = c.input(0).shape;
  const size_t r = s.size();
  std::vector<int64_t> perm = c.node.get_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  if (perm.size() != r) c.fail("perm does not match the input rank");
  std::vector<bool> seen(r, false);
  const auto st = strides_of(s);
  Shape out;
  std::vector<int64_t> strides;
  for (int64_t a : perm) {
    if (a < 0 || a >= static_cast<int64_t>(r) || seen[a]) c.fail("perm is not a permutation");
    seen[a] = true;
    out.push_back(s[a]);
    strides.push_back(st[a]);
  }
  return strided(c, out, 0, strides);
}

Lowered lower_slice(OpContext& c) {
  const Shape& s = c.input(0).shape;
  const int64_t r = static_cast<int64_t>(s.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.node.get_ints("starts");
    ends = c.node.get_ints("ends");
    axes = c.node.get_ints("axes");
  } else {
    const bool constant = c.input(1).is_const && c.input(2).is_const &&
                          (!c.has(3) || c.input(3).is_const) && (!c.has(4) || c.input(4).is_const);
    if (!constant) {
      const Shape out = c.declared_output(0, "the slice bounds are");
      c.set_output(0, c.input(0).dtype, out);
      SliceParams p{};
      p.n = i32(c, num_elements(out));
      p.rank = static_cast<int32_t>(r);
      if (r < 1 || r > kMaxRank) c.fail("unsupported rank");
      for (int64_t a = 0; a < r; ++a) p.in_dims[a] = i32(c, s[a]), p.dims[a] = i32(c, out[a]);
      p.naxes = i32(c, num_elements(c.input(1).shape));
      p.index64 = c.input(1).dtype == DType::Int64;
      return TINYC_TYPED_KERNEL(p, tinyc::slice_dynamic, with_type, c, c.input(0).dtype);
    }
    starts = c.input(1).ints();
    ends = c.input(2).ints();
    if (c.has(3)) axes = c.input(3).ints();
    if (c.has(4)) steps = c.input(4).ints();
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    c.fail("starts, ends, axes and steps differ in length");
  Shape out = s;
  std::vector<int64_t> first(r, 0), step(r, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = norm_axis(c, axes[i], r), d = s[a];
    const int64_t most = std::max<int64_t>(d, 1);  // a longer step takes the same one element
    const int64_t st = std::clamp<int64_t>(steps[i], -most, most);
    if (st == 0) c.fail("step 0");
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += d;
    if (e < 0) e += d;
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      out[a] = e > b ? (e - b + st - 1) / st : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      out[a] = b > e ? (b - e - st - 1) / -st : 0;
    }
    first[a] = b;
    step[a] = st;
  }
  const auto st = strides_of(s);
  int64_t offset = 0;
  std::vector<int64_t> strides(r);
  for (int64_t a = 0; a < r; ++a) {
    if (out[a] > 0) offset += first[a] * st[a];
    strides[a] = st[a] * step[a];
  }
  return strided(c, out, num_elements(out) ? offset : 0, strides);
}

Lowered lower_expand(OpContext& c) {
  const Shape& s = c.input(0).shape;
  const Shape out = c.input(1).is_const ? broadcast_shape(c, s, c.input(1).ints())
                                        : c.declared_output(0, "the shape input is");
  if (out.size() < s.size()) c.fail("output rank is lower than the input's");
  const auto st = strides_of(s);
  std::vector<int64_t> strides(out.size(), 0);
  for (size_t a = 0; a < s.size(); ++a) {
    const size_t oa = a + out.size() - s.size();
    if (s[a] != 1 && s[a] != out[oa]) c.fail("shapes do not broadcast");
    strides[oa] = s[a] == 1 ? 0 : st[a];
  }
  return strided(c, out, 0, strides);
}

Lowered lower_depth_to_space(OpContext& c) {
  const Shape& s = c.input(0).shape;
  if (s.size() != 4) c.fail("input must be 4-D");
  const int64_t b = c.node.get_int("blocksize", 0), n = s[0], ch = s[1], h = s[2], w = s[3];
  if (b <= 0 || ch % (b * b)) c.fail("channels are not divisible by blocksize^2");
  const int64_t co = ch / (b * b), hw = h * w;
  const Shape out6{n, co, h, b, w, b};
  std::vector<int64_t> strides;
  if (c.node.get_string("mode", "DCR") == "CRD")
    strides = {ch * hw, b * b * hw, w, b * hw, 1, hw};
  else
    strides = {ch * hw, hw, w, b * co * hw, 1, co * hw};
  const Shape result{n, co, h * b, w * b};
  return strided(c, out6, 0, strides, &result);
}

Lowered lower_space_to_depth(OpContext& c) {
  const Shape& s = c.input(0).shape;
  if (s.size() != 4) c.fail("input must be 4-D");
  const int64_t b = c.node.get_int("blocksize", 0), n = s[0], ch = s[1], h = s[2], w = s[3];
  if (b <= 0 || b > h || b > w || h % b || w % b) c.fail("height and width are not divisible by blocksize");
  const Shape out6{n, b, b, ch, h / b, w / b};
  const Shape result{n, ch * b * b, h / b, w / b};
  return strided(c, out6, 0, {ch * h * w, w, 1, h * w, b * w, b}, &result);
}

Lowered lower_concat(OpContext& c) {
  const Tensor& x0 = c.input(0);
  const int64_t r = static_cast<int64_t>(x0.shape.size());
  const int64_t axis = norm_axis(c, c.node.get_int("axis", 0), r);
  if (c.num_inputs() > kMaxInputs) c.fail(fmt::format("more than {} inputs", kMaxInputs));
  Shape out = x0.shape;
  out[axis] = 0;
  ConcatParams p{};
  p.count = static_cast<int32_t>(c.num_inputs());
  int64_t outer = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= x0.shape[a];
  p.outer = i32(c, outer);
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    const Shape& s = c.input(i).shape;
    if (static_cast<int64_t>(s.size()) != r || c.input(i).dtype != x0.dtype)
      c.fail("inputs differ in rank or type");
    for (int64_t a = 0; a < r; ++a)
      if (a != axis && s[a] != x0.shape[a]) c.fail("inputs differ outside the concat axis");
    out[axis] += s[axis];
    p.chunk[i] = i32(c, outer ? num_elements(s) / outer : 0);
  }
  c.set_output(0, x0.dtype, out);
  return TINYC_TYPED_KERNEL(p, tinyc::concat, with_type, c, x0.dtype);
}

Lowered lower_split(OpContext& c) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  const int64_t axis = norm_axis(c, c.node.get_int("axis", 0), r);
  const size_t n_out = c.out.size();
  if (n_out > kMaxInputs) c.fail(fmt::format("more than {} outputs", kMaxInputs));
  std::vector<int64_t> sizes;
  if (c.opset() < 13) {
    sizes = c.node.get_ints("split");
    if (sizes.empty() && c.has(1)) sizes = c.const_input(1).ints();
  } else if (c.has(1) && c.input(1).is_const) {
    sizes = c.input(1).ints();
  } else if (c.has(1)) {  // known at run time only: the model must declare the output shapes
    for (size_t i = 0; i < n_out; ++i) {
      const Shape& declared = c.declared_output(i, "the split input is");
      if (declared.size() != x.shape.size()) c.fail("a declared output has the wrong rank");
      sizes.push_back(declared[axis]);
    }
  }
  if (sizes.empty()) {
    if (x.shape[axis] % static_cast<int64_t>(n_out)) c.fail("the axis does not split evenly");
    sizes.assign(n_out, x.shape[axis] / static_cast<int64_t>(n_out));
  }
  int64_t total = 0;
  for (int64_t v : sizes) {
    if (v < 0 || v > x.shape[axis]) c.fail("split sizes do not add up");
    total += v;
  }
  if (sizes.size() != n_out || total != x.shape[axis]) c.fail("split sizes do not add up");
  int64_t outer, inner;
  split_at(x.shape, axis, &outer, &inner);
  ConcatParams p{};
  p.outer = i32(c, outer);
  p.count = static_cast<int32_t>(n_out);
  for (size_t i = 0; i < n_out; ++i) {
    Shape s = x.shape;
    s[axis] = sizes[i];
    c.set_output(i, x.dtype, s);
    p.chunk[i] = i32(c, sizes[i] * inner);
  }
  return TINYC_TYPED_KERNEL(p, tinyc::split, with_type, c, x.dtype);
}

Lowered lower_gather(OpContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& idx = c.input(1);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1) c.fail("the data must have rank 1 or more");
  const int64_t axis = norm_axis(c, c.node.get_int("axis", 0), r);
  if (idx.dtype != DType::Int64 && idx.dtype != DType::Int32) c.fail("indices must be int32/int64");
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  c.set_output(0, x.dtype, out);
  if (idx.is_const)
    for (int64_t v : idx.ints())
      if (v < -x.shape[axis] || v >= x.shape[axis]) c.fail(fmt::format("index {} is out of range", v));
  GatherParams p{};
  int64_t outer, inner;
  split_at(x.shape, axis, &outer, &inner);
  p.outer = i32(c, outer);
  p.inner = i32(c, inner);
  p.axis_dim = i32(c, x.shape[axis]);
  p.count = i32(c, num_elements(idx.shape));
  p.index64 = idx.dtype == DType::Int64;
  return TINYC_TYPED_KERNEL(p, tinyc::gather, with_type, c, x.dtype);
}

Lowered lower_gather_elements(OpContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& idx = c.input(1);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1 || r > kMaxRank || idx.shape.size() != x.shape.size()) c.fail("unsupported ranks");
  c.set_output(0, x.dtype, idx.shape);
  GatherElementsParams p{};
  p.n = i32(c, num_elements(idx.shape));
  p.rank = static_cast<int32_t>(r);
  p.axis = static_cast<int32_t>(norm_axis(c, c.node.get_int("axis", 0), r));
  p.index64 = idx.dtype == DType::Int64;
  for (int64_t a = 0; a < r; ++a) p.dims[a] = i32(c, idx.shape[a]), p.in_dims[a] = i32(c, x.shape[a]);
  return TINYC_TYPED_KERNEL(p, tinyc::gather_elements, with_type, c, x.dtype);
}

Lowered lower_pad(OpContext& c) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1 || r > kMaxRank) c.fail("unsupported rank");
  PadParams p{};
  const std::string mode = c.node.get_string("mode", "constant");
  p.mode = mode == "reflect" ? 1 : mode == "edge" ? 2 : 0;
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    c.fail(fmt::format("mode '{}' is not supported", mode));
  std::vector<int64_t> pads;
  Shape out;
  if (c.opset() < 11) {
    pads = c.node.get_ints("pads");
    p.value = c.node.get_float("value", 0.0f);
  } else if (c.input(1).is_const && (!c.has(2) || c.input(2).is_const)) {
    pads = c.input(1).ints();
    if (c.has(2)) p.value = static_cast<float>(c.scalar_input(2).floats().at(0));
  } else {
    out = c.declared_output(0, "the pads input is");
    p.pads_from_input = 1;
  }
  if (!p.pads_from_input) {
    if (static_cast<int64_t>(pads.size()) != 2 * r) c.fail("pads must have 2 * rank entries");
    for (int64_t a = 0; a < r; ++a) {
      int64_t d;
      if (__builtin_add_overflow(x.shape[a], pads[a], &d) || __builtin_add_overflow(d, pads[a + r], &d))
        c.fail("pads make the output too large");
      out.push_back(d);
      p.begin[a] = i32(c, pads[a]);
      if (p.mode == 1 && (pads[a] >= x.shape[a] || pads[a + r] >= x.shape[a]) && x.shape[a] > 1)
        c.fail("reflect padding is larger than the input");
    }
  }
  c.set_output(0, x.dtype, out);
  p.n = i32(c, num_elements(out));
  p.rank = static_cast<int32_t>(r);
  for (int64_t a = 0; a < r; ++a) p.in_dims[a] = i32(c, x.shape[a]), p.dims[a] = i32(c, out[a]);
  return TINYC_TYPED_KERNEL(p, tinyc::pad, with_type, c, x.dtype);
}

Lowered lower_tile(OpContext& c) {
  const Tensor& x = c.input(0);
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1 || r > kMaxRank) c.fail("unsupported rank");
  Shape out;
  if (c.input(1).is_const) {
    const auto reps = c.input(1).ints();
    if (static_cast<int64_t>(reps.size()) != r) c.fail("repeats must have one entry per axis");
    for (int64_t a = 0; a < r; ++a) {
      int64_t d;
      if (__builtin_mul_overflow(x.shape[a], reps[a], &d)) c.fail("the output has too many elements");
      out.push_back(d);
    }
  } else {
    out = c.declared_output(0, "the repeats input is");
  }
  c.set_output(0, x.dtype, out);
  TileParams p{};
  p.n = i32(c, num_elements(out));
  p.rank = static_cast<int32_t>(r);
  for (int64_t a = 0; a < r; ++a) p.in_dims[a] = i32(c, x.shape[a]), p.dims[a] = i32(c, out[a]);
  return TINYC_TYPED_KERNEL(p, tinyc::tile, with_type, c, x.dtype);
}

}  // namespace

void register_movement_ops(OpTable& t) {
  t.insert({{"Reshape", lower_reshape}, {"Flatten", lower_flatten}, {"Squeeze", lower_squeeze},
            {"Unsqueeze", lower_unsqueeze}, {"Transpose", lower_transpose}, {"Slice", lower_slice},
            {"Expand", lower_expand}, {"DepthToSpace", lower_depth_to_space}, {"SpaceToDepth", lower_space_to_depth},
            {"Concat", lower_concat}, {"Split", lower_split}, {"Gather", lower_gather},
            {"GatherElements", lower_gather_elements}, {"Pad", lower_pad}, {"Tile", lower_tile}});
}

}  // namespace tinyc
