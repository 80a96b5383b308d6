// Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (inference of the loss value).
#ifndef TINYC_LOSS_H
#define TINYC_LOSS_H

#include "tinyc.h"

namespace tinyc {

enum Reduction : int32_t { kReduceNone = 0, kReduceSumLoss = 1, kReduceMeanLoss = 2 };

struct LossParams {
  int32_t batch, classes, inner;  // scores viewed as [batch, classes, inner]
  int32_t reduction;
  int32_t has_ignore, ignore_index;
  int32_t index64;                // targets are int64 (else int32)
  int32_t softmax;                // scores are logits: apply log-softmax over the classes first
  TINYC_PARAMS(LossParams, batch, classes, inner, reduction, has_ignore, ignore_index, index64, softmax)
};

// in: scores, targets, optional class weights. out: loss (scalar or [batch, inner]), and for
// softmax the optional log-probabilities [batch, classes, inner].
template <class T>
void loss(const LossParams& p, const T* x, const void* target, const T* w, T* y, T* log_prob) {
  T total = T(0), weight_sum = T(0);
  for (int32_t n = 0; n < p.batch; ++n)
    for (int32_t i = 0; i < p.inner; ++i) {
      const T* xs = x + n * p.classes * p.inner + i;
      T shift = T(0);  // x - shift is the log-probability
      if (p.softmax) {
        T mx = xs[0];
        for (int32_t k = 1; k < p.classes; ++k) mx = xs[k * p.inner] > mx ? xs[k * p.inner] : mx;
        T sum = T(0);
        for (int32_t k = 0; k < p.classes; ++k) sum += std::exp(xs[k * p.inner] - mx);
        shift = mx + std::log(sum);
        if (log_prob)
          for (int32_t k = 0; k < p.classes; ++k)
            log_prob[(n * p.classes + k) * p.inner + i] = xs[k * p.inner] - shift;
      }
      const int32_t at = n * p.inner + i;
      const int64_t t = read_index(target, p.index64, at);
      T l = T(0), wt = T(0);
      if (!(p.has_ignore && t == p.ignore_index)) {
        wt = w ? w[t] : T(1);
        l = -(xs[t * p.inner] - shift) * wt;
      }
      if (p.reduction == kReduceNone) y[at] = l;
      total += l;
      weight_sum += wt;
    }
  if (p.reduction == kReduceSumLoss) y[0] = total;
  if (p.reduction == kReduceMeanLoss) y[0] = weight_sum != T(0) ? total / weight_sum : T(0);
}

}  // namespace tinyc

#endif
