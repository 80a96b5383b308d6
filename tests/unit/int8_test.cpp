// int8 arithmetic against values worked out by hand from TFLite's int8 spec, and the int8 conv
// kernel against a straightforward loop on random shapes and parameters.
#include <catch2/catch.hpp>

#include <random>

#include "ops/evaluate.h"
#include "quantizer/quantize.h"
#include "runtime/tinyc/int8.h"
#include "tests/common/int8_reference.h"
#include "runtime/tinyc/resize.h"

using namespace tinyc;
constexpr Rounding TFLite = Rounding::TFLite, Onnx = Rounding::OnnxFloat;

// Tensor n of g: float, of shape s; a constant holding v when v is given.
static void add_float(Graph& g, const std::string& n, const Shape& s, const std::vector<float>& v = {}) {
  Tensor t;
  t.name = n, t.dtype = DType::Float, t.shape = s, t.has_shape = true, t.is_const = !v.empty();
  t.data.resize(v.size() * sizeof(float));
  if (!v.empty()) std::memcpy(t.data.data(), v.data(), t.data.size());
  g.tensors[n] = t;
}

// count samples of g's one input, element i of sample k being value(i, k).
template <class F>
static std::vector<std::vector<Tensor>> samples_of(const Graph& g, int count, F value) {
  std::vector<std::vector<Tensor>> samples;
  for (int k = 0; k < count; ++k) {
    Tensor s = g.tensor(g.inputs[0]);
    const int64_t n = num_elements(s.shape);
    s.data.resize(size_t(n) * sizeof(float));
    for (int64_t i = 0; i < n; ++i) s.as<float>()[i] = value(int(i), k);
    samples.push_back({s});
  }
  return samples;
}

TEST_CASE("QuantizeMultiplier: real = m * 2^shift / 2^31") {
  int32_t m, s;
  quantize_multiplier(0.5, &m, &s);
  CHECK(m == (1 << 30));
  CHECK(s == 0);
  quantize_multiplier(1.0, &m, &s);
  CHECK(m == (1 << 30));
  CHECK(s == 1);
  quantize_multiplier(0.75, &m, &s);
  CHECK(m == 1610612736);
  CHECK(s == 0);
  quantize_multiplier(0.1, &m, &s);  // 0.1 = 0.8 * 2^-3; 0.8 * 2^31 = 1717986918.4
  CHECK(m == 1717986918);
  CHECK(s == -3);
  quantize_multiplier(std::ldexp(1.0, -40), &m, &s);  // below 2^-32: flushed to zero
  CHECK(m == 0);
  CHECK(s == 0);
}

// gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT as TFLite writes them: the
// reference for tinyc's one-multiply multiply_by_quantized_multiplier.
static int32_t gemmlowp_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = int64_t(a) * b;
  const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : 1 - (int64_t(1) << 30);
  return int32_t((ab + nudge) / (int64_t(1) << 31));  // division truncates toward zero
}
static int32_t gemmlowp_divide_by_pot(int32_t x, int32_t exponent) {
  const int32_t mask = int32_t((uint32_t(1) << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
static int32_t tflite_multiply(int32_t x, int32_t m, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  return gemmlowp_divide_by_pot(gemmlowp_high_mul(int32_t(uint32_t(x) << left), m), right);
}

TEST_CASE("MultiplyByQuantizedMultiplier rounds as gemmlowp") {
  // x * 0.5: ties round up (toward +infinity) in the doubling high multiply.
  CHECK(multiply_by_quantized_multiplier(100, 1 << 30, 0) == 50);
  CHECK(multiply_by_quantized_multiplier(3, 1 << 30, 0) == 2);    // 1.5 -> 2
  CHECK(multiply_by_quantized_multiplier(-3, 1 << 30, 0) == -1);  // -1.5 -> -1
  // The right shift rounds half away from zero.
  CHECK(multiply_by_quantized_multiplier(5, 1 << 30, -1) == 2);    // 5 * 0.25: 2.5 -> 3, then 1.5 -> 2 (TFLite rounds twice)
  CHECK(multiply_by_quantized_multiplier(9, 1 << 30, -2) == 1);    // 9 / 8: 4.5 -> 5, then 1.25 -> 1
  CHECK(multiply_by_quantized_multiplier(6, 1 << 30, -1) == 2);    // 1.5 -> 2
  CHECK(multiply_by_quantized_multiplier(-6, 1 << 30, -1) == -2);  // -1.5 -> -2
  CHECK(multiply_by_quantized_multiplier(-3, 1 << 30, -1) == -1);  // -0.75 -> -1
  CHECK(multiply_by_quantized_multiplier(1000, 1717986918, -3) == 100);  // 1000 * 0.1
  CHECK(multiply_by_quantized_multiplier(1 << 20, 1 << 30, 2) == (1 << 21));  // left shift: x * 2
}

TEST_CASE("the one-multiply requantization equals TFLite's high multiply and rounding shift") {
  std::mt19937 rng(3);
  for (int i = 0; i < 300000; ++i) {
    const int32_t x = i < 100 ? (i - 50) * (1 << 25) : int32_t(rng());
    const int32_t m = i % 7 ? int32_t((1u << 30) + rng() % (1u << 30)) : int32_t(rng() % (1u << 31));
    const int32_t shift = i % 3 ? -int32_t(rng() % 32) : int32_t(rng() % 8);
    REQUIRE(multiply_by_quantized_multiplier(x, m, shift) == tflite_multiply(x, m, shift));
  }
  // Every x of a dense range, where the ties of both roundings lie, for every right shift.
  for (int32_t shift = -31; shift <= 0; ++shift)
    for (int32_t m : {1 << 30, (1 << 30) + 1, 1431655765, INT32_MAX, 0})
      for (int32_t x = -5000; x <= 5000; ++x) REQUIRE(multiply_by_quantized_multiplier(x, m, shift) == tflite_multiply(x, m, shift));
  for (int32_t x : {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1})
    for (int32_t shift = -31; shift <= 0; ++shift)
      CHECK(multiply_by_quantized_multiplier(x, INT32_MAX, shift) == tflite_multiply(x, INT32_MAX, shift));
}

TEST_CASE("the M0+'s 32 x 32 -> 64 multiply from four 16 x 16 products equals the 64-bit product") {
  std::mt19937_64 rng(6);
  const int32_t edges[] = {0, 1, -1, INT32_MIN, INT32_MAX, 65535, 65536, -65536, 32767, 32768, -32768, -32769};
  for (int32_t a : edges)
    for (int32_t b : edges) REQUIRE(mul_wide_halves(a, b) == int64_t(a) * b);
  for (int i = 0; i < 2000000; ++i) {
    const int32_t a = int32_t(uint32_t(rng())) >> (rng() % 32), b = int32_t(uint32_t(rng())) >> (rng() % 32);
    REQUIRE(mul_wide_halves(a, b) == int64_t(a) * b);
  }
}

// ONNX's rounding as the float path does it: the product rounded to float, clamped, half to even.
static int32_t onnx_rounding(int32_t acc, float scale) {
  const float f = std::min(512.0f, std::max(-512.0f, float(acc) * scale));
  return int32_t(std::nearbyint(f));
}

TEST_CASE("ONNX's rounding in integers (cores without an FPU) gives the float path's integers, ties and double rounding included") {
  std::mt19937_64 rng(5);
  int64_t float_ties = 0;
  for (int i = 0; i < 2000000; ++i) {
    // any sum, any scale of 2^-38 .. 2^2, either sign
    const int32_t acc = int32_t(uint32_t(rng())) >> (rng() % 32);
    float scale = std::ldexp(1.0f + float(rng() % (1u << 23)) / float(1u << 23), 2 - int(rng() % 40));
    if (i % 5 == 0) scale = -scale;
    REQUIRE(rounded_soft(acc, scale) == onnx_rounding(acc, scale));
    // exact ties k + 1/2 (scale 2^-j)
    const int j = int(rng() % 30);
    const int32_t k = int32_t(rng() % 1200) - 600;
    REQUIRE(rounded_soft(int32_t(((2 * int64_t(k) + 1) << j) >> 1), std::ldexp(1.0f, -j)) ==
            onnx_rounding(int32_t(((2 * int64_t(k) + 1) << j) >> 1), std::ldexp(1.0f, -j)));
    // products that the float multiply rounds onto k + 1/2 (or off it): the double rounding
    const int32_t a = int32_t(rng() % (1u << 24)) + 1;
    const float s = float((double(k) + 0.5) / a);
    float_ties += float(a) * s == float(k) + 0.5f;
    for (int32_t d : {-1, 0, 1}) REQUIRE(rounded_soft(a + d, s) == onnx_rounding(a + d, s));
  }
  CHECK(float_ties > 1000000);  // the ties were really met
  // sums past float's 24 bits, extremes, zero, subnormal and huge scales
  for (int32_t acc : {0, 1, -1, INT32_MIN, INT32_MAX, 16777216, 16777217, -16777217, 33554435, 123456789})
    for (float scale : {0.0f, 1e-45f, 1e-38f, 1.17549435e-38f, 1e-10f, 0.5f, 1.0f, 3e38f, -0.5f})
      CHECK(rounded_soft(acc, scale) == onnx_rounding(acc, scale));
}

TEST_CASE("conv_s8, conv_s8_im2col and depthwise_s8 equal a straightforward loop on random shapes, also channels-last in and out and written over their input") {
  std::mt19937 rng(7);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int in_place_runs = 0, total_overlap_runs = 0;
  for (int trial = 0; trial < 90; ++trial) {
    const ConvS8Params p = random_conv_s8(uni, trial, 3, 3);
    const bool fl = p.float_requant;
    const int cg = p.in_ch / p.groups;
    const int ksize = p.kernel[1] * p.kernel[2], in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
    std::vector<int8_t> x(p.in_ch * in_size), w(p.out_ch * cg * ksize), y(p.out_ch * out_size);
    std::vector<int32_t> bias(p.out_ch), mult(p.out_ch), scratch(4096);
    std::vector<int8_t> shift(p.out_ch);
    std::vector<float> fscale(p.out_ch);
    for (auto& v : x) v = int8_t(uni(-128, 127));
    for (auto& v : w) v = int8_t(uni(-127, 127));
    for (int m = 0; m < p.out_ch; ++m) {
      bias[m] = uni(-5000, 5000);
      int32_t s;
      quantize_multiplier(std::ldexp(uni(1, 1000), -uni(8, 20)), &mult[m], &s);
      shift[m] = int8_t(s);
      fscale[m] = std::ldexp(float(uni(1, 1000)), -uni(12, 20));
    }
    std::vector<int8_t> want(y.size());
    reference_conv_s8(p, x.data(), w.data(), bias.data(), mult.data(), shift.data(), want.data(),
                      fl ? fscale.data() : nullptr);
    ConvParams geometry{};
    geometry.batch = p.batch, geometry.in_ch = p.in_ch, geometry.out_ch = p.out_ch, geometry.groups = p.groups;
    for (int a = 0; a < 3; ++a) {
      geometry.in[a] = p.in[a], geometry.out[a] = p.out[a], geometry.kernel[a] = p.kernel[a];
      geometry.stride[a] = p.stride[a], geometry.dilation[a] = p.dilation[a], geometry.pad[a] = p.pad[a];
    }
    // Channels-last: x [HW, C], w [M, K, C/g], y [HW, M].
    std::vector<int8_t> nhwc(x.size()), w_last(w.size()), want_last(want.size());
    transpose_blocks(x.data(), 1, p.in_ch, in_size, nhwc.data());
    transpose_blocks(w.data(), p.out_ch, cg, ksize, w_last.data());
    transpose_blocks(want.data(), 1, p.out_ch, out_size, want_last.data());
    using Kernel = void (*)(const ConvS8Params&, const int8_t*, const int8_t*, const void*, const int32_t*, const int8_t*,
                            const float*, int8_t*, Scratch);
    // Runs `kernel` from x (or its channels-last copy, or over a buffer holding x) and checks it.
    // Modes: 0 NCHW, 1 channels-last input, 2 over its input, 3 channels-last output, 4 both.
    auto check = [&](Kernel kernel, const char* name, int mode) {
      INFO(name << " mode " << mode);
      std::vector<int8_t> buffer(std::max(x.size(), y.size()));
      std::copy(x.begin(), x.end(), buffer.begin());
      ConvS8Params q = p;
      q.channels_last = mode == 1 || mode == 4;
      q.channels_last_out = mode >= 3;
      const int8_t* xq = mode == 2 ? buffer.data() : q.channels_last ? nhwc.data() : x.data();
      kernel(q, xq, q.channels_last ? w_last.data() : w.data(), bias.data(), mult.data(), shift.data(), fscale.data(),
             mode == 2 ? buffer.data() : y.data(), Scratch{scratch.data()});
      const int8_t* got = mode == 2 ? buffer.data() : y.data();
      REQUIRE(std::vector<int8_t>(got, got + y.size()) == (q.channels_last_out ? want_last : want));
    };
    // conv_s8_im2col with y starting its lead before x and overlapping the rest of it, as the
    // planner places them; modes as above (0, 1, 3, 4).
    int overlap_runs = 0;
    auto check_overlap = [&](Kernel kernel, int mode) {
      INFO("conv_s8_im2col over the rest of its input, mode " << mode);
      ConvS8Params q = p;
      q.channels_last = mode == 1 || mode == 4;
      q.channels_last_out = mode >= 3;
      const int64_t lead = conv_s8_im2col_lead(q);
      if (lead < 0 || size_t(lead) >= y.size()) return;
      ++overlap_runs;
      std::vector<int8_t> buffer(std::max(size_t(lead) + x.size(), y.size()), int8_t(99));
      const std::vector<int8_t>& xq = q.channels_last ? nhwc : x;
      std::copy(xq.begin(), xq.end(), buffer.begin() + lead);
      kernel(q, buffer.data() + lead, q.channels_last ? w_last.data() : w.data(), bias.data(), mult.data(), shift.data(),
             fscale.data(), buffer.data(), Scratch{scratch.data()});
      REQUIRE(std::vector<int8_t>(buffer.begin(), buffer.begin() + y.size()) == (q.channels_last_out ? want_last : want));
    };
    const bool in_place = conv_in_place(geometry), depthwise = p.groups == p.in_ch && p.out_ch == p.in_ch;
    constexpr Layout Last = Layout::ChannelsLast;
    const Kernel im2col = conv_s8_im2col_for<Layout::ChannelsFirst>(p.kernel[2], fl);
    const Kernel im2col_last = conv_s8_im2col_for<Layout::ChannelsLast>(p.kernel[2], fl);
    const Kernel dw = fl ? depthwise_s8<0, 0, Onnx> : depthwise_s8<0, 0, TFLite>;
    const Kernel dw_last = fl ? depthwise_s8<0, 0, Onnx, Last> : depthwise_s8<0, 0, TFLite, Last>;
    const Kernel dw3 = fl ? depthwise_s8<3, 3, Onnx> : depthwise_s8<3, 3, TFLite>;
    const Kernel dw3_last = fl ? depthwise_s8<3, 3, Onnx, Last> : depthwise_s8<3, 3, TFLite, Last>;
    for (int mode : {0, 1, 3, 4}) {
      const bool last = mode >= 3;
      check(reference::conv_s8, "reference::conv_s8", mode);  // the runtime's reference, as the evaluator runs it
      check(conv_s8, "conv_s8", mode);
      if (p.groups == 1) check(last ? im2col_last : im2col, "conv_s8_im2col", mode);  // also where depthwise_s8 runs
      if (p.groups == 1) check_overlap(last ? im2col_last : im2col, mode);
      if (depthwise) check(last ? dw_last : dw, "depthwise_s8<0, 0>", mode);
      if (depthwise && p.kernel[1] == 3 && p.kernel[2] == 3) check(last ? dw3_last : dw3, "depthwise_s8<3, 3>", mode);
    }
    total_overlap_runs += overlap_runs;
    if (!in_place) continue;
    ++in_place_runs;
    if (p.groups == 1 && is_pointwise(geometry)) check(im2col, "conv_s8_im2col", 2);
    if (depthwise) check(conv_s8, "conv_s8", 2), check(dw, "depthwise_s8<0, 0>", 2);
  }
  CHECK(in_place_runs >= 40);
  CHECK(total_overlap_runs >= 40);
}

TEST_CASE("percentile calibration ignores a rare outlier that min/max keeps") {
  Graph g;
  Tensor x;
  x.name = "x", x.dtype = DType::Float, x.shape = {1000}, x.has_shape = true;
  g.tensors["x"] = x;
  Tensor y = x;
  y.name = "y";
  g.tensors["y"] = y;
  Node relu;
  relu.op = "Relu", relu.name = "relu", relu.inputs = {"x"}, relu.outputs = {"y"};
  g.nodes = {relu};
  g.inputs = {"x"}, g.outputs = {"y"};
  Tensor s = x;
  s.data.resize(4000);
  float* v = s.as<float>();
  for (int i = 0; i < 1000; ++i) v[i] = float(i);
  v[500] = 1e6f;  // one outlier
  const Ranges mm = calibrate(g, {{s}});
  const Ranges pc = calibrate(g, {{s}}, CalibrationMethod::Percentile);
  CHECK(mm.at("y").second == 1e6f);
  // Sorted: 0..499, 501..999, 1e6; the 99.99 % point is index floor(0.9999 * 999) = 998: 999.
  CHECK(pc.at("y").second == 999.0f);
  CHECK(pc.at("y").first == 0.0f);
}

TEST_CASE("softmax_s8 by hand: equal logits share the mass; a far lead takes all") {
  std::vector<uint16_t> table(256);
  for (int d = 0; d < 256; ++d) table[d] = uint16_t(std::lround(65535.0 * std::exp(-1.0 * d)));  // scale 1
  SoftmaxS8Params p{1, 2, 1, -128, 1 << 24};  // output scale 1/256, zero point -128
  int8_t x[2] = {5, 5}, y[2];
  softmax_s8(p, x, table.data(), y);
  CHECK(y[0] == 0);  // 0.5 / (1/256) - 128
  CHECK(y[1] == 0);
  x[0] = 127, x[1] = -128;  // e^-255 rounds to 0 in the table
  softmax_s8(p, x, table.data(), y);
  CHECK(y[0] == 127);  // 1.0 -> 128, saturated
  CHECK(y[1] == -128);
}

TEST_CASE("fully_connected_s8 equals a straightforward loop on random shapes") {
  std::mt19937 rng(11);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 40; ++trial) {
    const bool fl = trial % 4 == 3;  // ONNX's float rounding
    const int32_t zx = uni(-128, 127);
    FullyConnectedS8Params p{uni(1, 3), uni(1, 70), uni(1, 20), uni(-128, 127), uni(-128, 0), uni(0, 127), fl, 0};
    if (trial % 2) p.act_min = -128, p.act_max = 127;
    std::vector<int8_t> x(p.rows * p.depth), w(p.units * p.depth), packed(w.size()), y(p.rows * p.units), shift(p.units);
    std::vector<int32_t> bias(p.units), folded(p.units), mult(p.units);
    std::vector<float> fscale(p.units);
    for (auto& v : x) v = int8_t(uni(-128, 127));
    for (auto& v : w) v = int8_t(uni(-127, 127));
    for (int u = 0; u < p.units; ++u) {
      bias[u] = uni(-3000, 3000);
      int32_t s;
      quantize_multiplier(std::ldexp(uni(1, 1000), -uni(trial % 5 ? 8 : 0, 18)), &mult[u], &s);  // some left shifts
      shift[u] = int8_t(s);
      fscale[u] = std::ldexp(float(uni(1, 1000)), -uni(12, 18));
    }
    fully_connected_s8_constants(p, zx, w.data(), bias.data(), packed.data(), folded.data());
    (fl ? fully_connected_s8<Onnx> : fully_connected_s8<TFLite>)(p, x.data(), packed.data(), folded.data(), mult.data(),
                                                                  shift.data(), fscale.data(), y.data());
    std::vector<int8_t> want(y.size());
    reference_fully_connected_s8(p, zx, x.data(), w.data(), bias.data(), mult.data(), shift.data(), want.data(),
                                 fl ? fscale.data() : nullptr);
    REQUIRE(y == want);
    reference::fully_connected_s8(p, x.data(), packed.data(), folded.data(), mult.data(), shift.data(), fscale.data(),
                                  y.data());  // the runtime's reference, on the same constants
    REQUIRE(y == want);
  }
}

TEST_CASE("add_s8 and sub_s8 equal TFLite's formula written out, with broadcasting") {
  std::mt19937 rng(5);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 50; ++trial) {
    const int rows = uni(1, 4), cols = uni(1, 6);
    const bool row_vector = uni(0, 1);  // b is [1, cols] (broadcast over rows) or [rows, cols]
    std::vector<int8_t> a(rows * cols), b(row_vector ? cols : rows * cols), y(rows * cols);
    for (auto& v : a) v = int8_t(uni(-128, 127));
    for (auto& v : b) v = int8_t(uni(-128, 127));
    const double sa = std::ldexp(uni(1, 100), -8), sb = std::ldexp(uni(1, 100), -8), sy = std::ldexp(uni(1, 100), -7);
    AddS8Params p{};
    p.shape.n = rows * cols, p.shape.rank = 2, p.shape.dims[0] = rows, p.shape.dims[1] = cols;
    p.shape.strides[0][0] = cols, p.shape.strides[0][1] = 1;
    p.shape.strides[1][0] = row_vector ? 0 : cols, p.shape.strides[1][1] = 1;
    p.zero_point[0] = uni(-128, 127), p.zero_point[1] = uni(-128, 127), p.output_zero_point = uni(-128, 127);
    const double twice = 2 * std::max(sa, sb);
    quantize_multiplier(sa / twice, &p.multiplier[0], &p.shift[0]);
    quantize_multiplier(sb / twice, &p.multiplier[1], &p.shift[1]);
    // now and then an output scale so small that the output multiplier shifts left
    const double sy_used = trial % 5 == 4 ? twice / ((1 << 20) * 1.5) : sy;
    quantize_multiplier(twice / ((1 << 20) * sy_used), &p.output_multiplier, &p.output_shift);
    p.act_min = -128, p.act_max = 127;
    if (trial % 3 == 2) p.act_min = uni(-128, 0), p.act_max = uni(0, 127);  // a fused activation's clamp
    const bool sub = trial % 4 == 1;  // a - b
    std::vector<int8_t> ref(y.size());
    // the runtime's reference
    (sub ? reference::add_s8<true> : reference::add_s8<false>)(p, a.data(), b.data(), ref.data());
    (sub ? sub_s8 : add_s8)(p, a.data(), b.data(), y.data());
    REQUIRE(ref == y);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const int32_t want = reference_add_s8(p, a[r * cols + c], b[(row_vector ? 0 : r * cols) + c], sub);
        REQUIRE(int32_t(y[r * cols + c]) == want);
        // and it is the real sum to within one step of the output scale
        const double real = sa * (a[r * cols + c] - p.zero_point[0]) +
                            (sub ? -sb : sb) * (b[(row_vector ? 0 : r * cols) + c] - p.zero_point[1]);
        const double q = std::clamp(real / sy_used + p.output_zero_point, double(p.act_min), double(p.act_max));
        CHECK(std::fabs(want - q) <= 1.0);
      }
  }
}

