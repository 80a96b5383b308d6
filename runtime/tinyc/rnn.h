#ifndef TINYC_RNN_H
#define TINYC_RNN_H

#include "tinyc.h"

namespace tinyc {}  // namespace tinyc

#endif
