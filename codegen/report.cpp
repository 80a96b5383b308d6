#include "codegen/report.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <set>
#include <sstream>

#include "ops/op.h"

namespace tinyc {

namespace {

// Multiply-accumulates of one layer (the matrix-product layers only, float or integer).
int64_t macs_of(const Graph& g, const Node& n) {
  auto shape = [&](size_t i) { return g.tensor(n.inputs.at(i)).shape; };
  const Shape out = n.outputs.at(0).empty() ? Shape{} : g.tensor(n.outputs.at(0)).shape;
  if (n.op == "Conv" || n.op == "ConvS8" || n.op == "ConvInteger" || n.op == "QLinearConv") {
    const Shape w = shape(n.op == "QLinearConv" ? 3 : 1);
    return num_elements(out) * (w.empty() || w[0] == 0 ? 0 : num_elements(w) / w[0]);
  }
  if (n.op == "ConvTranspose") {
    const Shape w = shape(1);
    return num_elements(shape(0)) * (w.empty() || w[0] == 0 ? 0 : num_elements(w) / w[0]);
  }
  if (n.op == "Gemm") {
    const Shape a = shape(0);
    return num_elements(out) * (n.get_int("transA", 0) ? a[0] : a[1]);
  }
  if (n.op == "MatMul" || n.op == "MatMulInteger" || n.op == "QLinearMatMul" || n.op == "FullyConnectedS8")
    return num_elements(out) * shape(0).back();
  return 0;
}

}  // namespace

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json make_report(const Graph& g, const Generated& gen, const Target& target, const ReportInputs& extra) {
  // The kernels the code calls, as the code generator lowered them.
  Graph lowered_graph = g;
  std::vector<Lowered> kernels;
  for (const Node& n : lowered_graph.nodes) kernels.push_back(lower_node(lowered_graph, n, target.isa()));

  nlohmann::json layers = nlohmann::json::array();
  int64_t total_macs = 0;
  uint64_t total_instructions = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    nlohmann::json l;
    l["index"] = i;
    l["name"] = n.name;
    l["op"] = n.op;
    size_t wbytes = 0;
    for (const auto& in : n.inputs) {
      if (in.empty()) continue;
      const Tensor& t = g.tensor(in);
      l["inputs"].push_back(t.shape);
      l["inputs_constant"].push_back(t.is_const);
      if (t.is_const) wbytes += t.bytes();
    }
    for (const auto& o : n.outputs)
      if (!o.empty()) l["outputs"].push_back(g.tensor(o).shape), l["output_tensors"].push_back(o);
    const int64_t macs = macs_of(g, n);
    total_macs += macs;
    l["macs"] = macs;
    l["weight_bytes"] = wbytes;
    const bool view = !n.outputs.empty() && gen.plan.alias.count(n.outputs[0]);
    l["kernel"] = view ? "(view: no code)" : kernels[i].kernel;
    auto scratch = gen.plan.scratch_bytes.find(i);
    l["scratch_bytes"] = scratch == gen.plan.scratch_bytes.end() ? 0 : scratch->second;
    if (!n.outputs.empty() && gen.plan.in_place.count(n.outputs[0]))
      l["in_place_of"] = gen.plan.in_place.at(n.outputs[0]);
    l["live_bytes"] = gen.plan.live_bytes.at(i);
    l["live"] = nlohmann::json::array();
    for (const LiveBuffer& b : gen.plan.live.at(i))
      l["live"].push_back({{"tensor", b.tensor}, {"bytes", b.bytes}, {"offset", b.offset}});
    if (!extra.tensor_sqnr_db.empty() && !n.outputs.empty()) {
      auto it = extra.tensor_sqnr_db.find(n.outputs[0]);
      if (it != extra.tensor_sqnr_db.end()) l["sqnr_db"] = json_number(it->second);
    }
    auto p = extra.instructions.find(i);
    if (p != extra.instructions.end()) l["instructions"] = p->second, total_instructions += p->second;
    layers.push_back(l);
  }
  size_t io_bytes = 0;
  for (const auto& name : g.inputs) io_bytes += g.tensor(name).bytes();
  for (const auto& name : g.outputs) io_bytes += g.tensor(name).bytes();
  nlohmann::json r;
  r["target"] = target.name;
  r["layers"] = layers;
  nlohmann::json t;
  t["layers"] = g.nodes.size();
  t["macs"] = total_macs;
  t["weight_bytes"] = gen.weight_bytes;
  t["arena_bytes"] = gen.plan.size;
  t["arena_lower_bound_bytes"] = gen.plan.lower_bound;
  // What the tests hold the planner to: the arena may exceed the bound by alignment padding only.
  t["arena_padding_max_bytes"] = gen.plan.padded_bound - gen.plan.lower_bound;
  t["intermediate_bytes"] = gen.plan.intermediate_bytes;
  t["io_bytes"] = io_bytes;
  size_t peak_layer = 0;
  for (size_t i = 0; i < gen.plan.live_bytes.size(); ++i)
    if (gen.plan.live_bytes[i] > gen.plan.live_bytes[peak_layer]) peak_layer = i;
  if (!g.nodes.empty()) t["peak_layer"] = g.nodes[peak_layer].name;
  // Code: measured on Cortex-M4 with -O2 (tests/mcu), the models' .text is 0.6 to 9 KB: about
  // 1 KB per distinct kernel plus the schedule. This is an estimate; the linker map is the truth.
  std::set<std::string> ops;
  for (const Node& n : g.nodes) ops.insert(n.op);
  const size_t code = 512 + 1024 * ops.size() + 48 * g.nodes.size();
  const size_t params = 96 * g.nodes.size();  // the layers' constant params structs
  t["estimated_code_bytes"] = code;
  t["flash_bytes"] = gen.weight_bytes + params + code;
  // RAM: the arena plus the stack of one inference (at most ~450 B measured on every target).
  t["estimated_stack_bytes"] = 512;
  t["ram_bytes"] = gen.plan.size + 512;
  if (!extra.instructions.empty()) t["profiled_instructions"] = total_instructions;
  r["totals"] = t;
  if (!extra.profile_source.empty()) r["profile"] = extra.profile_source;
  // The budgets the totals are drawn against: the user's, else the target's typical part.
  nlohmann::json b;
  auto budget = [&](const char* key, size_t given, size_t part, const char* option) {
    if (given) b[key] = {{"bytes", given}, {"source", option}};
    else if (part) b[key] = {{"bytes", part}, {"source", "typical part: " + target.part}};
  };
  budget("flash", extra.max_flash, target.part_flash_bytes, "--max-flash");
  budget("ram", extra.max_ram, target.part_ram_bytes, "--max-ram");
  r["budgets"] = b.is_null() ? nlohmann::json::object() : b;
  return r;
}

