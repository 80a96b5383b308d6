// Recurrent layers: RNN, GRU and LSTM as in ONNX (gate orders: GRU z, r, h; LSTM i, o, f, c).
// The state of one sequence lives in the kernel's scratch buffer (3 * hidden elements).
#ifndef TINYC_RNN_H
#define TINYC_RNN_H

#include "tinyc.h"

namespace tinyc {


enum RnnKind : int32_t { kRnnSimple = 0, kRnnGru = 1, kRnnLstm = 2 };

// The activation functions ONNX allows in recurrent layers.
enum RnnActivation : int32_t {
  kRnnSigmoid, kRnnTanh, kRnnRelu, kRnnLeakyRelu, kRnnThresholdedRelu, kRnnHardSigmoid, kRnnElu,
  kRnnScaledTanh, kRnnAffine, kRnnSoftsign, kRnnSoftplus
};

template <class T>
inline T rnn_activate(int32_t f, T x, T alpha, T beta) {
  switch (f) {
    case kRnnSigmoid: return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    case kRnnTanh: return std::tanh(x);
    case kRnnRelu: return x > T(0) ? x : T(0);
    case kRnnLeakyRelu: return x < T(0) ? alpha * x : x;
    case kRnnThresholdedRelu: return x > alpha ? x : T(0);
    case kRnnHardSigmoid: return clamp_to(alpha * x + beta, T(0), T(1));
    case kRnnElu: return x < T(0) ? alpha * (std::exp(x) - T(1)) : x;
    case kRnnScaledTanh: return alpha * std::tanh(beta * x);
    case kRnnAffine: return alpha * x + beta;
    case kRnnSoftsign: return x / (T(1) + std::fabs(x));
    default: return x > T(20) ? x : std::log1p(std::exp(x));  // Softplus
  }
}

struct RnnParams {
  int32_t kind;
  int32_t seq, batch, input, hidden;
  int32_t dirs;                 // 2 for bidirectional
  int32_t reverse;              // the single direction runs backwards
  int32_t layout;               // 1: X, Y and the states are batch-major
  int32_t lens64;               // sequence_lens is int64 (else int32)
  int32_t act[6];               // f, g, h of direction 0, then of direction 1
  float alpha, beta;            // of the activations that take parameters
  float clip;                   // bound of the activations' inputs; 0: none
  int32_t input_forget;         // LSTM: f = 1 - i
  int32_t linear_before_reset;  // GRU
  TINYC_PARAMS(RnnParams, kind, seq, batch, input, hidden, dirs, reverse, layout, lens64, act, alpha, beta,
               clip, input_forget, linear_before_reset)
};

template <class T>
inline T rnn_dot(const T* a, const T* b, int32_t n) {
  T s = T(0);
  for (int32_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Inputs X, W, R, B, sequence_lens, initial_h, initial_c, P; outputs Y, Y_h, Y_c (any absent).
// Steps past a row's sequence length leave zeros in Y and the state unchanged.
template <class T>
void rnn(const RnnParams& p, const T* x, const T* w_all, const T* r_all, const T* bias, const void* sequence_lens,
         const T* h0, const T* c0, const T* peep, T* y, T* yh, T* yc, Scratch scratch_buffer) {
  const int32_t H = p.hidden, G = p.kind == kRnnLstm ? 4 : p.kind == kRnnGru ? 3 : 1;
  const T alpha = T(p.alpha), beta = T(p.beta), clip = T(p.clip);
  T* const scratch = static_cast<T*>(scratch_buffer.data);  // h, the next h, c (LSTM) or r * h (GRU)
  for (int32_t d = 0; d < p.dirs; ++d) {
    const bool backward = d == 1 || p.reverse;
    const T* w = w_all + d * G * H * p.input;
    const T* r = r_all + d * G * H * H;
    const T* wb = bias ? bias + d * 2 * G * H : nullptr;  // then the G * H biases of R
    const T* pd = peep ? peep + d * 3 * H : nullptr;      // peepholes i, o, f
    const int32_t* act = p.act + 3 * d;
    auto f = [&](int32_t k, T v) {
      if (clip > T(0)) v = clamp_to(v, -clip, clip);
      return rnn_activate(act[k], v, alpha, beta);
    };
    for (int32_t b = 0; b < p.batch; ++b) {
      T* h = scratch;
      T* hn = scratch + H;
      T* aux = scratch + 2 * H;
      const int32_t state = (p.layout ? b * p.dirs + d : d * p.batch + b) * H;
      for (int32_t j = 0; j < H; ++j) {
        h[j] = h0 ? h0[state + j] : T(0);
        aux[j] = c0 ? c0[state + j] : T(0);
      }
      int32_t len = p.seq;
      if (sequence_lens) len = static_cast<int32_t>(clamp_to<int64_t>(read_index(sequence_lens, p.lens64, b), 0, p.seq));
      for (int32_t s = 0; s < p.seq; ++s) {
        const int32_t t = backward && s < len ? len - 1 - s : s;
        const int32_t yrow = p.layout ? (b * p.seq + t) * p.dirs + d : (t * p.dirs + d) * p.batch + b;
        T* yt = y ? y + yrow * H : nullptr;
        if (s >= len) {
          if (yt)
            for (int32_t j = 0; j < H; ++j) yt[j] = T(0);
          continue;
        }
        const T* xt = x + (p.layout ? b * p.seq + t : t * p.batch + b) * p.input;
        // Gate g of unit j: the input part (with W's bias) and the recurrent part on v (with R's).
        auto in_part = [&](int32_t g, int32_t j) {
          const int32_t row = g * H + j;
          return rnn_dot(xt, w + row * p.input, p.input) + (wb ? wb[row] : T(0));
        };
        auto rec_part = [&](int32_t g, int32_t j, const T* v) {
          const int32_t row = g * H + j;
          return rnn_dot(v, r + row * H, H) + (wb ? wb[G * H + row] : T(0));
        };
        if (p.kind == kRnnLstm) {
          for (int32_t j = 0; j < H; ++j) {
            const T pi = pd ? pd[j] : T(0), po = pd ? pd[H + j] : T(0), pf = pd ? pd[2 * H + j] : T(0);
            T c = aux[j];
            const T i = f(0, in_part(0, j) + rec_part(0, j, h) + pi * c);
            const T fg = p.input_forget ? T(1) - i : f(0, in_part(2, j) + rec_part(2, j, h) + pf * c);
            c = fg * c + i * f(1, in_part(3, j) + rec_part(3, j, h));
            const T o = f(0, in_part(1, j) + rec_part(1, j, h) + po * c);
            aux[j] = c;
            hn[j] = o * rnn_activate(act[2], c, alpha, beta);
          }
        } else if (p.kind == kRnnGru) {
          if (!p.linear_before_reset)
            for (int32_t j = 0; j < H; ++j) aux[j] = f(0, in_part(1, j) + rec_part(1, j, h)) * h[j];
          for (int32_t j = 0; j < H; ++j) {
            const T z = f(0, in_part(0, j) + rec_part(0, j, h));
            T a;
            if (p.linear_before_reset)
              a = in_part(2, j) + f(0, in_part(1, j) + rec_part(1, j, h)) * rec_part(2, j, h);
            else
              a = in_part(2, j) + rec_part(2, j, aux);
            hn[j] = (T(1) - z) * f(1, a) + z * h[j];
          }
        } else {
          for (int32_t j = 0; j < H; ++j) hn[j] = f(0, in_part(0, j) + rec_part(0, j, h));
        }
        T* tmp = h;
        h = hn;
        hn = tmp;
        if (yt)
          for (int32_t j = 0; j < H; ++j) yt[j] = h[j];
      }
      for (int32_t j = 0; j < H; ++j) {
        if (yh) yh[state + j] = h[j];
        if (yc) yc[state + j] = aux[j];
      }
    }
  }
}

}  // namespace tinyc

#endif
