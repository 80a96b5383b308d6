// Losses: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.
#include "ops/op.h"
#include "runtime/tinyc/loss.h"

namespace tinyc {
namespace {

Lowered lower_loss(OpContext& c, bool softmax) {
  const Tensor& x = c.input(0);
  const Tensor& t = c.input(1);
  if (x.shape.size() < 2) c.fail("scores must be at least 2-D");
  if (t.dtype != DType::Int64 && t.dtype != DType::Int32) c.fail("targets must be int32 or int64");
  LossParams p{};
  p.batch = i32(c, x.shape[0]);
  p.classes = i32(c, x.shape[1]);
  p.inner = i32(c, num_elements(x.shape) / std::max<int64_t>(1, x.shape[0] * x.shape[1]));
  if (num_elements(t.shape) != int64_t(p.batch) * p.inner) c.fail("targets do not match the scores");
  const std::string red = c.node.get_string("reduction", "mean");
  p.reduction = red == "none" ? kReduceNone : red == "sum" ? kReduceSumLoss : kReduceMeanLoss;
  if (red != "none" && red != "sum" && red != "mean") c.fail(fmt::format("reduction '{}' is not supported", red));
  p.has_ignore = c.node.has("ignore_index");
  p.ignore_index = static_cast<int32_t>(c.node.get_int("ignore_index", 0));
  p.index64 = t.dtype == DType::Int64;
  p.softmax = softmax;
  if (t.is_const)
    for (int64_t v : t.ints())
      if ((v < 0 || v >= x.shape[1]) && !(p.has_ignore && v == p.ignore_index))
        c.fail(fmt::format("target {} is out of range", v));
  c.set_output(0, x.dtype, p.reduction == kReduceNone ? t.shape : Shape{});
  if (softmax) c.set_output(1, x.dtype, x.shape);
  return TINYC_TYPED_KERNEL(p, tinyc::loss, with_float_type, c, x.dtype);
}

}  // namespace

// Both losses: a softmax first or not.
void register_loss_ops(OpTable& t) {
  for (const bool softmax : {false, true})
    t[softmax ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss"] = [softmax](OpContext& c) {
      return lower_loss(c, softmax);
    };
}

}  // namespace tinyc
