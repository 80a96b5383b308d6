// The micro-kernels of the ISA the code is compiled for: plain C (M0+, M3, the host), the DSP
// extension (M4, M7, M33) or Helium (M55). Each folder defines the same functions with the same
// signatures, which the ISA-neutral drivers (depthwise.h, im2col.h, fully_connected.h, pool.h)
// call; this is the one place that chooses between them.
#ifndef TINYC_INT8_MICRO_KERNELS_H
#define TINYC_INT8_MICRO_KERNELS_H

#if defined(__ARM_FEATURE_MVE)
#include "mve/depthwise.h"
#include "mve/fully_connected.h"
#include "mve/im2col.h"
#include "mve/pool.h"
#elif defined(__ARM_FEATURE_DSP)
#include "dsp/depthwise.h"
#include "dsp/fully_connected.h"
#include "dsp/im2col.h"
#include "dsp/pool.h"
#else
#include "plain/depthwise.h"
#include "plain/fully_connected.h"
#include "plain/im2col.h"
#include "plain/pool.h"
#endif

#endif
