// Memory planner: places every intermediate tensor at an offset of one arena by its lifetime.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace tinyc {

struct ArenaPlan {
  std::map<std::string, size_t> offset;  // intermediate tensor -> byte offset in the arena
  std::map<std::string, std::string> alias;  // view output -> the tensor whose bytes it reuses
  size_t size = 0;                       // arena bytes
  size_t lower_bound = 0;                // largest sum of bytes live at one step
  std::vector<size_t> live_bytes;        // per node: arena bytes live while it runs
  std::map<size_t, size_t> scratch;      // node index -> offset of its scratch buffer
};

// Reshape, Flatten, Squeeze, Unsqueeze: the output is the input's bytes, unchanged.
bool is_view(const Node& n);

// Intermediates are the tensors produced by nodes that are neither graph outputs nor constants.
// scratch_bytes[i]: the scratch buffer node i needs (may be empty: none).
ArenaPlan plan_arena(const Graph& g, size_t alignment, const std::vector<size_t>& scratch_bytes = {});

}  // namespace tinyc
