#include "ops/op.h"
#include "runtime/tinyc/rnn.h"

namespace tinyc {

void register_rnn_ops(OpTable&) {}

}  // namespace tinyc
