#ifndef TINYC_RESIZE_H
#define TINYC_RESIZE_H

#include "tinyc.h"

namespace tinyc {}  // namespace tinyc

#endif
