// The reference evaluator: runs a graph on the host with the runtime's own kernels.
#pragma once

#include <functional>
#include <vector>

#include "ir/ir.h"
#include "ops/op.h"

namespace tinyc {

// Lowers every node in order (setting the shapes of all tensors) and returns the kernel calls.
std::vector<Lowered> lower_graph(Graph& g, Isa isa = Isa::Portable);

// Sees every tensor the evaluator computes (and the graph inputs): its metadata and bytes.
using Observer = std::function<void(const Tensor&, const uint8_t*)>;

// Runs the graph on `inputs` (in graph input order); returns the graph outputs in order. With
// Kernels::Reference, the int8 kernels' references in their place: the same integers, slowly.
std::vector<Tensor> evaluate(Graph& g, const std::vector<Tensor>& inputs, const Observer& observe = nullptr,
                             Kernels kernels = Kernels::Fast);

}  // namespace tinyc
