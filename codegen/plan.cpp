#include "codegen/plan.h"

#include <algorithm>
#include <set>

namespace tinyc {

namespace {
struct Interval {
  std::string name;
  size_t bytes, first, last;  // node steps, inclusive
};
}  // namespace

bool is_view(const Node& n) {
  return n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" || n.op == "Unsqueeze";
}

ArenaPlan plan_arena(const Graph& g, size_t alignment) {
  ArenaPlan plan;
  const std::set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  auto root = [&](const std::string& t) {
    auto it = plan.alias.find(t);
    return it == plan.alias.end() ? t : it->second;
  };
  std::map<std::string, Interval> live;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (is_view(n) && !outputs.count(n.outputs[0])) {  // no copy: the output is the input
      plan.alias[n.outputs[0]] = root(n.inputs[0]);
      continue;
    }
    for (const auto& in : n.inputs) {
      auto it = live.find(root(in));
      if (it != live.end()) it->second.last = i;
    }
    for (const auto& o : n.outputs) {
      if (o.empty() || outputs.count(o) || g.is_const(o)) continue;
      live[o] = Interval{o, g.tensor(o).bytes(), i, i};
    }
  }
  for (const auto& o : g.outputs) {  // an output that views an intermediate keeps it alive
    auto it = live.find(root(o));
    if (it != live.end()) it->second.last = g.nodes.size();
  }
  std::vector<Interval> order;
  for (const auto& [name, iv] : live) order.push_back(iv);
  // Largest first, then earliest: a classic greedy that is near the lower bound in practice.
  std::stable_sort(order.begin(), order.end(), [](const Interval& a, const Interval& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.first < b.first;
  });
  std::vector<std::pair<Interval, size_t>> placed;
  for (const Interval& iv : order) {
    std::vector<std::pair<size_t, size_t>> busy;  // [begin, end) of overlapping tensors
    for (const auto& [other, off] : placed)
      if (other.first <= iv.last && iv.first <= other.last) busy.push_back({off, off + other.bytes});
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (const auto& [b, e] : busy) {
      if (off + iv.bytes <= b) break;
      off = std::max(off, (e + alignment - 1) / alignment * alignment);
    }
    placed.push_back({iv, off});
    plan.offset[iv.name] = off;
    plan.size = std::max(plan.size, off + iv.bytes);
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    size_t sum = 0;
    for (const auto& [name, iv] : live)
      if (iv.first <= i && i <= iv.last) sum += iv.bytes;
    plan.live_bytes.push_back(sum);
    plan.lower_bound = std::max(plan.lower_bound, sum);
  }
  return plan;
}

}  // namespace tinyc
