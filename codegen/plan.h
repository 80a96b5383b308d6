// Memory planner: the order the nodes run in, and one arena in which every intermediate tensor
// gets an offset by its lifetime.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace tinyc {

// What the planner needs to know of a node's kernel (ops/op.h Lowered).
struct NodeMemory {
  size_t scratch = 0;           // bytes of scratch the kernel needs
  int in_place = -1;            // output 0 may be written over this input; -1: never
  size_t in_place_scratch = 0;  // bytes of scratch when it is
  size_t in_place_lead = 0;     // output 0 then starts this many bytes before that input
};

// A buffer of the arena while one node runs: the tensor it holds then (or "(scratch of layer i)"),
// its bytes at that step and its offset.
struct LiveBuffer {
  std::string tensor;
  size_t bytes = 0, offset = 0;
};

struct ArenaPlan {
  std::map<std::string, size_t> offset;          // intermediate tensor -> byte offset in the arena
  std::map<std::string, std::string> alias;      // view output -> the tensor whose bytes it is
  std::map<std::string, std::string> in_place;   // output written over (part of) the tensor it names
  size_t size = 0;                               // arena bytes
  size_t lower_bound = 0;                        // largest sum of bytes live at one step
  size_t padded_bound = 0;  // the same with each buffer rounded up to the alignment: the arena is
                            // at most this when placement loses nothing but padding
  size_t intermediate_bytes = 0;                 // all intermediates (views aside), as if none shared
  std::vector<size_t> live_bytes;                // per node: arena bytes live while it runs
  // Per node: the buffers live while it runs, by offset (then tensor); their bytes sum to
  // live_bytes (the lead kept free before an input that a later output overlaps is a buffer of
  // its own, "(kept for layer i's output)"). A buffer lives from the step that writes its tensor
  // to the last step that reads it or a view of it; an output written in place continues its input's buffer (holding the
  // larger of the two at that step, and with a lead the input starts that far into the buffer);
  // a node's scratch lives during its step.
  std::vector<std::vector<LiveBuffer>> live;
  std::map<size_t, size_t> scratch;              // node index -> offset of its scratch buffer
  std::map<size_t, size_t> scratch_bytes;        // node index -> bytes of its scratch buffer
};

// Reshape, Flatten, Squeeze, Unsqueeze: the output is the input's bytes, unchanged.
bool is_view(const Node& n);

// Intermediates are the tensors produced by nodes that are neither graph outputs nor constants.
// mem: one entry per node (may be empty: no scratch, nothing in place). A node runs in place when
// its input dies there, is not in `keep`, and sharing does not raise the peak.
ArenaPlan plan_arena(const Graph& g, size_t alignment, const std::vector<NodeMemory>& mem = {},
                     const std::set<std::string>& keep = {});

// The order to run g's nodes in (a permutation of their indices): the given one, or a greedy one
// that frees memory first where the graph branches, whichever plans the smaller arena.
std::vector<size_t> schedule(const Graph& g, size_t alignment, const std::vector<NodeMemory>& mem = {},
                             const std::set<std::string>& keep = {});

}  // namespace tinyc
