#include "optimizer/optimizer.h"

#include <set>

#include "ops/op.h"

namespace tinyc {

void fold_constants(Graph& g) {
  std::vector<Node> kept;
  for (const Node& n : g.nodes) {
    const Lowered l = lower_node(g, n);
    bool foldable = l.kernel.empty();
    if (!foldable) {
      foldable = true;
      for (const auto& name : n.inputs)
        if (!name.empty() && !g.is_const(name)) foldable = false;
    }
    if (!foldable) {
      kept.push_back(n);
      continue;
    }
    std::vector<const void*> in(std::max(n.inputs.size(), kKernelSlots), nullptr);
    std::vector<void*> out(std::max(n.outputs.size(), kKernelSlots), nullptr);
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (!n.inputs[i].empty()) in[i] = g.tensor(n.inputs[i]).data.data();
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      Tensor& t = g.tensor(n.outputs[i]);
      t.data.assign(t.bytes() + 1, 0);
      out[i] = t.data.data();
    }
    l.run(in.data(), out.data());
    for (const auto& name : n.outputs) {
      if (name.empty()) continue;
      Tensor& t = g.tensor(name);
      t.data.resize(t.bytes());
      t.is_const = true;
    }
  }
  g.nodes = std::move(kept);
}

void eliminate_dead_nodes(Graph& g) {
  std::set<std::string> used(g.outputs.begin(), g.outputs.end());
  std::vector<Node> kept;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    bool live = false;
    for (const auto& o : it->outputs) live = live || (!o.empty() && used.count(o));
    if (!live) continue;
    for (const auto& i : it->inputs) used.insert(i);
    kept.push_back(*it);
  }
  g.nodes.assign(kept.rbegin(), kept.rend());
  for (const auto& i : g.inputs) used.insert(i);
  for (auto it = g.tensors.begin(); it != g.tensors.end();) {
    bool produced = false;
    for (const Node& n : g.nodes)
      for (const auto& o : n.outputs) produced = produced || o == it->first;
    if (!used.count(it->first) && !produced) it = g.tensors.erase(it);
    else ++it;
  }
}

void optimize(Graph& g) {
  fold_constants(g);
  eliminate_dead_nodes(g);
}

}  // namespace tinyc
