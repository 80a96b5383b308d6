// int8 kernels, integer-only: int32 accumulation, then requantization to int8 with TFLite's
// fixed-point arithmetic (models tinyc quantizes: the integers of TFLite Micro's reference kernels
// and CMSIS-NN) or ONNX's float rounding (pre-quantized models: ONNX Runtime's integers). Layout
// NCHW as in the float kernels; convolutions may read a channels-last input.
//   int8_isa.h              Helium and DSP intrinsics and the few instructions GCC does not emit
//   int8_requant.h          Rounding, requantize, Requant, ChannelRequant (and four at once)
//   int8_conv.h             ConvS8Params and conv_s8, the reference every convolution equals
//   int8_im2col.h           conv_s8_im2col (one group): quads of patches times rows (plain, DSP)
//   int8_im2col_mve.h       its Helium half: gathered patches times rows by VMLADAVA
//   int8_depthwise.h        depthwise_s8
//   int8_fully_connected.h  fully_connected_s8 and its compile-time weight packing
//   int8_add.h, int8_pool.h, int8_misc.h  add_s8; max / average pooling; concat, lookup, softmax
#ifndef TINYC_INT8_H
#define TINYC_INT8_H

#include "int8_add.h"
#include "int8_conv.h"
#include "int8_depthwise.h"
#include "int8_fully_connected.h"
#include "int8_im2col.h"
#include "int8_misc.h"
#include "int8_pool.h"
#include "int8_requant.h"

#endif