TEST_CASE("max_pool_s8 equals pool<int8_t> on random windows, also over its own input") {
  std::mt19937 rng(8);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 200; ++trial) {
    const PoolParams p = random_max_pool(uni, 11, 4, trial % 2 == 0);
    const int in_size = p.in[1] * p.in[2], out_n = p.planes * p.out[1] * p.out[2];
    std::vector<int8_t> x(p.planes * in_size), y(out_n), want(out_n), cols(p.in[2]);
    for (auto& v : x) v = int8_t(uni(-128, 127));
    pool<int8_t>(p, x.data(), want.data());
    max_pool_s8(p, x.data(), y.data(), Scratch{cols.data()});
    REQUIRE(y == want);
    if (p.pad[1] == 0 && p.pad[2] == 0) {  // in place, as the planner allows it
      std::vector<int8_t> buf = x;
      max_pool_s8(p, buf.data(), buf.data(), Scratch{cols.data()});
      REQUIRE(std::vector<int8_t>(buf.begin(), buf.begin() + out_n) == want);
    }
  }
}

TEST_CASE("avg_pool_s8 with scale 1 (ONNX's rounding) rounds an exact tie to even, as QLinearAveragePool") {
  AvgPoolS8Params p{};
  p.planes = 4, p.scale = 1.0f, p.input_zero_point = p.output_zero_point = -3;
  for (int a = 0; a < 3; ++a) p.in[a] = p.out[a] = p.kernel[a] = p.stride[a] = 1;
  p.in[2] = p.kernel[2] = 6;  // windows of 6: sums 3, 9, -3, -9 over the zero point are ties
  const int8_t x[24] = {-3, -3, -3, -3, -3, 0,  -3, -3, -3, -3, 0, 3,  -3, -3, -3, -3, -3, -6,  -3, -3, -3, -3, -6, -9};
  int8_t y[4];
  avg_pool_s8(p, x, y);
  CHECK(std::vector<int>(y, y + 4) == std::vector<int>{-3 + 0, -3 + 2, -3 + 0, -3 - 2});  // 0.5, 1.5, -0.5, -1.5
  reference::avg_pool_s8(p, x, y);
  CHECK(std::vector<int>(y, y + 4) == std::vector<int>{-3, -1, -3, -5});
}

