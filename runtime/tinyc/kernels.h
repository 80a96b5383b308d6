// All float/integer reference kernels of the tinyc runtime.
#ifndef TINYC_KERNELS_H
#define TINYC_KERNELS_H

#include "tinyc/elementwise.h"
#include "tinyc/misc.h"
#include "tinyc/movement.h"
#include "tinyc/nn.h"
#include "tinyc/reduce.h"

#endif
