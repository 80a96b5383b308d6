#include "ops/op.h"
#include "runtime/tinyc/resize.h"

namespace tinyc {

void register_resize_ops(OpTable&) {}

}  // namespace tinyc