TEST_CASE("avg_pool_s8 equals a plain loop (rounding half away from zero, or requantized) on random windows") {
  std::mt19937 rng(3);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 80; ++trial) {
    AvgPoolS8Params p{};
    p.planes = uni(1, 3);
    p.count_include_pad = uni(0, 1);
    const bool requantized = trial % 2;  // other output parameters: (x - zx) * scale / d + zy
    if (requantized) p.scale = float(uni(20, 400)) / 100.0f, p.input_zero_point = uni(-128, 127), p.output_zero_point = uni(-20, 20);
    for (int a = 0; a < 3; ++a) p.in[a] = p.out[a] = p.kernel[a] = p.stride[a] = 1;
    for (int a = 1; a < 3; ++a) {
      p.in[a] = uni(1, 8), p.kernel[a] = uni(1, p.in[a]), p.stride[a] = uni(1, 3), p.pad[a] = uni(0, p.kernel[a] - 1);
      p.out[a] = (p.in[a] + 2 * p.pad[a] - p.kernel[a]) / p.stride[a] + 1;
    }
    const int in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
    std::vector<int8_t> x(p.planes * in_size), y(p.planes * out_size);
    for (auto& v : x) v = int8_t(uni(-128, 127));
    std::vector<int8_t> ref(y.size());
    reference::avg_pool_s8(p, x.data(), ref.data());  // the runtime's reference
    avg_pool_s8(p, x.data(), y.data());
    REQUIRE(ref == y);
    for (int c = 0; c < p.planes; ++c)
      for (int oh = 0; oh < p.out[1]; ++oh)
        for (int ow = 0; ow < p.out[2]; ++ow) {
          int sum = 0, count = 0;
          for (int kh = 0; kh < p.kernel[1]; ++kh)
            for (int kw = 0; kw < p.kernel[2]; ++kw) {
              const int ih = oh * p.stride[1] - p.pad[1] + kh, iw = ow * p.stride[2] - p.pad[2] + kw;
              if (ih < 0 || ih >= p.in[1] || iw < 0 || iw >= p.in[2]) continue;
              sum += x[c * in_size + ih * p.in[2] + iw], ++count;
            }
          const int d = p.count_include_pad ? p.kernel[1] * p.kernel[2] : count;
          const int got = y[c * out_size + oh * p.out[2] + ow];
          if (requantized) {  // padding is the zero point (the real 0); the nearest level, ties either way
            const double exact = double(sum - count * p.input_zero_point) * p.scale / d + p.output_zero_point;
            REQUIRE(std::fabs(got - std::clamp(exact, -128.0, 127.0)) <= 0.5 + 1e-4);
            continue;
          }
          const double exact = double(sum) / d;
          const int want = int(exact >= 0 ? std::floor(exact + 0.5) : std::ceil(exact - 0.5));
          REQUIRE(got == want);
        }
  }
}

