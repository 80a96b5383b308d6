#ifndef TINYC_QUANT_H
#define TINYC_QUANT_H

#include "tinyc.h"

namespace tinyc {}  // namespace tinyc

#endif
