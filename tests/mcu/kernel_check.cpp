// The int8 kernels on the core itself: the runtime's references (int8/reference.h) and every fast kernel that applies (conv_s8_im2col,
// depthwise_s8, fully_connected_s8, add_s8, max_pool_s8, the global average pool, with the core's own ISA path: SMLAD where the DSP extension is
// there, plain C elsewhere) against a straightforward loop, on random shapes, strides, paddings,
// dilations and quantization parameters, from NCHW, channels-last and over its own input.
// Prints "kernel_check: T trials, R kernel runs, M mismatches" and exits with 1 on any mismatch.
#include <stdio.h>
#include <string.h>

#include <initializer_list>

#include "tests/common/int8_reference.h"

using namespace tinyc;
constexpr Rounding TFLite = Rounding::TFLite, Onnx = Rounding::OnnxFloat;
#if defined(__ARM_FEATURE_MVE)
constexpr Isa kIsa = Isa::Helium;
#elif defined(__ARM_FEATURE_DSP)
constexpr Isa kIsa = Isa::Dsp;
#else
constexpr Isa kIsa = Isa::Plain;
#endif

static uint32_t state = 12345;
static int32_t uni(int32_t lo, int32_t hi) {  // a fixed LCG: the same cases on every core
  state = state * 1664525u + 1013904223u;
  return lo + int32_t((state >> 8) % uint32_t(hi - lo + 1));
}

constexpr int kMax = 8 * 9 * 9;
alignas(8) static int8_t x[kMax], nhwc[kMax], w[2 * 2 * 257], y[kMax], want[kMax], buffer[kMax];
alignas(8) static int32_t bias[9], folded[9], mult[9], scratch[2048];
alignas(8) static int8_t shift[9];
alignas(8) static float fscale[9];

