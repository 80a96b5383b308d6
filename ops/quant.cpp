#include "ops/op.h"
#include "runtime/tinyc/quant.h"

namespace tinyc {

void register_quant_ops(OpTable&) {}

}  // namespace tinyc