std::string format_report_text(const nlohmann::json& r) {
  std::string s;
  if (r.contains("layers")) {
    s += fmt::format("{:>4}  {:<28} {:<20} {:>12} {:>10} {:>10}  {}\n", "#", "name", "op", "MACs", "weights",
                     "live", "output");
    for (const auto& l : r["layers"]) {
      std::string out;
      for (const auto& o : l["outputs"]) {
        std::vector<int64_t> v = o;
        out += (out.empty() ? "" : ", ") + fmt::format("[{}]", fmt::join(v, "x"));
      }
      s += fmt::format("{:>4}  {:<28} {:<20} {:>12} {:>10} {:>10}  {}\n", l["index"].get<int>(),
                       l["name"].get<std::string>().substr(0, 28), l["op"].get<std::string>(),
                       l["macs"].get<int64_t>(), l["weight_bytes"].get<size_t>(), l["live_bytes"].get<size_t>(), out);
    }
    const auto& t = r["totals"];
    s += fmt::format("layers {}, MACs {}, weights {} B, arena {} B (lower bound {} B)\n",
                     t["layers"].get<size_t>(), t["macs"].get<int64_t>(), t["weight_bytes"].get<size_t>(),
                     t["arena_bytes"].get<size_t>(), t["arena_lower_bound_bytes"].get<size_t>());
  }
  if (!r["unsupported_operators"].empty()) {
    std::vector<std::string> m = r["unsupported_operators"];
    s += fmt::format("unsupported operators: {}\n", fmt::join(m, ", "));
  }
  return s;
}

std::map<size_t, ProfileLayer> parse_profile_csv(const std::string& text) {
  std::map<size_t, ProfileLayer> r;
  std::istringstream in(text);
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || (number == 1 && !std::isdigit(static_cast<unsigned char>(line[0]))))
      continue;
    const size_t c1 = line.find(','), c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    const std::string layer = line.substr(0, c1);
    const std::string count = c1 == std::string::npos ? "" : line.substr(c1 + 1, c2 == std::string::npos ? c2 : c2 - c1 - 1);
    auto digits = [](const std::string& v) { return !v.empty() && v.find_first_not_of("0123456789") == std::string::npos; };
    if (!digits(layer) || !digits(count) || layer.size() > 9 || count.size() > 19)
      throw std::invalid_argument(fmt::format("line {}: expected 'layer,instructions[,name]', got '{}'", number, line));
    ProfileLayer& p = r[std::stoul(layer)];
    p.instructions += std::stoull(count);
    if (c2 != std::string::npos) p.name = line.substr(c2 + 1);
  }
  return r;
}

}  // namespace tinyc