int main() {
  int trials = 0, runs = 0, mismatches = 0;
  auto conv_trial = [&](const ConvS8Params& p, int trial) {
    const bool fl = p.float_requant;
    const int cg = p.in_ch / p.groups, ks = p.kernel[1] * p.kernel[2];
    const int in_size = p.in[1] * p.in[2], out_size = p.out[1] * p.out[2];
    for (int i = 0; i < p.in_ch * in_size; ++i) x[i] = int8_t(uni(-128, 127));
    for (int i = 0; i < p.out_ch * cg * ks; ++i) w[i] = int8_t(uni(-127, 127));
    for (int m = 0; m < p.out_ch; ++m) {
      bias[m] = uni(-5000, 5000);
      mult[m] = int32_t((1u << 30) + uint32_t(uni(0, 1 << 29)) * 2u);
      shift[m] = int8_t(uni(0, 9) ? -uni(6, 14) : uni(0, 1));  // now and then a left shift
      fscale[m] = float(uni(1, 1000)) / float(1 << uni(12, 20));
    }
    reference_conv_s8(p, x, w, bias, mult, shift, want, fl ? fscale : nullptr);
    // Channels-last: x [HW, C], w [M, K, C/g] (w itself, from mode 1 on), y [HW, M] (compared in
    // place: the M0+ has 16 KiB).
    transpose_blocks(x, 1, p.in_ch, in_size, nhwc);
    using Kernel = void (*)(const ConvS8Params&, const int8_t*, const int8_t*, const void*, const int32_t*, const int8_t*,
                            const float*, int8_t*, Scratch);
    const bool depthwise = p.groups == p.in_ch && p.out_ch == p.in_ch;
    constexpr Layout Last = Layout::ChannelsLast;
    const Kernel im2col = conv_s8_im2col_for<Layout::ChannelsFirst>(p.kernel[2], fl);
    const Kernel im2col_last = conv_s8_im2col_for<Layout::ChannelsLast>(p.kernel[2], fl);
    const Kernel dw = fl ? depthwise_s8<0, 0, Onnx> : depthwise_s8<0, 0, TFLite>;
    const Kernel dw_last = fl ? depthwise_s8<0, 0, Onnx, Last> : depthwise_s8<0, 0, TFLite, Last>;
    const Kernel dw3 = fl ? depthwise_s8<3, 3, Onnx> : depthwise_s8<3, 3, TFLite>;
    const Kernel dw3_last = fl ? depthwise_s8<3, 3, Onnx, Last> : depthwise_s8<3, 3, TFLite, Last>;
    // Each kernel with the scratch its *_scratch_bytes says for this core's ISA: the bytes past
    // that must stay as they were.
    // Modes: 0 NCHW, 1 channels-last input, 2 over its input, 3 channels-last output, 4 both.
    // overlap: y starts conv_s8_im2col_lead bytes before x and overlaps the rest, as planned.
    auto check = [&](Kernel kernel, int mode, bool overlap = false) {
      ConvS8Params q = p;
      const bool plane = kernel == dw || kernel == dw3 || kernel == dw_last || kernel == dw3_last;
      const size_t room = plane ? depthwise_s8_scratch_bytes(q) : conv_s8_im2col_scratch_bytes(q, kIsa);
      if (room + 64 > sizeof scratch) {
        ++mismatches;
        printf("trial %d needs %u bytes of scratch, more than the check has\n", trial, unsigned(room));
        return;
      }
      uint8_t* const canary = reinterpret_cast<uint8_t*>(scratch) + room;
      memset(canary, 0x5a, 64);
      q.channels_last = mode == 1 || mode == 4;
      q.channels_last_out = mode >= 3;
      memcpy(buffer, x, size_t(p.in_ch * in_size));
      const int8_t* from = mode == 2 ? buffer : q.channels_last ? nhwc : x;
      int8_t* to = mode == 2 ? buffer : y;
      if (overlap) {
        const int64_t lead = conv_s8_im2col_lead(q);
        if (lead < 0 || lead + p.in_ch * in_size > kMax) return;
        memcpy(buffer + lead, q.channels_last ? nhwc : x, size_t(p.in_ch * in_size));
        from = buffer + lead, to = buffer;
      }
      kernel(q, from, w, bias, mult, shift, fscale, to, Scratch{scratch});
      ++runs;
      for (int i = 0; i < 64; ++i)
        if (canary[i] != 0x5a) {
          ++mismatches;
          printf("scratch overrun: trial %d mode %d writes past its %u bytes\n", trial, mode, unsigned(room));
          break;
        }
      const int8_t* got = mode == 2 || overlap ? buffer : y;
      bool same = true;
      for (int m = 0; m < p.out_ch; ++m)
        for (int i = 0; i < out_size; ++i) same = same && got[q.channels_last_out ? i * p.out_ch + m : m * out_size + i] == want[m * out_size + i];
      if (!same) {
        ++mismatches;
        printf("mismatch: trial %d mode %d%s groups %ld in %ldx%ld k %ldx%ld\n", trial, mode, overlap ? " overlapping" : "", (long)p.groups,
               (long)p.in[1], (long)p.in[2], (long)p.kernel[1], (long)p.kernel[2]);
      }
    };
    if (is_pointwise(p)) check(im2col, 2);
    if (depthwise && out_size <= in_size) check(dw, 2);
    for (int mode : {0, 3, 1, 4}) {
      const bool last = mode >= 3;
      if (mode == 1) {  // w channels-last from here
        memcpy(scratch, w, size_t(p.out_ch * cg * ks));
        transpose_blocks(reinterpret_cast<const int8_t*>(scratch), p.out_ch, cg, ks, w);
      }
      check(reference::conv_s8, mode);  // the runtime's reference, which the evaluator can run
      if (p.groups == 1) check(last ? im2col_last : im2col, mode), check(last ? im2col_last : im2col, mode, true);
      if (depthwise) check(last ? dw_last : dw, mode);
      if (depthwise && ks == 9) check(last ? dw3_last : dw3, mode);
    }
  };
  for (int trial = 0; trial < 300; ++trial, ++trials) conv_trial(random_conv_s8(uni, trial, 4, 2), trial);
  // Depthwise 3x3 on wider rows (Helium goes down columns of four outputs there), then one group
  // with a window of 257 values along a row (more places than the gathers' tables take).
  for (int trial = 300; trial < 340; ++trial, ++trials) {
    ConvS8Params p = random_conv_s8(uni, 6 * trial + 5, 4, 2);
    p.in[2] = uni(4, 12), p.stride[1] = p.stride[2] = uni(0, 3) ? 1 : 2;
    for (int a = 1; a < 3; ++a) p.out[a] = (p.in[a] + 2 * p.pad[a] - 3) / p.stride[a] + 1;
    conv_trial(p, trial);
  }
  for (int trial = 340; trial < 344; ++trial, ++trials) {
    ConvS8Params p = random_conv_s8(uni, 3 * trial, 1, 1);
    p.in_ch = p.out_ch = 1 + trial % 2, p.in[1] = p.out[1] = 3 - p.in_ch, p.in[2] = 262, p.out[2] = 6;
    p.kernel[1] = p.dilation[1] = p.stride[1] = 1, p.kernel[2] = 257, p.dilation[2] = 1, p.stride[2] = 2;
    p.pad[1] = 0, p.pad[2] = 3;
    conv_trial(p, trial);
  }
  for (int trial = 0; trial < 100; ++trial, ++trials) {  // fully connected
    const bool fl = trial % 4 == 3;
    const int32_t zx = uni(-128, 127);
    FullyConnectedS8Params p{1, uni(1, 70), uni(1, 9), uni(-128, 127), uni(-128, 0), uni(0, 127), fl, 0};
    if (trial % 2) p.act_min = -128, p.act_max = 127;
    for (int i = 0; i < p.depth; ++i) x[i] = int8_t(uni(-128, 127));
    for (int i = 0; i < p.units * p.depth; ++i) w[i] = int8_t(uni(-127, 127));
    for (int u = 0; u < p.units; ++u) {
      bias[u] = uni(-5000, 5000);
      mult[u] = int32_t((1u << 30) + uint32_t(uni(0, 1 << 29)) * 2u);
      shift[u] = int8_t(uni(0, 9) ? -uni(6, 14) : uni(0, 1));
      fscale[u] = float(uni(1, 1000)) / float(1 << uni(12, 20));
    }
    reference_fully_connected_s8(p, zx, x, w, bias, mult, shift, want, fl ? fscale : nullptr);
    int8_t* packed = buffer;  // 9 x 70 fits
    fully_connected_s8_constants(p, zx, w, bias, packed, folded);
    (fl ? fully_connected_s8<Onnx> : fully_connected_s8<TFLite>)(p, x, packed, folded, mult, shift, fscale, y);
    ++runs;
    if (memcmp(y, want, size_t(p.units)) != 0) ++mismatches, printf("mismatch: fully connected trial %d\n", trial);
    reference::fully_connected_s8(p, x, packed, folded, mult, shift, fscale, y);  // the runtime's reference
    if (memcmp(y, want, size_t(p.units)) != 0) ++mismatches, printf("mismatch: reference fully connected %d\n", trial);
  }
  for (int trial = 0; trial < 100; ++trial, ++trials) {  // add (sub: a - b), b broadcast along rows or not
    const bool sub = trial % 4 == 1;
    const int rows = uni(1, 5), cols = uni(1, 9);
    const bool row_vector = uni(0, 1);
    AddS8Params p{};
    p.shape.n = rows * cols, p.shape.rank = 2, p.shape.dims[0] = rows, p.shape.dims[1] = cols;
    p.shape.strides[0][0] = cols, p.shape.strides[0][1] = 1;
    p.shape.strides[1][0] = row_vector ? 0 : cols, p.shape.strides[1][1] = 1;
    p.zero_point[0] = uni(-128, 127), p.zero_point[1] = uni(-128, 127), p.output_zero_point = uni(-128, 127);
    for (int k = 0; k < 2; ++k) p.multiplier[k] = int32_t((1u << 30) + uint32_t(uni(0, 1 << 29)) * 2u), p.shift[k] = -uni(1, 3);
    p.output_multiplier = int32_t((1u << 30) + uint32_t(uni(0, 1 << 29)) * 2u);
    p.output_shift = uni(0, 9) ? -uni(14, 22) : 0;  // now and then no right shift: the general path
    p.act_min = trial % 2 ? -128 : uni(-128, 0), p.act_max = trial % 2 ? 127 : uni(0, 127);
    for (int i = 0; i < rows * cols; ++i) x[i] = int8_t(uni(-128, 127)), nhwc[i] = int8_t(uni(-128, 127));
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        want[r * cols + c] = reference_add_s8(p, x[r * cols + c], nhwc[(row_vector ? 0 : r * cols) + c], sub);
    (sub ? sub_s8 : add_s8)(p, x, nhwc, y);
    ++runs;
    if (memcmp(y, want, size_t(rows * cols)) != 0) ++mismatches, printf("mismatch: add trial %d\n", trial);
    (sub ? reference::add_s8<true> : reference::add_s8<false>)(p, x, nhwc, y);  // the runtime's reference
    if (memcmp(y, want, size_t(rows * cols)) != 0) ++mismatches, printf("mismatch: reference add %d\n", trial);
  }
  for (int trial = 0; trial < 100; ++trial, ++trials) {  // max pool, against pool<int8_t>
    const PoolParams p = random_max_pool(uni, 9, 3, true);
    const int n = p.planes * p.in[1] * p.in[2], out_n = p.planes * p.out[1] * p.out[2];
    for (int i = 0; i < n; ++i) x[i] = int8_t(uni(-128, 127));
    pool<int8_t>(p, x, want);
    max_pool_s8(p, x, y, Scratch{scratch});
    ++runs;
    if (memcmp(y, want, size_t(out_n)) != 0) ++mismatches, printf("mismatch: max pool trial %d\n", trial);
  }
  for (int trial = 0; trial < 50; ++trial, ++trials) {  // global average pool: one sum per plane
    AvgPoolS8Params p{};
    const int size = uni(1, trial % 2 ? 40 : kMax);  // past 512 values: the 16-bit lanes emptied
    p.planes = kMax / size < 3 ? kMax / size : 3;
    p.in[0] = p.out[0] = p.out[1] = p.out[2] = p.kernel[0] = p.stride[0] = p.stride[1] = p.stride[2] = 1;
    p.in[1] = p.kernel[1] = 1, p.in[2] = p.kernel[2] = size;
    for (int i = 0; i < p.planes * size; ++i) x[i] = int8_t(trial % 5 ? uni(-128, 127) : -128);  // extremes too
    if (trial % 3 == 0) p.scale = 0.25f + float(trial) / 16.0f, p.input_zero_point = uni(-128, 127), p.output_zero_point = -3;
    for (int c = 0; c < p.planes; ++c) {
      int32_t sum = 0;
      for (int i = 0; i < size; ++i) sum += x[c * size + i];
      AvgPoolS8Params one = p;  // the reference on this plane alone
      one.planes = 1;
      reference::avg_pool_s8(one, x + c * size, want + c);
      if (p.scale == 0.0f && want[c] != clamp_s8(sum >= 0 ? (sum + size / 2) / size : (sum - size / 2) / size, -128, 127))
        ++mismatches, printf("mismatch: reference global average pool trial %d\n", trial);
    }
    avg_pool_s8(p, x, y);
    ++runs;
    if (memcmp(y, want, size_t(p.planes)) != 0) ++mismatches, printf("mismatch: global average pool trial %d\n", trial);
  }
#if defined(__ARM_FEATURE_MVE)
  // requantize4 against ChannelRequant on every accumulator in a range, with multipliers of 2^30
  // (one half: every other value a tie) and random ones, left and right shifts, both roundings.
  for (int trial = 0; trial < 40; ++trial, ++trials) {
    for (int m = 0; m < 4; ++m) {
      mult[m] = trial % 2 ? int32_t(1u << 30) : int32_t((1u << 30) + uint32_t(uni(0, 1 << 29)) * 2u);
      shift[m] = int8_t(trial % 5 == 4 ? uni(0, 2) : -uni(1, 12));
      fscale[m] = trial % 2 ? 0.5f : float(uni(1, 1000)) / float(1 << uni(8, 16));
      bias[m] = 0;
    }
    const bool fl = trial % 4 >= 2;
    const int32_t lo = trial % 3 ? -128 : uni(-128, 0), hi = trial % 3 ? 127 : uni(0, 127), zp = uni(-128, 127);
    FullyConnectedS8Params rp{};  // the output side only
    rp.output_zero_point = zp, rp.act_min = lo, rp.act_max = hi, rp.float_requant = fl;
    const Requant q(rp, bias, mult, shift, fscale);
    for (int32_t a = -3000; a < 3000; a += 4) {
      alignas(8) int32_t acc[4] = {a, a + 1, a + 2, a + 3}, got[4];
      vstrwq_s32(got, fl ? requantize4<Onnx>(vldrwq_s32(acc), q, 0) : requantize4<TFLite>(vldrwq_s32(acc), q, 0));
      for (int i = 0; i < 4; ++i) {
        const int8_t want_i = fl ? ChannelRequant<Onnx>(q, i).out(acc[i], zp, lo, hi, false)
                                 : ChannelRequant<TFLite>(q, i).out(acc[i], zp, lo, hi, false);
        if (got[i] != want_i) ++mismatches, printf("mismatch: requantize4 trial %d acc %ld\n", trial, (long)acc[i]);
      }
    }
    ++runs;
  }
#endif
  printf("kernel_check: %d trials, %d kernel runs, %d mismatches\n", trials, runs, mismatches);
  return mismatches != 0;
}