TEST_CASE("Concat of inputs with different ranges is int8, within one output step of float") {
  Graph g;
  auto add = [&](const std::string& n, const Shape& s) {
    Tensor t;
    t.name = n, t.dtype = DType::Float, t.shape = s, t.has_shape = true;
    g.tensors[n] = t;
  };
  add("x", {1, 8}), add("r", {1, 8}), add("n", {1, 8}), add("y", {1, 16});
  Node relu, neg, cat;
  relu.op = "Relu", relu.name = "relu", relu.inputs = {"x"}, relu.outputs = {"r"};
  neg.op = "Neg", neg.name = "neg", neg.inputs = {"x"}, neg.outputs = {"n"};
  cat.op = "Concat", cat.name = "cat", cat.inputs = {"r", "n"}, cat.outputs = {"y"};
  Attr axis;
  axis.kind = Attr::Int, axis.i = 1;
  cat.attrs["axis"] = axis;
  g.nodes = {relu, neg, cat};
  g.inputs = {"x"}, g.outputs = {"y"};
  g.opset = 13;
  std::vector<std::vector<Tensor>> samples;
  for (int k = 0; k < 4; ++k) {
    Tensor s = g.tensor("x");
    s.data.resize(32);
    for (int i = 0; i < 8; ++i) s.as<float>()[i] = 0.37f * float((i * 5 + k * 3) % 11) - 1.3f;
    samples.push_back({s});
  }
  Graph f = g;
  const Ranges ranges = calibrate(g, samples);
  quantize_int8(g, ranges);
  bool has_concat = false;
  for (const Node& n : g.nodes) has_concat = has_concat || n.op == "ConcatS8";
  CHECK(has_concat);
  const double step = (std::max(0.0f, ranges.at("y").second) - std::min(0.0f, ranges.at("y").first)) / 255.0;
  for (const auto& s : samples) {
    const auto a = evaluate(f, s), b = evaluate(g, s);
    for (int i = 0; i < 16; ++i) CHECK(std::fabs(a[0].as<float>()[i] - b[0].as<float>()[i]) <= 1.5 * step);
  }
}

TEST_CASE("int8 Resize nearest copies the integers: a plain index loop, and the float kernel on the same values") {
  std::mt19937 rng(11);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 60; ++trial) {
    ResizeParams p{};
    p.rank = 4, p.mode = kResizeNearest, p.scales_input = p.roi_input = -1;
    p.coord = trial < 20 ? kCoordAsymmetric : uni(kCoordHalfPixel, kCoordTfHalfPixelForNearest);
    p.nearest = trial < 20 ? kRoundFloor : uni(kRoundPreferFloor, kRoundCeil);
    p.n = 1;
    for (int a = 0; a < 4; ++a) {
      p.in_dims[a] = a < 2 ? uni(1, 2) : uni(1, 6);
      p.dims[a] = a < 2 ? p.in_dims[a] : trial < 20 ? p.in_dims[a] * uni(1, 3) : uni(1, 13);
      p.n *= p.dims[a];
    }
    std::vector<int8_t> x(p.in_dims[0] * p.in_dims[1] * p.in_dims[2] * p.in_dims[3]), y(p.n);
    std::vector<float> xf(x.size()), yf(p.n);
    for (size_t i = 0; i < x.size(); ++i) x[i] = int8_t(uni(-128, 127)), xf[i] = x[i];
    resize<int8_t, float>(p, x.data(), nullptr, nullptr, y.data());
    resize<float>(p, xf.data(), nullptr, nullptr, yf.data());
    for (int i = 0; i < p.n; ++i) REQUIRE(float(y[i]) == yf[i]);
    if (trial >= 20) continue;
    // asymmetric, floor, an integer factor k: output o reads input floor(o / k) along each axis
    int i = 0;
    for (int n = 0; n < p.dims[0]; ++n)
      for (int c = 0; c < p.dims[1]; ++c)
        for (int h = 0; h < p.dims[2]; ++h)
          for (int w = 0; w < p.dims[3]; ++w, ++i) {
            const int ih = h * p.in_dims[2] / p.dims[2], iw = w * p.in_dims[3] / p.dims[3];
            REQUIRE(y[i] == x[((n * p.in_dims[1] + c) * p.in_dims[2] + ih) * p.in_dims[3] + iw]);
          }
  }
}

