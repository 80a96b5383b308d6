// Graph passes over the IR. Each pass keeps the graph's outputs unchanged.
#pragma once

#include "ir/ir.h"

namespace tinyc {

// Evaluates every node whose inputs are all constants (or whose output depends on shapes only,
// like Shape) and replaces it by its result. Also sets the shape of every tensor.
void fold_constants(Graph& g);

// Removes nodes none of whose outputs are used, and constants nothing reads.
void eliminate_dead_nodes(Graph& g);

// All passes, in order.
void optimize(Graph& g);

}  // namespace tinyc
