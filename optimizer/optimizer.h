// Graph passes over the IR. Each pass keeps the graph's outputs unchanged.
#pragma once

#include "ir/ir.h"

namespace tinyc {

// Evaluates every node whose inputs are all constants (or whose output depends on shapes only,
// like Shape) and replaces it by its result. Also sets the shape of every tensor.
void fold_constants(Graph& g);

// Removes nodes none of whose outputs are used, and constants nothing reads.
void eliminate_dead_nodes(Graph& g);

// Removes Identity and inference Dropout nodes (rewiring their consumers).
void remove_identities(Graph& g);

// Folds an inference BatchNormalization into the Conv or Gemm that produces its input.
void fold_batch_norm(Graph& g);

// Folds Relu, Clip (constant bounds) and LeakyRelu into the Conv, ConvTranspose or Gemm that
// produces their input, as that layer's output activation.
void fuse_activations(Graph& g);

// All passes, in order: fold_constants, remove_identities, fold_batch_norm, fuse_activations,
// eliminate_dead_nodes.
void optimize(Graph& g);

}  // namespace tinyc