TEST_CASE("int8 Resize linear is the float interpolation of the integers, rounded half to even") {
  ResizeParams p{};
  p.rank = 2, p.mode = kResizeLinear, p.coord = kCoordAsymmetric, p.scales_input = p.roi_input = -1;
  p.in_dims[0] = 1, p.in_dims[1] = 3, p.dims[0] = 1, p.dims[1] = 6, p.n = 6;
  const int8_t x[3] = {-128, 3, 127};
  int8_t y[6];
  resize<int8_t, float>(p, x, nullptr, nullptr, y);
  // positions 0, 0.5, 1, 1.5, 2, 2.5 (clamped): -128, -62.5 -> -62, 3, 65, 127, 127
  const int8_t want[6] = {-128, -62, 3, 65, 127, 127};
  for (int i = 0; i < 6; ++i) CHECK(y[i] == want[i]);
}

TEST_CASE("Resize (nearest) after an int8 layer stays int8 with its input's parameters") {
  Graph g;
  add_float(g, "x", {1, 2, 3, 3}), add_float(g, "r", {1, 2, 3, 3}), add_float(g, "y", {1, 2, 6, 6});
  add_float(g, "scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
  Node relu, up;
  relu.op = "Relu", relu.name = "relu", relu.inputs = {"x"}, relu.outputs = {"r"};
  up.op = "Resize", up.name = "up", up.inputs = {"r", "", "scales"}, up.outputs = {"y"};
  g.nodes = {relu, up};
  g.inputs = {"x"}, g.outputs = {"y"};
  g.opset = 13;
  const auto samples = samples_of(g, 4, [](int i, int k) { return 0.29f * float((i * 7 + k * 5) % 13) - 1.1f; });
  Graph f = g;
  const Ranges ranges = calibrate(g, samples);
  const QuantizeSummary q = quantize_int8(g, ranges);
  CHECK(std::find(q.float_layers.begin(), q.float_layers.end(), "up") == q.float_layers.end());
  CHECK(std::find(q.int8_layers.begin(), q.int8_layers.end(), "up") != q.int8_layers.end());
  // The int8 output is the int8 input copied: dequantized, within half a step of the float output.
  const double step = (std::max(0.0f, ranges.at("r").second) - std::min(0.0f, ranges.at("r").first)) / 255.0;
  for (const auto& s : samples) {
    const auto a = evaluate(f, s), b = evaluate(g, s);
    for (int i = 0; i < 72; ++i) CHECK(std::fabs(a[0].as<float>()[i] - b[0].as<float>()[i]) <= 0.5 * step + 1e-6);
  }
  bool int8_resize = false;  // (the evaluation has set every tensor's type)
  for (const Node& n : g.nodes) int8_resize = int8_resize || (n.op == "Resize" && g.tensor(n.inputs[0]).dtype == DType::Int8);
  CHECK(int8_resize);
}

TEST_CASE("a BatchNormalization after a Relu is an int8 per-channel affine within a step of float") {
  Graph g;
  add_float(g, "x", {1, 3, 2, 4}), add_float(g, "r", {1, 3, 2, 4}), add_float(g, "y", {1, 3, 2, 4});
  add_float(g, "gamma", {3}, {1.5f, -0.5f, 0.8f}), add_float(g, "beta", {3}, {0.1f, 0.4f, -0.3f});
  add_float(g, "mean", {3}, {0.2f, 0.5f, 0.1f}), add_float(g, "var", {3}, {0.9f, 1.2f, 0.25f});
  Node relu, bn;
  relu.op = "Relu", relu.name = "relu", relu.inputs = {"x"}, relu.outputs = {"r"};
  bn.op = "BatchNormalization", bn.name = "bn", bn.inputs = {"r", "gamma", "beta", "mean", "var"}, bn.outputs = {"y"};
  g.nodes = {relu, bn}, g.inputs = {"x"}, g.outputs = {"y"}, g.opset = 13;
  const auto samples = samples_of(g, 4, [](int i, int k) { return 0.17f * float((i * 5 + k * 3) % 19) - 1.2f; });
  Graph f = g;
  const Ranges ranges = calibrate(g, samples);
  const QuantizeSummary q = quantize_int8(g, ranges);
  CHECK(std::find(q.int8_layers.begin(), q.int8_layers.end(), "bn") != q.int8_layers.end());
  std::string why;
  for (size_t i = 0; i < q.float_layers.size(); ++i) why += q.float_layers[i] + ": " + q.float_reasons[i] + "; ";
  INFO(why);
  CHECK(std::find(q.float_layers.begin(), q.float_layers.end(), "bn") == q.float_layers.end());
  // Against the formula on the float input: the int8 input's and output's rounding, a step each.
  const double sy = (std::max(0.0f, ranges.at("y").second) - std::min(0.0f, ranges.at("y").first)) / 255.0;
  const double sr = (std::max(0.0f, ranges.at("r").second) - std::min(0.0f, ranges.at("r").first)) / 255.0;
  const float gamma[3] = {1.5f, -0.5f, 0.8f}, beta[3] = {0.1f, 0.4f, -0.3f}, mean[3] = {0.2f, 0.5f, 0.1f},
              var[3] = {0.9f, 1.2f, 0.25f};
  for (const auto& s : samples) {
    const auto got = evaluate(g, s);
    for (int i = 0; i < 24; ++i) {
      const int c = i / 8;
      const double k = gamma[c] / std::sqrt(double(var[c]) + 1e-5);
      const double want = std::max(0.0f, s[0].as<float>()[i]) * k + (beta[c] - mean[c] * k);
      CHECK(std::fabs(got[0].as<float>()[i] - want) <= sy + std::fabs(k) * 0.5 * sr + 1e-6);
    }
  }
}

TEST_CASE("elementwise functions (Sigmoid, Tanh, HardSwish, LeakyRelu, Erf, Elu) become table lookups within half an output step of the function") {
  for (const char* op : {"Sigmoid", "Tanh", "HardSwish", "LeakyRelu", "Erf", "Elu"}) {
    Graph g;
    for (const char* n : {"x", "y"}) {
      Tensor t;
      t.name = n, t.dtype = DType::Float, t.shape = {1, 64}, t.has_shape = true;
      g.tensors[n] = t;
    }
    Node f;
    f.op = op, f.name = "f", f.inputs = {"x"}, f.outputs = {"y"};
    if (std::string(op) == "LeakyRelu") {
      Attr alpha;
      alpha.kind = Attr::Float, alpha.f = 0.2f;
      f.attrs["alpha"] = alpha;
    }
    g.nodes = {f};
    g.inputs = {"x"}, g.outputs = {"y"};
    g.opset = 20;
    std::vector<std::vector<Tensor>> samples;
    for (int k = 0; k < 4; ++k) {
      Tensor s = g.tensor("x");
      s.data.resize(64 * 4);
      for (int i = 0; i < 64; ++i) s.as<float>()[i] = 12.0f * float((i * 37 + k * 11) % 64) / 63.0f - 6.0f;
      samples.push_back({s});
    }
    const QuantizeSummary q = quantize_int8(g, calibrate(g, samples));
    bool lookup = false;
    for (const Node& n : g.nodes) lookup = lookup || n.op == "LookupS8";
    CHECK(lookup);
    float sx = 0, sy = 0;
    int32_t zx = 0, zy = 0;
    for (const auto& a : q.activations) {
      if (a.tensor == "x") sx = a.scale, zx = a.zero_point;
      if (a.tensor == "y") sy = a.scale, zy = a.zero_point;
    }
    REQUIRE((sx > 0 && sy > 0));
    auto fn = [&](double v) {
      if (std::string(op) == "Sigmoid") return 1 / (1 + std::exp(-v));
      if (std::string(op) == "Tanh") return std::tanh(v);
      if (std::string(op) == "LeakyRelu") return v < 0 ? double(0.2f) * v : v;
      if (std::string(op) == "Erf") return std::erf(v);
      if (std::string(op) == "Elu") return v < 0 ? std::expm1(v) : v;
      return v * std::min(1.0, std::max(0.0, v / 6 + 0.5));
    };
    for (const auto& s : samples) {
      const auto got = evaluate(g, s);
      for (int i = 0; i < 64; ++i) {  // the function of the int8 input, within half an output step
        const double xq = std::min(127.0, std::max(-128.0, double(std::nearbyint(s[0].as<float>()[i] / sx)) + zx));
        const double want = std::min(sy * (127.0 - zy), std::max(sy * (-128.0 - zy), fn(sx * (xq - zx))));  // saturated
        INFO(op << " x " << s[0].as<float>()[i]);
        CHECK(std::fabs(got[0].as<float>()[i] - want) <= 0.5 * sy + 1e-6);
      }
    }
  }
}

TEST_CASE("a Gemm with a dead unit (weights of 1e-21 next to a bias of 0.2) is int8, and that unit gives its bias") {
  Graph g;
  std::vector<float> w(3 * 4), b{0.2f, -0.5f, 0.25f};
  for (int i = 0; i < 12; ++i) w[i] = i < 4 ? 1e-21f : 0.1f * float(i % 5) - 0.2f;  // unit 0 is dead
  add_float(g, "x", {1, 4}), add_float(g, "w", {3, 4}, w), add_float(g, "b", {3}, b), add_float(g, "y", {1, 3});
  Node gemm;
  gemm.op = "Gemm", gemm.name = "fc", gemm.inputs = {"x", "w", "b"}, gemm.outputs = {"y"};
  Attr t;
  t.kind = Attr::Int, t.i = 1;
  gemm.attrs["transB"] = t;
  g.nodes = {gemm}, g.inputs = {"x"}, g.outputs = {"y"}, g.opset = 13;
  const auto samples = samples_of(g, 8, [](int i, int k) { return 0.3f * float((i * 3 + k * 5) % 7) - 0.9f; });
  Graph f = g;
  const Ranges ranges = calibrate(g, samples);
  const QuantizeSummary q = quantize_int8(g, ranges);
  CHECK(q.float_layers.empty());
  REQUIRE(std::find(q.int8_layers.begin(), q.int8_layers.end(), "fc") != q.int8_layers.end());
  const double step = (std::max(0.0f, ranges.at("y").second) - std::min(0.0f, ranges.at("y").first)) / 255.0;
  for (const auto& s : samples) {
    const auto want = evaluate(f, s), got = evaluate(g, s);
    for (int i = 0; i < 3; ++i) CHECK(std::fabs(want[0].as<float>()[i] - got[0].as<float>()[i]) <= 1.5 * step);
  }
}

TEST_CASE("a Transpose after an int8 layer moves int8 values (tf2onnx's NHWC boundary): no float layer") {
  Graph g;
  add_float(g, "x", {1, 2, 3, 4}), add_float(g, "r", {1, 2, 3, 4}), add_float(g, "y", {1, 3, 4, 2});
  Node pool, tr;  // a 1x1 max pool: an int8 layer whose input is the graph's
  pool.op = "MaxPool", pool.name = "pool", pool.inputs = {"x"}, pool.outputs = {"r"};
  Attr k;
  k.kind = Attr::Ints, k.ints = {1, 1};
  pool.attrs["kernel_shape"] = k;
  tr.op = "Transpose", tr.name = "to_nhwc", tr.inputs = {"r"}, tr.outputs = {"y"};
  Attr perm;
  perm.kind = Attr::Ints, perm.ints = {0, 2, 3, 1};
  tr.attrs["perm"] = perm;
  g.nodes = {pool, tr}, g.inputs = {"x"}, g.outputs = {"y"}, g.opset = 13;
  const auto samples = samples_of(g, 4, [](int i, int k) { return 0.21f * float((i * 5 + k * 3) % 11) - 0.9f; });
  Graph f = g;
  const Ranges ranges = calibrate(g, samples);
  const QuantizeSummary q = quantize_int8(g, ranges);
  CHECK(q.float_layers.empty());
  const double step = (std::max(0.0f, ranges.at("r").second) - std::min(0.0f, ranges.at("r").first)) / 255.0;
  for (const auto& s : samples) {
    const auto want = evaluate(f, s), got = evaluate(g, s);
    for (int i = 0; i < 24; ++i) CHECK(std::fabs(want[0].as<float>()[i] - got[0].as<float>()[i]) <= 0.5 * step + 1e-6);
  }
}

TEST_CASE("every layer left in float says why") {
  Graph g;
  add_float(g, "x", {1, 4}), add_float(g, "e", {1, 4}), add_float(g, "y", {1, 4});
  Node erf, relu;
  erf.op = "Sin", erf.name = "erf", erf.inputs = {"x"}, erf.outputs = {"e"};
  relu.op = "Relu", relu.name = "relu", relu.inputs = {"e"}, relu.outputs = {"y"};
  g.nodes = {erf, relu}, g.inputs = {"x"}, g.outputs = {"y"}, g.opset = 13;
  const auto samples = samples_of(g, 4, [](int i, int k) { return 0.4f * float(i + k) - 1.0f; });
  const QuantizeSummary q = quantize_int8(g, calibrate(g, samples));
  REQUIRE(q.float_layers == std::vector<std::string>{"erf", "relu"});
  REQUIRE(q.float_reasons.size() == 2);
  CHECK(q.float_reasons[0] == "no int8 kernel for Sin");
  CHECK(q.float_reasons[1] == "its input is float");
}

TEST_CASE("prelu_s8 is PRelu on the dequantized values, requantized, within 1 LSB") {
  std::mt19937 rng(11);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 40; ++trial) {
    const int outer = uni(1, 3), channels = uni(1, 5), inner = uni(1, 7);
    const double sx = std::ldexp(uni(1, 100), -7), sy = std::ldexp(uni(1, 100), -7);
    PReluS8Params p{outer, channels, inner, uni(-128, 127), uni(-128, 127), 0, 0};
    quantize_multiplier(sx / sy, &p.multiplier, &p.shift);
    std::vector<double> slope(channels);
    std::vector<int32_t> mult(channels);
    std::vector<int8_t> shift(channels), sign(channels), x(outer * channels * inner), y(x.size());
    for (int c = 0; c < channels; ++c) {
      slope[c] = (uni(0, 3) ? 1 : -1) * std::ldexp(uni(0, 200), -8);  // now and then negative, or 0
      int32_t s;
      quantize_multiplier(std::fabs(slope[c]) * sx / sy, &mult[c], &s);
      shift[c] = int8_t(s), sign[c] = slope[c] < 0 ? -1 : 1;
    }
    for (auto& v : x) v = int8_t(uni(-128, 127));
    prelu_s8(p, x.data(), mult.data(), shift.data(), sign.data(), y.data());
    for (int o = 0, i = 0; o < outer; ++o)
      for (int c = 0; c < channels; ++c)
        for (int k = 0; k < inner; ++k, ++i) {
          const double real = sx * (x[i] - p.input_zero_point);
          const double want = std::clamp(std::nearbyint((real >= 0 ? real : slope[c] * real) / sy) + p.output_zero_point, -128.0, 127.0);
          REQUIRE(std::fabs(y[i] - want) <= 1.0);
        }
  }
}

