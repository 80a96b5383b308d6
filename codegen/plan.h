// Memory planner: places every intermediate tensor at an offset of one arena by its lifetime.
#pragma once

#include <map>
#include <string>

#include "ir/ir.h"

namespace tinyc {

struct ArenaPlan {
  std::map<std::string, size_t> offset;  // intermediate tensor -> byte offset in the arena
  size_t size = 0;                       // arena bytes
  size_t lower_bound = 0;                // largest sum of bytes live at one step
};

// Intermediates are the tensors produced by nodes that are neither graph outputs nor constants.
ArenaPlan plan_arena(const Graph& g, size_t alignment);

}  // namespace tinyc
