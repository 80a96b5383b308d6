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

// The name under which node i's scratch buffer is planned.
static std::string scratch_name(size_t i) { return "\x01scratch" + std::to_string(i); }

ArenaPlan plan_arena(const Graph& g, size_t alignment, const std::vector<size_t>& scratch_bytes) {
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
    if (i < scratch_bytes.size() && scratch_bytes[i]) live[scratch_name(i)] = Interval{scratch_name(i), scratch_bytes[i], i, i};
  }
  for (const auto& o : g.outputs) {  // an output that views an intermediate keeps it alive
    auto it = live.find(root(o));
    if (it != live.end()) it->second.last = g.nodes.size();
  }
  std::vector<Interval> all;
  for (const auto& [name, iv] : live) all.push_back(iv);
  // Several greedy orders, each with first fit (the lowest offset where a tensor overlaps nothing
  // live at the same time) and best fit (the smallest such gap); keep the smallest arena.
  using Less = bool (*)(const Interval&, const Interval&);
  const Less orders[] = {
      [](const Interval& a, const Interval& b) { return a.bytes != b.bytes ? a.bytes > b.bytes : a.first < b.first; },
      [](const Interval& a, const Interval& b) { return a.first != b.first ? a.first < b.first : a.bytes > b.bytes; },
      [](const Interval& a, const Interval& b) {
        const size_t la = a.last - a.first, lb = b.last - b.first;
        return la != lb ? la > lb : a.bytes > b.bytes;
      },
      [](const Interval& a, const Interval& b) {
        const size_t wa = a.bytes * (a.last - a.first + 1), wb = b.bytes * (b.last - b.first + 1);
        return wa != wb ? wa > wb : a.first < b.first;
      }};
  bool first_plan = true;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const Less less = orders[attempt % 4];
    const bool best_fit = attempt >= 4;  // the smallest gap that fits, instead of the lowest
    std::vector<Interval> order = all;
    std::stable_sort(order.begin(), order.end(), less);
    std::map<std::string, size_t> offset;
    size_t size = 0;
    std::vector<std::pair<Interval, size_t>> placed;
    for (const Interval& iv : order) {
      std::vector<std::pair<size_t, size_t>> busy;  // [begin, end) of overlapping tensors
      for (const auto& [other, off] : placed)
        if (other.first <= iv.last && iv.first <= other.last) busy.push_back({off, off + other.bytes});
      std::sort(busy.begin(), busy.end());
      size_t off = 0, best = SIZE_MAX, best_gap = SIZE_MAX;
      for (const auto& [b, e] : busy) {
        if (off + iv.bytes <= b) {
          if (!best_fit) break;
          if (b - off < best_gap) best = off, best_gap = b - off;
        }
        off = std::max(off, (e + alignment - 1) / alignment * alignment);
      }
      if (best_fit && best != SIZE_MAX) off = best;
      placed.push_back({iv, off});
      offset[iv.name] = off;
      size = std::max(size, off + iv.bytes);
    }
    if (first_plan || size < plan.size) {
      for (size_t i = 0; i < scratch_bytes.size(); ++i)
        if (scratch_bytes[i]) plan.scratch[i] = offset.at(scratch_name(i)), offset.erase(scratch_name(i));
      plan.offset = offset;
      plan.size = size;
      first_plan = false;
    }
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