TEST_CASE("conv_transpose_s8 equals the scatter of every input through the window, requantized") {
  std::mt19937 rng(13);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 60; ++trial) {
    ConvS8Params p{};
    p.batch = 1, p.groups = uni(1, 2), p.in_ch = p.groups * uni(1, 3), p.out_ch = p.groups * uni(1, 3);
    p.in[0] = p.out[0] = p.kernel[0] = p.stride[0] = p.dilation[0] = 1;
    for (int a = 1; a < 3; ++a) {
      p.in[a] = uni(1, 5), p.kernel[a] = uni(1, 3), p.stride[a] = uni(1, 3), p.dilation[a] = uni(1, 2);
      const int full = (p.in[a] - 1) * p.stride[a] + (p.kernel[a] - 1) * p.dilation[a] + 1 + uni(0, p.stride[a] - 1);
      p.pad[a] = uni(0, std::min(2, full - 1)), p.out[a] = full - p.pad[a] - uni(0, std::min(2, full - p.pad[a] - 1));
    }
    p.input_zero_point = uni(-128, 127), p.output_zero_point = uni(-128, 127), p.act_min = -128, p.act_max = 127;
    const int cg = p.in_ch / p.groups, mg = p.out_ch / p.groups, ks = p.kernel[1] * p.kernel[2];
    const int in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
    std::vector<int8_t> x(p.in_ch * in_size), w(p.in_ch * mg * ks), w_by_output(w.size()), y(p.out_ch * out_size);
    std::vector<int32_t> bias(p.out_ch), mult(p.out_ch), acc(y.size());
    std::vector<int8_t> shift(p.out_ch);
    for (auto& v : x) v = int8_t(uni(-128, 127));
    for (auto& v : w) v = int8_t(uni(-127, 127));
    for (int m = 0; m < p.out_ch; ++m) {
      bias[m] = uni(-3000, 3000);
      int32_t s;
      quantize_multiplier(std::ldexp(uni(1, 1000), -uni(10, 18)), &mult[m], &s);
      shift[m] = int8_t(s);
    }
    // The model's [C, M/g, k] as the kernel's [M, C/g, k]; the scatter from the model's.
    for (int c = 0; c < p.in_ch; ++c)
      for (int mm = 0; mm < mg; ++mm)
        for (int k = 0; k < ks; ++k) w_by_output[((c / cg * mg + mm) * cg + c % cg) * ks + k] = w[(c * mg + mm) * ks + k];
    for (int m = 0; m < p.out_ch; ++m)
      for (int i = 0; i < out_size; ++i) acc[m * out_size + i] = bias[m];
    for (int c = 0; c < p.in_ch; ++c)
      for (int ih = 0; ih < p.in[1]; ++ih)
        for (int iw = 0; iw < p.in[2]; ++iw)
          for (int mm = 0; mm < mg; ++mm)
            for (int kh = 0; kh < p.kernel[1]; ++kh)
              for (int kw = 0; kw < p.kernel[2]; ++kw) {
                const int oh = ih * p.stride[1] + kh * p.dilation[1] - p.pad[1], ow = iw * p.stride[2] + kw * p.dilation[2] - p.pad[2];
                if (oh < 0 || oh >= p.out[1] || ow < 0 || ow >= p.out[2]) continue;
                acc[(c / cg * mg + mm) * out_size + oh * p.out[2] + ow] +=
                    (x[c * in_size + ih * p.in[2] + iw] - p.input_zero_point) * w[(c * mg + mm) * ks + kh * p.kernel[2] + kw];
              }
    conv_transpose_s8(p, x.data(), w_by_output.data(), bias.data(), mult.data(), shift.data(), nullptr, y.data());
    for (int m = 0; m < p.out_ch; ++m)
      for (int i = 0; i < out_size; ++i)
        REQUIRE(y[m * out_size + i] == reference_requantize(acc[m * out_size + i], m, mult.data(), shift.data(), nullptr,
                                                            p.output_zero_point, p.act_min, p.act_max));
  }
}
