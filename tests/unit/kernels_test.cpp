// Runtime kernels against values worked out by hand.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "ops/op.h"
#include "runtime/tinyc/kernels.h"

using namespace tinyc;

TEST_CASE("conv: 3x3 input, 2x2 kernel, stride 1, pad 1 on the left/top only") {
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 0, 0, -1};  // y = x[i-1][j-1] - x[i][j]
  const float b[1] = {10};
  float y[9] = {};
  ConvParams p{};
  p.batch = p.in_ch = p.out_ch = p.groups = 1;
  for (int a = 0; a < 3; ++a) p.in[a] = p.out[a] = p.kernel[a] = p.stride[a] = p.dilation[a] = 1;
  p.in[1] = p.in[2] = p.out[1] = p.out[2] = 3;
  p.kernel[1] = p.kernel[2] = 2;
  p.pad[1] = p.pad[2] = 1;
  conv<float>(p, x, w, b, y, Scratch{});
  const float want[9] = {10 - 1, 10 - 2, 10 - 3, 10 - 4, 10 + 1 - 5, 10 + 2 - 6, 10 - 7, 10 + 4 - 8, 10 + 5 - 9};
  for (int i = 0; i < 9; ++i) CHECK(y[i] == want[i]);
}

TEST_CASE("conv written over its own input (pointwise, depthwise) equals a straightforward loop") {
  std::mt19937 rng(11);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 40; ++trial) {
    const bool pointwise = trial % 2 == 0;
    ConvParams p{};
    p.batch = 1;
    p.in_ch = uni(1, 5);
    p.out_ch = pointwise ? uni(1, 5) : p.in_ch;
    p.groups = pointwise ? 1 : p.in_ch;
    p.act = trial % 4 < 2 ? kActRelu : kActNone;
    p.in[0] = p.kernel[0] = p.stride[0] = p.dilation[0] = p.out[0] = 1;
    for (int a = 1; a < 3; ++a) {
      // a depthwise output must fit in its input: pad (k - 1) / 2 keeps out <= in (k = 2: no pad)
      p.kernel[a] = pointwise ? 1 : uni(1, 3), p.stride[a] = pointwise ? 1 : uni(1, 2), p.dilation[a] = 1;
      p.pad[a] = (p.kernel[a] - 1) / 2;
      p.in[a] = uni(p.kernel[a] - 2 * p.pad[a], 7);
      p.out[a] = (p.in[a] + 2 * p.pad[a] - p.kernel[a]) / p.stride[a] + 1;
    }
    const int cg = p.in_ch / p.groups, k = p.kernel[1] * p.kernel[2];
    const int in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
    std::vector<float> x(p.in_ch * in_size), w(p.out_ch * cg * k), b(p.out_ch), scratch(in_size + p.in_ch);
    for (auto& v : x) v = float(uni(-8, 8)) / 4;
    for (auto& v : w) v = float(uni(-8, 8)) / 4;
    for (auto& v : b) v = float(uni(-8, 8)) / 4;
    std::vector<float> want(p.out_ch * out_size);
    for (int m = 0; m < p.out_ch; ++m)
      for (int oh = 0; oh < p.out[1]; ++oh)
        for (int ow = 0; ow < p.out[2]; ++ow) {
          float a = b[m];
          for (int c = 0; c < cg; ++c)
            for (int kh = 0; kh < p.kernel[1]; ++kh)
              for (int kw = 0; kw < p.kernel[2]; ++kw) {
                const int ih = oh * p.stride[1] + kh - p.pad[1], iw = ow * p.stride[2] + kw - p.pad[2];
                if (ih >= 0 && ih < p.in[1] && iw >= 0 && iw < p.in[2])
                  a += x[(m / (p.out_ch / p.groups) * cg + c) * in_size + ih * p.in[2] + iw] *
                       w[((m * cg + c) * p.kernel[1] + kh) * p.kernel[2] + kw];
              }
          want[m * out_size + oh * p.out[2] + ow] = p.act == kActRelu && a < 0 ? 0 : a;
        }
    REQUIRE(conv_in_place(p));  // every trial runs in place
    std::vector<float> buffer(std::max(x.size(), want.size()));
    std::copy(x.begin(), x.end(), buffer.begin());
    conv<float>(p, buffer.data(), w.data(), b.data(), buffer.data(), Scratch{scratch.data()});
    for (size_t i = 0; i < want.size(); ++i) REQUIRE(buffer[i] == want[i]);  // sums of quarters: exact
  }
}

TEST_CASE("max and average pooling written over their input equal a straightforward loop") {
  std::mt19937 rng(5);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 40; ++trial) {
    PoolParams p{};
    p.kind = trial % 2 ? kPoolMax : kPoolAvg;
    p.planes = uni(1, 4);
    p.in[0] = p.out[0] = p.kernel[0] = p.stride[0] = 1;
    for (int a = 0; a < 3; ++a) p.dilation[a] = 1;
    for (int a = 1; a < 3; ++a) {
      p.in[a] = uni(2, 8), p.kernel[a] = uni(1, 3), p.stride[a] = uni(1, 3);
      if (p.kernel[a] > p.in[a]) p.kernel[a] = p.in[a];
      p.out[a] = (p.in[a] - p.kernel[a]) / p.stride[a] + 1;
    }
    REQUIRE(pool_in_place(p.in, p.out, p.pad));
    const int in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
    std::vector<float> x(p.planes * in_size), want(p.planes * out_size);
    for (auto& v : x) v = float(uni(-16, 16));
    for (int c = 0; c < p.planes; ++c)
      for (int oh = 0; oh < p.out[1]; ++oh)
        for (int ow = 0; ow < p.out[2]; ++ow) {
          float best = -1e9f, sum = 0;
          for (int kh = 0; kh < p.kernel[1]; ++kh)
            for (int kw = 0; kw < p.kernel[2]; ++kw) {
              const float v = x[c * in_size + (oh * p.stride[1] + kh) * p.in[2] + ow * p.stride[2] + kw];
              best = std::max(best, v), sum += v;
            }
          want[c * out_size + oh * p.out[2] + ow] = p.kind == kPoolMax ? best : sum / float(p.kernel[1] * p.kernel[2]);
        }
    std::vector<float> buffer = x;
    pool<float>(p, buffer.data(), buffer.data());
    for (size_t i = 0; i < want.size(); ++i) REQUIRE(buffer[i] == Approx(want[i]));
  }
}

