// Graph passes over the IR. Each pass keeps the graph's outputs unchanged.
#pragma once

#include <ostream>
#include <set>
#include <string>
#include <vector>

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

// A zero constant Pad of the spatial axes goes into the pads of the Conv (or AveragePool counting
// padding) that reads it, and one of -inf (or of 0 after a Relu) into a MaxPool's; a Pad of
// nothing is removed.
void fold_pad(Graph& g);

// MatMul of an input by a constant 2-D matrix becomes a Gemm (which takes a bias and an
// activation, and has an int8 kernel); an input of more than two axes is viewed as rows [.., K]
// and the product viewed back.
void matmul_to_gemm(Graph& g);

// Transposes: two in a row become one (none when they cancel); one that moves only axes of size 1
// becomes a Reshape (a view); channels-last to channels-first read only by Convs is folded into
// them (they read channels-last); one followed by a flatten into Gemms is folded into the
// Gemms' weights.
void fold_transposes(Graph& g);

// Mul (or Div) by a constant that is one value per channel or a single value, after a Conv or
// Gemm (into its weights and bias) or before one (into its weights, per input channel).
void fold_mul(Graph& g);

// Adds a constant that is one value per output channel (or one value) into the bias of the Conv,
// ConvTranspose or Gemm whose output it is added to.
void fold_add_into_bias(Graph& g);

// Folds Relu, Clip (constant bounds) and LeakyRelu into the Conv, ConvTranspose, Gemm or Add
// (a residual connection) that produces their input, as that layer's output activation.
void fuse_activations(Graph& g);

// A recurrent layer (one direction, batch 1) whose output sequence Y is read only for its last
// step (Gather or Slice of index -1 through views: x[:, -1] after a batch-first export) gives it
// from its final state Y_h: Y, a sequence's length larger, is never stored. Outputs of LSTM, GRU
// and RNN that nothing reads are dropped.
void use_final_state(Graph& g);

struct Pass {
  const char* name;
  void (*run)(Graph&);
};

// The passes in the order they run: fold_constants, remove_identities, fold_pad, fold_batch_norm,
// matmul_to_gemm, fold_transposes, fold_mul, fold_add_into_bias, fuse_activations,
// use_final_state, eliminate_dead_nodes.
const std::vector<Pass>& passes();

struct OptimizeOptions {
  std::set<std::string> disabled;  // pass names to skip (fold_constants always runs: it sets shapes)
  std::string dump_after;          // pass name: print the IR after it to `dump`
  std::ostream* dump = nullptr;
};

// Runs all passes in order. Throws ModelError for an unknown pass name.
void optimize(Graph& g, const OptimizeOptions& opts = {});

// A readable text form of the IR, one node per line.
std::string dump_ir(const Graph& g);

}  // namespace tinyc
