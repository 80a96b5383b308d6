#include "codegen/plan.h"

#include <algorithm>
#include <numeric>

namespace tinyc {

namespace {

struct Interval {
  size_t bytes, first, last;  // node steps, inclusive
};
using Intervals = std::map<std::string, Interval>;

// The name under which the scratch buffer of the node at step i is planned.
std::string scratch_name(size_t i) { return "\x01scratch" + std::to_string(i); }

// The largest sum of bytes live at one step.
size_t peak(const Intervals& live, size_t steps) {
  std::vector<int64_t> delta(steps + 2, 0);
  for (const auto& [name, iv] : live) delta[iv.first] += iv.bytes, delta[iv.last + 1] -= iv.bytes;
  int64_t sum = 0, best = 0;
  for (int64_t d : delta) best = std::max(best, sum += d);
  return static_cast<size_t>(best);
}

// Offsets for the intervals: several greedy orders, each with first fit (the lowest offset where a
// tensor overlaps nothing live at the same time) and best fit (the smallest such gap); the
// smallest arena wins.
std::pair<std::map<std::string, size_t>, size_t> place(const Intervals& live, size_t alignment) {
  struct Item {
    std::string name;
    Interval iv;
  };
  std::vector<Item> all;
  for (const auto& [name, iv] : live) all.push_back({name, iv});
  using Less = bool (*)(const Item&, const Item&);
  const Less orders[] = {
      [](const Item& a, const Item& b) { return a.iv.bytes != b.iv.bytes ? a.iv.bytes > b.iv.bytes : a.iv.first < b.iv.first; },
      [](const Item& a, const Item& b) { return a.iv.first != b.iv.first ? a.iv.first < b.iv.first : a.iv.bytes > b.iv.bytes; },
      [](const Item& a, const Item& b) {
        const size_t la = a.iv.last - a.iv.first, lb = b.iv.last - b.iv.first;
        return la != lb ? la > lb : a.iv.bytes > b.iv.bytes;
      },
      [](const Item& a, const Item& b) {
        const size_t wa = a.iv.bytes * (a.iv.last - a.iv.first + 1), wb = b.iv.bytes * (b.iv.last - b.iv.first + 1);
        return wa != wb ? wa > wb : a.iv.first < b.iv.first;
      }};
  std::pair<std::map<std::string, size_t>, size_t> best{{}, SIZE_MAX};
  for (int attempt = 0; attempt < 8; ++attempt) {
    const bool best_fit = attempt >= 4;
    std::vector<Item> order = all;
    std::stable_sort(order.begin(), order.end(), orders[attempt % 4]);
    std::map<std::string, size_t> offset;
    size_t size = 0;
    std::vector<std::pair<Interval, size_t>> placed;
    for (const Item& it : order) {
      std::vector<std::pair<size_t, size_t>> busy;  // [begin, end) of overlapping tensors
      for (const auto& [other, off] : placed)
        if (other.first <= it.iv.last && it.iv.first <= other.last) busy.push_back({off, off + other.bytes});
      std::sort(busy.begin(), busy.end());
      size_t off = 0, fit = SIZE_MAX, fit_gap = SIZE_MAX;
      for (const auto& [b, e] : busy) {
        if (off + it.iv.bytes <= b) {
          if (!best_fit) break;
          if (b - off < fit_gap) fit = off, fit_gap = b - off;
        }
        off = std::max(off, (e + alignment - 1) / alignment * alignment);
      }
      if (best_fit && fit != SIZE_MAX) off = fit;
      placed.push_back({it.iv, off});
      offset[it.name] = off;
      size = std::max(size, off + it.iv.bytes);
    }
    if (size < best.second) best = {offset, size};
  }
  return best;
}

// The plan for running g's nodes in `order` (steps index into it).
ArenaPlan plan_in_order(const Graph& g, const std::vector<size_t>& order, size_t alignment,
                        const std::vector<NodeMemory>& mem, const std::set<std::string>& keep) {
  ArenaPlan plan;
  const size_t steps = order.size();
  const std::set<std::string> outputs(g.outputs.begin(), g.outputs.end());
  auto memory = [&](size_t node) { return node < mem.size() ? mem[node] : NodeMemory{}; };
  auto root = [&](const std::string& t) {
    auto a = plan.alias.find(t);
    const std::string& r = a == plan.alias.end() ? t : a->second;
    auto p = plan.in_place.find(r);
    return p == plan.in_place.end() ? r : p->second;
  };
  // Each tensor's lifetime, from the step that writes it to the last step that reads it.
  Intervals live;
  for (size_t s = 0; s < steps; ++s) {
    const Node& n = g.nodes[order[s]];
    if (is_view(n) && !outputs.count(n.outputs[0])) {  // no copy: the output is the input
      plan.alias[n.outputs[0]] = root(n.inputs[0]);
      continue;
    }
    for (const auto& in : n.inputs) {
      auto it = live.find(root(in));
      if (it != live.end()) it->second.last = s;
    }
    for (const auto& o : n.outputs)
      if (!o.empty() && !outputs.count(o) && !g.is_const(o)) live[o] = Interval{g.tensor(o).bytes(), s, s};
    if (const size_t b = memory(order[s]).scratch) live[scratch_name(s)] = Interval{b, s, s};
  }
  for (const auto& o : g.outputs) {  // an output that views an intermediate keeps it alive
    auto it = live.find(root(o));
    if (it != live.end()) it->second.last = steps;
  }
  // In place: the output takes over the buffer of an input that dies at this step, when that
  // does not raise the peak.
  for (size_t s = 0; s < steps; ++s) {
    const Node& n = g.nodes[order[s]];
    const NodeMemory m = memory(order[s]);
    if (m.in_place < 0 || static_cast<size_t>(m.in_place) >= n.inputs.size() || n.outputs.empty()) continue;
    const std::string& in = n.inputs[m.in_place];
    const std::string& out = n.outputs[0];
    if (in.empty() || keep.count(in) || !live.count(out)) continue;
    const std::string r = root(in);
    auto it = live.find(r);
    if (it == live.end() || keep.count(r) || it->second.last != s) continue;
    Intervals trial = live;
    Interval& merged = trial.at(r);
    merged.last = trial.at(out).last;
    merged.bytes = std::max(merged.bytes, trial.at(out).bytes);
    trial.erase(out);
    trial.erase(scratch_name(s));
    if (m.in_place_scratch) trial[scratch_name(s)] = Interval{m.in_place_scratch, s, s};
    if (peak(trial, steps) > peak(live, steps)) continue;
    live = std::move(trial);
    plan.in_place[out] = r;
  }
  auto [offset, size] = place(live, alignment);
  for (size_t s = 0; s < steps; ++s) {
    auto it = offset.find(scratch_name(s));
    if (it == offset.end()) continue;
    plan.scratch[s] = it->second;
    offset.erase(it);
  }
  plan.offset = offset;
  plan.size = live.empty() ? 0 : size;
  for (size_t s = 0; s < steps; ++s) {
    size_t sum = 0;
    for (const auto& [name, iv] : live)
      if (iv.first <= s && s <= iv.last) sum += iv.bytes;
    plan.live_bytes.push_back(sum);
    plan.lower_bound = std::max(plan.lower_bound, sum);
  }
  return plan;
}

// Repeatedly runs, among the nodes whose inputs are ready, the one that adds the fewest bytes
// (its outputs less the inputs it is the last to read); ties go to the model's order.
std::vector<size_t> greedy_order(const Graph& g) {
  const size_t n = g.nodes.size();
  std::map<std::string, size_t> producer, readers;
  for (size_t i = 0; i < n; ++i)
    for (const auto& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  std::vector<size_t> waiting(n, 0);
  std::vector<std::vector<size_t>> consumers(n);
  for (size_t i = 0; i < n; ++i)
    for (const auto& in : g.nodes[i].inputs) {
      if (in.empty()) continue;
      ++readers[in];
      auto p = producer.find(in);
      if (p != producer.end()) ++waiting[i], consumers[p->second].push_back(i);
    }
  for (const auto& o : g.outputs) ++readers[o];  // never freed
  std::vector<size_t> order;
  std::vector<bool> done(n, false);
  while (order.size() < n) {
    size_t best = n;
    int64_t best_delta = 0;
    for (size_t i = 0; i < n; ++i) {
      if (done[i] || waiting[i]) continue;
      const Node& node = g.nodes[i];
      int64_t delta = 0;
      if (!is_view(node)) {
        for (const auto& o : node.outputs)
          if (!o.empty()) delta += static_cast<int64_t>(g.tensor(o).bytes());
        for (const auto& in : node.inputs)
          if (!in.empty() && producer.count(in) &&
              readers[in] == static_cast<size_t>(std::count(node.inputs.begin(), node.inputs.end(), in)))
            delta -= static_cast<int64_t>(g.tensor(in).bytes());
      }
      if (best == n || delta < best_delta) best = i, best_delta = delta;
    }
    if (best == n) return {};  // a cycle: keep the model's order
    done[best] = true;
    order.push_back(best);
    for (const auto& in : g.nodes[best].inputs)
      if (!in.empty()) --readers[in];
    for (size_t c : consumers[best]) --waiting[c];
  }
  return order;
}

}  // namespace

bool is_view(const Node& n) {
  return n.op == "Reshape" || n.op == "Flatten" || n.op == "Squeeze" || n.op == "Unsqueeze";
}

ArenaPlan plan_arena(const Graph& g, size_t alignment, const std::vector<NodeMemory>& mem,
                     const std::set<std::string>& keep) {
  std::vector<size_t> order(g.nodes.size());
  std::iota(order.begin(), order.end(), 0);
  return plan_in_order(g, order, alignment, mem, keep);
}

std::vector<size_t> schedule(const Graph& g, size_t alignment, const std::vector<NodeMemory>& mem,
                             const std::set<std::string>& keep) {
  std::vector<size_t> given(g.nodes.size());
  std::iota(given.begin(), given.end(), 0);
  const std::vector<size_t> greedy = greedy_order(g);
  if (greedy.empty() || greedy == given) return given;
  const size_t a = plan_in_order(g, given, alignment, mem, keep).size;
  const size_t b = plan_in_order(g, greedy, alignment, mem, keep).size;
  return b < a ? greedy : given;
}

}  // namespace tinyc