TEST_CASE("gemm with transposed B, alpha, beta and a row-broadcast C") {
  const float a[4] = {1, 2, 3, 4};      // 2x2
  const float bt[4] = {1, 1, 0, 1};     // B^T: B = [[1,0],[1,1]]
  const float c[2] = {100, 200};        // C [2] broadcast over rows
  float y[4];
  GemmParams p{2, 2, 2, 0, 1, 2.0f, 0.5f, 0, 1, kActNone, 0, 0};
  gemm<float>(p, a, bt, c, y);
  // A B = [[3, 2], [7, 4]]; y = 2 * AB + 0.5 * C
  CHECK(y[0] == 56);
  CHECK(y[1] == 104);
  CHECK(y[2] == 64);
  CHECK(y[3] == 108);
}

TEST_CASE("softmax over the middle axis sums to one and keeps order") {
  const float x[6] = {0, 1, 2, 10, 10, 10};  // [1, 3, 2]: axis values (0,2,10) and (1,10,10)
  float y[6];
  SoftmaxParams p{kSoftmax, 1, 3, 2};
  softmax<float>(p, x, y);
  CHECK(y[0] + y[2] + y[4] == Approx(1.0f));
  CHECK(y[1] + y[3] + y[5] == Approx(1.0f));
  CHECK(y[3] == Approx(y[5]));
  CHECK(y[4] == Approx(1.0f / (1.0f + std::exp(-8.0f) + std::exp(-10.0f))));
}

TEST_CASE("broadcast add of [2,1] and [3]") {
  const int32_t a[2] = {10, 20}, b[3] = {1, 2, 3};
  int32_t y[6];
  BroadcastParams p{};
  p.n = 6;
  p.rank = 2;
  p.dims[0] = 2, p.dims[1] = 3;
  p.strides[0][0] = 1, p.strides[0][1] = 0;
  p.strides[1][0] = 0, p.strides[1][1] = 1;
  broadcast<op::Add, 2, int32_t, int32_t, int32_t, int32_t>(p, a, b, nullptr, y);
  const int32_t want[6] = {11, 12, 13, 21, 22, 23};
  for (int i = 0; i < 6; ++i) CHECK(y[i] == want[i]);
}

TEST_CASE("Mod follows the divisor's sign; Round is half to even") {
  CHECK(op::Mod::f(int32_t(-7), int32_t(3)) == 2);
  CHECK(op::Mod::f(int32_t(7), int32_t(-3)) == -2);
  CHECK(op::Mod::f(-7.5f, 2.0f) == 0.5f);
  MapParams p{};
  CHECK(op::Round::f(2.5f, p) == 2.0f);
  CHECK(op::Round::f(3.5f, p) == 4.0f);
  CHECK(op::Round::f(-0.5f, p) == -0.0f);
}

TEST_CASE("average pool excludes padding unless count_include_pad") {
  const float x[4] = {1, 2, 3, 4};  // 2x2
  float y[4];
  PoolParams p{};
  p.kind = kPoolAvg;
  p.planes = 1;
  for (int a = 0; a < 3; ++a) p.in[a] = p.out[a] = p.kernel[a] = p.stride[a] = p.dilation[a] = 1;
  p.in[1] = p.in[2] = 2;
  p.out[1] = p.out[2] = 2;
  p.kernel[1] = p.kernel[2] = 2;
  p.pad[1] = p.pad[2] = 1;  // top-left padding, output 2x2
  pool<float>(p, x, y);
  CHECK(y[0] == 1.0f);
  CHECK(y[3] == 2.5f);
  p.count_include_pad = 1;
  pool<float>(p, x, y);
  CHECK(y[0] == 0.25f);
  CHECK(y[3] == 2.5f);
}

TEST_CASE("quantize rounds half to even and saturates") {
  const float x[5] = {0.25f, 0.75f, 100.f, -100.f, -0.25f};
  const float scale[1] = {0.5f};
  const int8_t zp[1] = {1};
  int8_t y[5];
  QuantizeParams p{5, 1, 1, 0};
  quantize_linear<int8_t>(p, x, scale, zp, y);
  CHECK(y[0] == 1);    // 0.5 -> 0, + 1
  CHECK(y[1] == 3);    // 1.5 -> 2, + 1
  CHECK(y[2] == 127);  // saturated
  CHECK(y[3] == -128);
  CHECK(y[4] == 1);    // -0.5 -> -0, + 1
}

TEST_CASE("round_half_even is std::nearbyint: ties to even, large values, both signs") {
  for (float v : {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, 4194303.5f, 4194304.5f, 8388607.5f,
                  -8388607.5f, 16777216.0f, 1e9f, -1e9f, 0.0f, -0.0f})
    CHECK(round_half_even(v) == std::nearbyint(v));
  for (int i = -200000; i <= 200000; ++i) {
    const float v = float(i) * 0.25f + 0.125f * float(i % 3);
    REQUIRE(round_half_even(v) == std::nearbyint(v));
  }
}
