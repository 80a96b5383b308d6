// int8 kernels, integer-only: int32 accumulation, then requantization to int8 with TFLite's
// fixed-point arithmetic (models tinyc quantizes: the integers of TFLite Micro's reference kernels
// and CMSIS-NN) or ONNX's float rounding (pre-quantized models: ONNX Runtime's integers). Layout
// NCHW as in the float kernels; convolutions may read a channels-last input.
//   int8/requant.h          Rounding, requantize, Requant, ChannelRequant: requantization, one place
//   int8/reference.h        the obviously-correct reference of every int8 kernel (the tests' oracle)
//   int8/conv.h             ConvS8Params and conv_s8, the convolution for any grouping
//   int8/conv_transpose.h   conv_transpose_s8, output by output
//   int8/im2col.h           conv_s8_im2col (one group): patches times rows of weights
//   int8/depthwise.h        depthwise_s8: a padded int16 plane per channel
//   int8/fully_connected.h  fully_connected_s8 and its compile-time weight packing
//   int8/add.h, pool.h, misc.h  add_s8; max / average pooling; concat, lookup, softmax
// The drivers above hold no ISA code: they call micro-kernels that plain/, dsp/ and mve/ define
// with the same signatures (int8/micro_kernels.h picks the folder; isa.h has the intrinsics).
#ifndef TINYC_INT8_H
#define TINYC_INT8_H

#include "int8/add.h"
#include "int8/conv.h"
#include "int8/conv_transpose.h"
#include "int8/depthwise.h"
#include "int8/fully_connected.h"
#include "int8/im2col.h"
#include "int8/misc.h"
#include "int8/pool.h"
#include "int8/reference.h"
#include "int8/requant.h"

#endif
