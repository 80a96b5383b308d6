#include "codegen/plan.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>

namespace tinyc {

namespace {

// A buffer of the arena: it lives from step `first` and needs bytes[k] at step first + k. Its
// size changes when an output takes over its input's buffer in place, and so does what it holds:
// holds[j] = the step from which, the tensor, and how far into the buffer that tensor starts (an
// input that an output overlaps with a lead starts that far in).
struct Buffer {
  struct Hold {
    size_t from;
    std::string tensor;
    size_t shift;
  };
  size_t first = 0;
  std::vector<size_t> bytes;
  std::vector<Hold> holds;
  size_t last() const { return first + bytes.size() - 1; }
  size_t at(size_t step) const { return step < first || step > last() ? 0 : bytes[step - first]; }
  size_t peak() const { return *std::max_element(bytes.begin(), bytes.end()); }
  const Hold& holder(size_t step) const {
    size_t j = 0;
    while (j + 1 < holds.size() && holds[j + 1].from <= step) ++j;
    return holds[j];
  }
};
using Buffers = std::map<std::string, Buffer>;

Buffer make_buffer(size_t bytes, size_t first, const std::string& holds) { return Buffer{first, {bytes}, {{first, holds, 0}}}; }

void extend(Buffer& b, size_t step) {
  if (step > b.last()) b.bytes.resize(step - b.first + 1, b.bytes.back());
}

// The name under which the scratch buffer of the node at step i is planned, and what the plan's
// `live` calls it.
std::string scratch_name(size_t i) { return "\x01scratch" + std::to_string(i); }
std::string scratch_label(size_t i) { return "(scratch of layer " + std::to_string(i) + ")"; }

// What the plan's `live` calls the bytes kept free before the tensor b holds at step s, for the
// output of a later step that will overlap it.
std::string lead_label(const Buffer& b, size_t step) {
  size_t next = step;
  for (const Buffer::Hold& h : b.holds)
    if (h.from > step) {
      next = h.from;
      break;
    }
  return "(kept for layer " + std::to_string(next) + "'s output)";
}

// The bytes live at each step.
std::vector<size_t> live_sums(const Buffers& live, size_t steps) {
  std::vector<size_t> sum(steps + 1, 0);
  for (const auto& [name, b] : live)
    for (size_t s = b.first; s <= b.last() && s <= steps; ++s) sum[s] += b.at(s);
  return sum;
}

size_t peak(const Buffers& live, size_t steps) {
  const std::vector<size_t> sum = live_sums(live, steps);
  return *std::max_element(sum.begin(), sum.end());
}

// Offsets for the buffers: several greedy orders, each with first fit (the lowest offset where a
// buffer overlaps nothing live at the same steps) and best fit (the smallest such gap); the
// smallest arena wins.
std::pair<std::map<std::string, size_t>, size_t> place(const Buffers& live, size_t alignment, size_t bound) {
  struct Item {
    std::string name;
    const Buffer* b;
  };
  std::vector<Item> all;
  for (const auto& [name, b] : live) all.push_back({name, &b});
  auto span = [](const Item& i) { return i.b->bytes.size(); };
  using Less = std::function<bool(const Item&, const Item&)>;
  const Less orders[] = {
      [](const Item& a, const Item& b) { return a.b->peak() != b.b->peak() ? a.b->peak() > b.b->peak() : a.b->first < b.b->first; },
      [](const Item& a, const Item& b) { return a.b->first != b.b->first ? a.b->first < b.b->first : a.b->peak() > b.b->peak(); },
      [&](const Item& a, const Item& b) { return span(a) != span(b) ? span(a) > span(b) : a.b->peak() > b.b->peak(); },
      [&](const Item& a, const Item& b) {
        const size_t wa = a.b->peak() * span(a), wb = b.b->peak() * span(b);
        return wa != wb ? wa > wb : a.b->first < b.b->first;
      }};
  // Then, while the arena is above the bound, orders shuffled by a fixed generator (mt19937's
  // sequence is the same everywhere, so the plan is too).
  std::mt19937 shuffle_rng(1);
  std::pair<std::map<std::string, size_t>, size_t> best{{}, SIZE_MAX};
  for (int attempt = 0; attempt < 8 + 512 && best.second > bound; ++attempt) {
    const bool best_fit = attempt % 8 >= 4;
    std::vector<Item> order = all;
    if (attempt < 8) {
      std::stable_sort(order.begin(), order.end(), orders[attempt % 4]);
    } else {
      for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[shuffle_rng() % k]);
    }
    std::map<std::string, size_t> offset;
    size_t size = 0;
    std::vector<std::pair<const Buffer*, size_t>> placed;
    for (const Item& it : order) {
      // Each placed buffer that shares a step forbids [begin - need, end): begin/end its offset and
      // top over the shared steps, need this buffer's largest size over them.
      struct Busy {
        size_t begin, end, need;
      };
      std::vector<Busy> busy;
      for (const auto& [other, off] : placed) {
        const size_t lo = std::max(other->first, it.b->first), hi = std::min(other->last(), it.b->last());
        if (lo > hi) continue;
        Busy u{off, off, 0};
        for (size_t s = lo; s <= hi; ++s) u.end = std::max(u.end, off + other->at(s)), u.need = std::max(u.need, it.b->at(s));
        busy.push_back(u);
      }
      std::vector<size_t> candidates{0};
      for (const Busy& u : busy) candidates.push_back((u.end + alignment - 1) / alignment * alignment);
      for (const auto& [other, off] : placed) candidates.push_back(off);  // where others start, too
      std::sort(candidates.begin(), candidates.end());
      size_t chosen = SIZE_MAX, chosen_gap = SIZE_MAX;
      for (size_t off : candidates) {
        size_t gap = SIZE_MAX;
        bool ok = true;
        for (const Busy& u : busy) {
          if (off >= u.end || u.begin == u.end) continue;
          if (off + u.need > u.begin) ok = false;
          else gap = std::min(gap, u.begin - off - u.need);
        }
        if (!ok) continue;
        if (!best_fit) {
          chosen = off;
          break;
        }
        if (chosen == SIZE_MAX || gap < chosen_gap) chosen = off, chosen_gap = gap;
      }
      placed.push_back({it.b, chosen});
      offset[it.name] = chosen;
      size = std::max(size, chosen + it.b->peak());
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
  Buffers live;
  for (size_t s = 0; s < steps; ++s) {
    const Node& n = g.nodes[order[s]];
    if (is_view(n) && !outputs.count(n.outputs[0])) {  // no copy: the output is the input
      plan.alias[n.outputs[0]] = root(n.inputs[0]);
      continue;
    }
    for (const auto& in : n.inputs) {
      auto it = live.find(root(in));
      if (it != live.end()) extend(it->second, s);
    }
    for (const auto& o : n.outputs)
      if (!o.empty() && !outputs.count(o) && !g.is_const(o)) {
        live[o] = make_buffer(g.tensor(o).bytes(), s, o);
        plan.intermediate_bytes += g.tensor(o).bytes();
      }
    if (const size_t b = memory(order[s]).scratch) live[scratch_name(s)] = make_buffer(b, s, scratch_label(s));
  }
  for (const auto& o : g.outputs) {  // an output that views an intermediate keeps it alive
    auto it = live.find(root(o));
    if (it != live.end()) extend(it->second, steps);
  }
  // In place: the output takes over the buffer of an input that dies at this step (the buffer
  // then holds the larger of the two at that step), when that does not raise the peak. With a
  // lead, the input moves that far into the buffer for all its life, and the output starts at 0.
  size_t current_peak = peak(live, steps);
  for (size_t s = 0; s < steps; ++s) {
    const Node& n = g.nodes[order[s]];
    const NodeMemory m = memory(order[s]);
    if (m.in_place < 0 || static_cast<size_t>(m.in_place) >= n.inputs.size() || n.outputs.empty()) continue;
    const std::string& in = n.inputs[m.in_place];
    const std::string& out = n.outputs[0];
    if (in.empty() || !live.count(out)) continue;
    // A kept tensor may be the caller's buffer: only an output with a lead (which starts in the
    // arena, before it) may overlap it.
    auto a = plan.alias.find(in);
    const std::string& viewed = a == plan.alias.end() ? in : a->second;
    if (!m.in_place_lead && (keep.count(in) || keep.count(viewed))) continue;
    const std::string r = root(in);
    auto it = live.find(r);
    if (it == live.end() || it->second.last() != s) continue;
    Buffers trial = live;
    Buffer& merged = trial.at(r);
    const Buffer& o = trial.at(out);
    for (size_t& b : merged.bytes) b += m.in_place_lead;
    for (Buffer::Hold& h : merged.holds) h.shift += m.in_place_lead;
    merged.bytes.back() = std::max(merged.bytes.back(), o.bytes.front());
    merged.bytes.insert(merged.bytes.end(), o.bytes.begin() + 1, o.bytes.end());
    merged.holds.insert(merged.holds.end(), o.holds.begin(), o.holds.end());
    trial.erase(out);
    trial.erase(scratch_name(s));
    if (m.in_place_scratch) trial[scratch_name(s)] = make_buffer(m.in_place_scratch, s, scratch_label(s));
    const size_t trial_peak = peak(trial, steps);
    if (trial_peak > current_peak) continue;
    current_peak = trial_peak;
    live = std::move(trial);
    plan.in_place[out] = r;
  }
  auto [offset, size] = place(live, alignment, current_peak);
  plan.live.resize(steps);
  for (const auto& [name, b] : live) {
    for (size_t s = b.first; s <= b.last() && s < steps; ++s) {
      const Buffer::Hold& h = b.holder(s);
      plan.live[s].push_back({h.tensor, b.at(s) - h.shift, offset.at(name) + h.shift});
      if (h.shift) plan.live[s].push_back({lead_label(b, s), h.shift, offset.at(name)});
    }
    if (name == scratch_name(b.first)) {
      plan.scratch[b.first] = offset.at(name);
      plan.scratch_bytes[b.first] = b.bytes.front();
    } else {
      for (const Buffer::Hold& h : b.holds) plan.offset[h.tensor] = offset.at(name) + h.shift;
    }
  }
  for (auto& v : plan.live)
    std::sort(v.begin(), v.end(), [](const LiveBuffer& a, const LiveBuffer& b) {
      return a.offset != b.offset ? a.offset < b.offset : a.tensor < b.tensor;
    });
  plan.size = live.empty() ? 0 : size;
  plan.live_bytes = live_sums(live, steps);
  plan.live_bytes.resize(steps);
  std::vector<size_t> padded(steps, 0);
  for (const auto& [name, b] : live)
    for (size_t s = b.first; s <= b.last() && s < steps; ++s) padded[s] += (b.at(s) + alignment - 1) / alignment * alignment;
  for (size_t s = 0; s < steps; ++s) {
    plan.lower_bound = std::max(plan.lower_bound, plan.live_bytes[s]);
    plan.padded_bound = std::max(plan.padded_bound, padded[s]);
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
