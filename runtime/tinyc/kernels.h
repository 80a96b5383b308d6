// All float/integer reference kernels of the tinyc runtime.
#ifndef TINYC_KERNELS_H
#define TINYC_KERNELS_H

#include "elementwise.h"
#include "int8.h"
#include "loss.h"
#include "misc.h"
#include "movement.h"
#include "nn.h"
#include "quant.h"
#include "reduce.h"
#include "resize.h"
#include "rnn.h"

#endif
