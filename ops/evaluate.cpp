#include "ops/evaluate.h"

#include <map>

namespace tinyc {

std::vector<Lowered> lower_graph(Graph& g, Isa isa) {
  std::vector<Lowered> v;
  for (const Node& n : g.nodes) v.push_back(lower_node(g, n, isa));
  return v;
}

std::vector<Tensor> evaluate(Graph& g, const std::vector<Tensor>& inputs, const Observer& observe, Kernels kernels) {
  if (inputs.size() != g.inputs.size())
    throw ModelError(fmt::format("the model has {} inputs, {} given", g.inputs.size(), inputs.size()));
  std::map<std::string, std::vector<uint8_t>> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = g.tensor(g.inputs[i]);
    if (inputs[i].dtype != t.dtype || inputs[i].bytes() != t.bytes())
      throw ModelError(fmt::format("input '{}' must be {} {}, got {} {}", t.name, dtype_name(t.dtype),
                                   shape_str(t.shape), dtype_name(inputs[i].dtype),
                                   shape_str(inputs[i].shape)));
    values[t.name] = inputs[i].data;
    if (observe) observe(t, values[t.name].data());
  }
  auto pointer = [&](const std::string& name) -> uint8_t* {
    if (name.empty()) return nullptr;
    Tensor& t = g.tensor(name);
    if (t.is_const) return t.data.data();
    auto it = values.find(name);
    if (it == values.end()) throw ModelError(fmt::format("tensor '{}' is used before it is computed", name));
    return it->second.data();
  };
  for (const Node& n : g.nodes) {
    const Lowered l = lower_node(g, n);
    std::vector<const void*> in;
    std::vector<void*> out;
    for (const auto& name : n.inputs) in.push_back(pointer(name));
    for (const auto& name : n.outputs) {
      if (name.empty()) {
        out.push_back(nullptr);
        continue;
      }
      auto& buf = values[name];
      buf.assign(g.tensor(name).bytes() + 1, 0);  // +1: never a null pointer for empty tensors
      out.push_back(buf.data());
    }
    run_lowered(l, in, out, kernels);
    if (observe)
      for (const auto& name : n.outputs)
        if (!name.empty()) observe(g.tensor(name), values[name].data());
  }
  std::vector<Tensor> result;
  for (const auto& name : g.outputs) {
    Tensor t = g.tensor(name);
    const uint8_t* p = pointer(name);
    t.data.assign(p, p + t.bytes());
    t.is_const = false;
    result.push_back(std::move(t));
  }
  return result;
}

}  // namespace tinyc
