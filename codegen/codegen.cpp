#include "codegen/codegen.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "ops/evaluate.h"

namespace tinyc {

std::string c_identifier(const std::string& s) {
  std::string r;
  for (unsigned char ch : s) r += std::isalnum(ch) && ch < 128 ? static_cast<char>(ch) : '_';
  if (r.empty() || std::isdigit(static_cast<unsigned char>(r[0]))) r = "m" + r;
  return r;
}

std::string comment_safe(const std::string& s) {
  std::string r;
  for (unsigned char ch : s)
    r += (ch >= 32 && ch < 127 && ch != '*' && ch != '/' && ch != '\\' && ch != '?' && ch != '"' && ch != '\'')
             ? static_cast<char>(ch)
             : '_';
  return r.size() > 80 ? r.substr(0, 77) + "..." : r;
}

namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// The include guard of a header tinyc writes: its file name behind a prefix that no hand-written
// header, no runtime header (TINYC_<FILE>_H) and no symbol of the generated code uses, so it
// cannot collide with the user's guards or with those of another model. Two headers share one
// only where their file names are the same but for case.
std::string include_guard(const std::string& file) { return "TINYC_GENERATED_" + upper(c_identifier(file)); }

template <class T>
std::string float_literal(T v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return std::is_same_v<T, float> ? s + "f" : s;
}

std::string int_literal(int64_t v) {
  if (v == INT64_MIN) return "(-9223372036854775807LL - 1)";
  if (v > INT32_MAX || v < -INT32_MAX) return std::to_string(v) + "LL";
  return std::to_string(v);
}

// The initializer values of a constant tensor, exactly.
std::string values_of(const Tensor& t) {
  std::string s;
  const int64_t n = num_elements(t.shape);
  for (int64_t i = 0; i < n; ++i) {
    if (i % 16 == 0) s += "\n   ";
    s += ' ';
    switch (t.dtype) {
      case DType::Float: s += float_literal(t.as<float>()[i]); break;
      case DType::Double: s += float_literal(t.as<double>()[i]); break;
      case DType::Bool: s += t.as<uint8_t>()[i] ? "true" : "false"; break;
      case DType::UInt64: s += std::to_string(t.as<uint64_t>()[i]) + "ULL"; break;
      case DType::UInt32: s += std::to_string(t.as<uint32_t>()[i]) + "u"; break;
      case DType::Float16:
      case DType::UInt16: s += std::to_string(t.as<uint16_t>()[i]); break;
      case DType::UInt8: s += std::to_string(t.as<uint8_t>()[i]); break;
      case DType::Int8: s += std::to_string(t.as<int8_t>()[i]); break;
      case DType::Int16: s += std::to_string(t.as<int16_t>()[i]); break;
      case DType::Int32: s += int_literal(t.as<int32_t>()[i]); break;
      case DType::Int64: s += int_literal(t.as<int64_t>()[i]); break;
      default: throw ModelError(fmt::format("constant '{}' has an unsupported type", t.name));
    }
    s += ',';
  }
  return s;
}

// The lines that call a node's kernel: each typed argument from the node's inputs/outputs
// (C++ expressions, "nullptr" where absent) or the scratch; `layer` is the profiling hooks' "i, name".
// in_types: the element type of each input that is a weight array ("" for the others), which is
// passed as it is where the kernel takes that type; the arena and the caller's buffers go through
// tinyc::Buffer.
std::string typed_call(const Lowered& l, const std::string& params, const std::vector<std::string>& ins,
                       const std::vector<std::string>& in_types, const std::vector<std::string>& outs,
                       const std::string& scratch, const std::string& layer) {
  auto tensor = [](const std::vector<std::string>& v, int k, bool bare) {
    if (size_t(k) >= v.size() || v[k] == "nullptr") return std::string("nullptr");
    return bare ? v[k] : fmt::format("tinyc::Buffer{{{}}}", v[k]);
  };
  std::string pre;
  std::vector<std::string> args{params};
  for (const KernelArg& a : l.args) switch (a.kind) {
      case KernelArg::FromInput: {
        const bool weight = size_t(a.index) < in_types.size() && !in_types[a.index].empty();
        args.push_back(tensor(ins, a.index, weight && (in_types[a.index] == a.type || a.type == std::string("void"))));
        break;
      }
      case KernelArg::FromOutput: args.push_back(tensor(outs, a.index, false)); break;
      case KernelArg::FromScratch: args.push_back("tinyc::Scratch{" + scratch + "}"); break;
      case KernelArg::AllInputs:
        pre += fmt::format("    const void *in[] = {{{}}};\n", fmt::join(ins, ", "));
        args.push_back("in");
        break;
      case KernelArg::AllOutputs:
        pre += fmt::format("    void *out[] = {{{}}};\n", fmt::join(outs, ", "));
        args.push_back("out");
        break;
    }
  return fmt::format("{0}    TINYC_LAYER_BEGIN({1});\n    {2}({3});\n    TINYC_LAYER_END({1});\n", pre, layer, l.kernel,
                     fmt::join(args, ", "));
}

// #error lines that stop a build the code was not generated for: another instruction set than
// the target's (its kernels' scratch is sized for that one), and -ffast-math where integers come
// from float rounding (requantization, QuantizeLinear), which needs IEEE arithmetic.
std::string build_guards(const Graph& g, const CodegenOptions& opts) {
  std::string s;
  const char* wrong = opts.isa == Isa::Helium ? "!defined(__ARM_FEATURE_MVE)"
                      : opts.isa == Isa::Dsp  ? "!defined(__ARM_FEATURE_DSP) || defined(__ARM_FEATURE_MVE)"
                      : opts.isa == Isa::Plain ? "!defined(__arm__) || defined(__ARM_FEATURE_DSP) || defined(__ARM_FEATURE_MVE)"
                                               : nullptr;
  if (wrong)
    s += fmt::format("#if {}\n#error \"tinyc: generated for {}: build it with that core's -mcpu, or generate it again "
                     "(--target host: any core)\"\n#endif\n",
                     wrong, opts.target);
  bool integers = false;
  for (const auto& entry : g.tensors)
    integers = integers || entry.second.dtype == DType::Int8 || entry.second.dtype == DType::UInt8;
  if (integers)
    s += "#ifdef __FAST_MATH__\n#error \"tinyc: this model's int8 arithmetic rounds floats as IEEE 754 does: build it "
         "without -ffast-math\"\n#endif\n";
  return s.empty() ? s : s + "\n";
}

}  // namespace

Generated generate(Graph& g, const CodegenOptions& opts) {
  const std::string& name = opts.name;
  const std::string NAME = upper(name);
  const std::string ns = "tinyc_" + name;
  std::vector<Lowered> kernels = lower_graph(g, opts.isa);
  for (size_t i = 0; i < kernels.size(); ++i)
    if (kernels[i].kernel.empty())
      throw ModelError(fmt::format("{}: cannot be computed at run time", g.nodes[i].label()));

  // The schedule, then the arena. The int8 entry point reads its inputs from the caller's
  // buffers, so no node may write over the outputs of the inputs' QuantizeLinear.
  Generated out;
  std::set<std::string> keep;
  for (const Node& n : g.nodes)
    if (n.op == "QuantizeLinear" && std::count(g.inputs.begin(), g.inputs.end(), n.inputs[0])) keep.insert(n.outputs[0]);
  auto memory = [&] {
    std::vector<NodeMemory> m;
    for (const Lowered& l : kernels) m.push_back({l.scratch_bytes, l.in_place, l.in_place_scratch, l.in_place_lead});
    return m;
  };
  const std::vector<size_t> order = schedule(g, opts.alignment, memory(), keep);
  {
    std::vector<Node> nodes;
    std::vector<Lowered> lowered;
    for (size_t i : order) nodes.push_back(g.nodes[i]), lowered.push_back(kernels[i]);
    g.nodes = std::move(nodes);
    kernels = std::move(lowered);
  }
  out.plan = plan_arena(g, opts.alignment, memory(), keep);

  // Where each tensor lives, as a C++ expression.
  std::map<std::string, std::string> where;
  std::vector<std::string> weights;  // constants in order of first use
  auto use_const = [&](const std::string& t) {
    if (where.count(t)) return;
    where[t] = fmt::format("w{}", weights.size());
    weights.push_back(t);
  };
  for (size_t i = 0; i < g.inputs.size(); ++i) where[g.inputs[i]] = fmt::format("inputs[{}]", i);
  std::set<std::string> produced;
  for (const Node& n : g.nodes)
    for (const auto& o : n.outputs) produced.insert(o);
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const std::string& o = g.outputs[k];
    if (produced.count(o) && !where.count(o)) {
      where[o] = fmt::format("outputs[{}]", k);
      continue;
    }
    if (g.is_const(o)) use_const(o);
  }
  for (const Node& n : g.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty() && g.is_const(in)) use_const(in);
  for (const auto& [t, off] : out.plan.offset) where[t] = fmt::format("arena + {}", off);
  for (const auto& [view, source] : out.plan.alias) {
    if (g.is_const(source)) use_const(source);
    where[view] = where.at(source);
  }
  // Outputs that no node writes in place: graph inputs, constants, repeated outputs.
  std::vector<std::string> output_copies;
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const std::string& o = g.outputs[k];
    if (where[o] == fmt::format("outputs[{}]", k)) continue;
    if (g.tensor(o).bytes() == 0) continue;
    output_copies.push_back(
        fmt::format("  memcpy(outputs[{}], {}, {});\n", k, where.at(o), g.tensor(o).bytes()));
  }

  // An int8 entry point when every input goes straight into a QuantizeLinear and every output
  // comes straight out of a DequantizeLinear (as the quantizer builds it): it skips them.
  struct Boundary {
    size_t node;
    std::string int8_tensor;
    float scale;
    int32_t zero_point;
  };
  std::vector<Boundary> qin, qout;
  auto scalar_qparams = [&](const Node& n, Boundary* b) {
    if (n.inputs.size() < 3 || !g.is_const(n.inputs[1]) || !g.is_const(n.inputs[2])) return false;
    const Tensor &sc = g.tensor(n.inputs[1]), &zp = g.tensor(n.inputs[2]);
    if (num_elements(sc.shape) != 1 || num_elements(zp.shape) != 1 || zp.dtype != DType::Int8) return false;
    b->scale = sc.as<float>()[0];
    b->zero_point = zp.as<int8_t>()[0];
    return true;
  };
  bool int8_api = !g.inputs.empty() && !g.outputs.empty();
  for (const auto& in : g.inputs) {
    std::vector<size_t> users;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (const auto& x : g.nodes[i].inputs)
        if (x == in) users.push_back(i);
    Boundary b{};
    if (users.size() != 1 || g.nodes[users[0]].op != "QuantizeLinear" || !scalar_qparams(g.nodes[users[0]], &b)) {
      int8_api = false;
      break;
    }
    b.node = users[0];
    b.int8_tensor = g.nodes[users[0]].outputs[0];
    qin.push_back(b);
  }
  for (size_t k = 0; int8_api && k < g.outputs.size(); ++k) {
    Boundary b{};
    bool found = false;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].outputs[0] == g.outputs[k] && g.nodes[i].op == "DequantizeLinear" &&
          scalar_qparams(g.nodes[i], &b) && g.tensor(g.nodes[i].inputs[0]).dtype == DType::Int8) {
        b.node = i;
        b.int8_tensor = g.nodes[i].inputs[0];
        found = true;
      }
    int8_api = int8_api && found;
    qout.push_back(b);
  }

  // ---- NAME.h ----
  std::string h = fmt::format(
      "/* Generated by tinyc from {0}. Do not edit. */\n"
      "#ifndef {1}\n#define {1}\n\n#include <stdint.h>\n#ifndef __cplusplus\n#include <stdbool.h>\n#endif\n\n"
      "#define {2}_NUM_INPUTS {3}\n#define {2}_NUM_OUTPUTS {4}\n",
      comment_safe(opts.source), include_guard(name + ".h"), NAME, g.inputs.size(), g.outputs.size());
  auto io_macros = [&](const char* kind, size_t i, const Tensor& t) {
    h += fmt::format("#define {}_{}{}_SIZE {} /* {} */\n#define {}_{}{}_TYPE {}\n", NAME, kind, i,
                     num_elements(t.shape), shape_str(t.shape), NAME, kind, i, dtype_c_type(t.dtype));
  };
  for (size_t i = 0; i < g.inputs.size(); ++i) io_macros("INPUT", i, g.tensor(g.inputs[i]));
  for (size_t i = 0; i < g.outputs.size(); ++i) io_macros("OUTPUT", i, g.tensor(g.outputs[i]));
  h += fmt::format("#define {}_ARENA_SIZE {} /* bytes of scratch RAM */\n", NAME, out.plan.size);
  if (int8_api) {
    auto qmacros = [&](const char* kind, size_t i, const Boundary& b) {
      h += fmt::format("#define {0}_{1}{2}_SCALE {3}\n#define {0}_{1}{2}_ZERO_POINT {4}\n", NAME, kind, i,
                       params_value(b.scale), b.zero_point);
    };
    h += "/* int8 interface: real = scale * (q - zero_point) */\n";
    for (size_t i = 0; i < qin.size(); ++i) qmacros("INPUT", i, qin[i]);
    for (size_t i = 0; i < qout.size(); ++i) qmacros("OUTPUT", i, qout[i]);
  }
  h += "\n";
  h += fmt::format(
      "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n"
      "/* Runs the model once. inputs[i] / outputs[i] point to {0}_INPUTi_SIZE / {0}_OUTPUTi_SIZE\n"
      "   elements of {0}_INPUTi_TYPE / {0}_OUTPUTi_TYPE, row-major, in the model's order.\n"
      "   Returns 0 on success. Not reentrant: it uses one static arena. */\n"
      "int {1}_run(const void *const *inputs, void *const *outputs);\n\n"
      "{2}"
      "#ifdef TINYC_PROFILE\n"
      "/* With TINYC_PROFILE defined when building {1}.cpp, {1}_run calls this function (which you\n"
      "   write) before (end = 0) and after (end = 1) each layer, e.g. to read a cycle counter. */\n"
      "void {1}_profile(int layer, const char *name, int end);\n#endif\n\n"
      "#ifdef TINYC_TRACE\n"
      "/* With TINYC_TRACE defined when building {1}.cpp, {1}_run calls this function (which you\n"
      "   write) after each layer with each of its outputs: `bytes` bytes at `data`, which the\n"
      "   --report's layer `layer` lists as output_tensors[output]. For debugging and tests. */\n"
      "void {1}_trace(int layer, int output, const void *data, unsigned long bytes);\n#endif\n\n"
      "#ifdef __cplusplus\n}}\n#endif\n\n#endif\n",
      NAME, name,
      int8_api ? fmt::format("/* The same on int8 data, as {0}_INPUTi_SCALE / _ZERO_POINT say: no float conversion\n"
                             "   at the model's boundary. */\n"
                             "int {1}_run_int8(const int8_t *const *inputs, int8_t *const *outputs);\n\n",
                             NAME, name)
               : "");
  out.files.push_back({name + ".h", h});

  // ---- NAME_weights.h / NAME_weights.cpp ----
  std::string wh = fmt::format(
      "/* Generated by tinyc. Constants of model {0}, defined in {1}_weights.cpp. */\n"
      "#ifndef {2}\n#define {2}\n\n#include <stdint.h>\n\nnamespace {3} {{\n",
      name, name, include_guard(name + "_weights.h"), ns);
  std::string wc = fmt::format(
      "/* Generated by tinyc. Do not edit. */\n#include <math.h>\n\n#include \"{}_weights.h\"\n\nnamespace {} {{\n",
      name, ns);
  for (size_t i = 0; i < weights.size(); ++i) {
    const Tensor& t = g.tensor(weights[i]);
    const int64_t n = std::max<int64_t>(1, num_elements(t.shape));
    const std::string decl = fmt::format("const {} w{}[{}]", dtype_c_type(t.dtype), i, n);
    wh += fmt::format("extern {}; /* '{}' {} {} */\n", decl, comment_safe(t.name), dtype_name(t.dtype),
                      shape_str(t.shape));
    wc += fmt::format("alignas(16) {} = {{{}\n}};\n", decl, num_elements(t.shape) ? values_of(t) : " 0");
    out.weight_bytes += t.bytes();
  }
  wh += fmt::format("}}  // namespace {}\n\n#endif\n", ns);
  wc += fmt::format("}}  // namespace {}\n", ns);
  out.files.push_back({name + "_weights.h", wh});
  out.files.push_back({name + "_weights.cpp", wc});

  // ---- NAME.cpp ----
  std::string cpp = fmt::format(
      "/* Generated by tinyc from {}. Do not edit. */\n#include \"{}.h\"\n\n#include <string.h>\n\n"
      "#include \"{}_weights.h\"\n#include \"tinyc/kernels.h\"\n\n{}namespace {} {{\n\n",
      comment_safe(opts.source), name, name, build_guards(g, opts), ns);
  cpp += fmt::format(
      "#ifdef TINYC_PROFILE\n#define TINYC_LAYER_BEGIN(i, name) {0}_profile(i, name, 0)\n"
      "#define TINYC_LAYER_END(i, name) {0}_profile(i, name, 1)\n#else\n#define TINYC_LAYER_BEGIN(i, name)\n"
      "#define TINYC_LAYER_END(i, name)\n#endif\n"
      "#ifdef TINYC_TRACE\n#define TINYC_LAYER_OUTPUT(i, k, data, bytes) {0}_trace(i, k, data, bytes)\n#else\n"
      "#define TINYC_LAYER_OUTPUT(i, k, data, bytes)\n#endif\n\n",
      name);
  if (out.plan.size > 0)
    cpp += fmt::format("alignas({}) static uint8_t arena[{}_ARENA_SIZE];\n\n", opts.alignment, NAME);
  for (size_t i = 0; i < kernels.size(); ++i)
    if (!out.plan.alias.count(g.nodes[i].outputs[0]))
      cpp += fmt::format("static const {} p{} = {};\n", kernels[i].params_type, i, kernels[i].params_init);
  // The schedule. With int8, the boundary QuantizeLinear / DequantizeLinear nodes are skipped.
  auto body = [&](bool int8) {
    std::map<std::string, std::string> over;
    std::set<size_t> skip;
    if (int8) {
      for (size_t i = 0; i < qin.size(); ++i) over[qin[i].int8_tensor] = fmt::format("qin[{}]", i), skip.insert(qin[i].node);
      for (const auto& b : qout) skip.insert(b.node);
    }
    auto source = [&](const std::string& t) {  // the tensor a view shows, or t
      auto a = out.plan.alias.find(t);
      return a == out.plan.alias.end() ? t : a->second;
    };
    auto at = [&](const std::string& t) {
      const std::string& r = source(t);
      return over.count(r) ? over.at(r) : where.at(t);
    };
    std::string b;
    for (size_t i = 0; i < kernels.size(); ++i) {
      const Node& n = g.nodes[i];
      if (skip.count(i)) continue;
      auto trace = [&](size_t k) {
        const std::string& t = n.outputs[k];
        return t.empty() ? std::string() : fmt::format("  TINYC_LAYER_OUTPUT({}, {}, {}, {});\n", i, k, at(t), g.tensor(t).bytes());
      };
      if (out.plan.alias.count(n.outputs[0])) {
        b += fmt::format("  // {}: '{}' ({}) is a view: no code\n", i, comment_safe(n.name), n.op) + trace(0);
        continue;
      }
      std::vector<std::string> ins, outs;
      for (const auto& x : n.inputs) ins.push_back(x.empty() ? "nullptr" : at(x));
      for (const auto& x : n.outputs) outs.push_back(x.empty() ? "nullptr" : at(x));
      std::vector<std::string> in_types;  // of the inputs that are weight arrays
      for (const auto& x : n.inputs)
        in_types.push_back(!x.empty() && g.is_const(source(x)) ? dtype_c_type(g.tensor(source(x)).dtype) : "");
      const std::string call =
          typed_call(kernels[i], fmt::format("p{}", i), ins, in_types, outs,
                     out.plan.scratch.count(i) ? fmt::format("arena + {}", out.plan.scratch.at(i)) : "",
                     fmt::format("{}, \"{}\"", i, comment_safe(n.name)));
      b += fmt::format("  {{  // {}: '{}' ({})\n{}  }}\n", i, comment_safe(n.name), n.op, call);
      for (size_t k = 0; k < n.outputs.size(); ++k) b += trace(k);
    }
    if (int8) {
      for (size_t k = 0; k < qout.size(); ++k)
        b += fmt::format("  memcpy(qout[{}], {}, {});\n", k, at(qout[k].int8_tensor), g.tensor(qout[k].int8_tensor).bytes());
    } else {
      for (const auto& c : output_copies) b += c;
    }
    return b + "  return 0;\n}\n";
  };
  cpp += fmt::format("\n}}  // namespace {}\n\nextern \"C\" int {}_run(const void *const *inputs, void *const *outputs) {{\n"
                     "  using namespace {};\n  (void)inputs;\n  (void)outputs;\n",
                     ns, name, ns);
  cpp += body(false);
  if (int8_api) {
    cpp += fmt::format("\nextern \"C\" int {}_run_int8(const int8_t *const *qin, int8_t *const *qout) {{\n"
                       "  using namespace {};\n",
                       name, ns);
    cpp += body(true);
  }
  cpp += "\n#undef TINYC_LAYER_BEGIN\n#undef TINYC_LAYER_END\n#undef TINYC_LAYER_OUTPUT\n";
  out.files.push_back({name + ".cpp", cpp});

  for (const auto& [path, content] : runtime_files()) out.files.push_back({path, content});
  return out;
}

}  // namespace tinyc

#include <filesystem>
#include <fstream>
#include <random>

namespace tinyc {

const char* const kManifestName = "tinyc-manifest.txt";

namespace {

namespace fs = std::filesystem;

// A path tinyc may have written and may remove: relative, of names made of letters, digits and
// `_ . + -` that start with a letter, digit or '_' (so no '..', '.', empty or hidden component).
bool plain_relative_path(const std::string& p) {
  if (p.empty() || p.size() > 512) return false;
  size_t begin = 0;
  for (;;) {
    const size_t end = std::min(p.find('/', begin), p.size());
    if (end == begin) return false;  // leading '/', '//' or a trailing '/'
    for (size_t i = begin; i < end; ++i) {
      const unsigned char c = static_cast<unsigned char>(p[i]);
      const bool word = c < 128 && (std::isalnum(c) || c == '_');
      if (!(word || (i > begin && (c == '.' || c == '-' || c == '+')))) return false;
    }
    if (end == p.size()) return true;
    begin = end + 1;
  }
}

// The files the manifest in `dir` lists, those that are plain relative paths; none where it is
// missing, a symlink or anything but a regular file, or over 1 MiB.
std::vector<std::string> read_manifest(const fs::path& dir) {
  std::error_code ec;
  const fs::path m = dir / kManifestName;
  const fs::file_status st = fs::symlink_status(m, ec);
  if (ec || !fs::is_regular_file(st) || fs::file_size(m, ec) > (1u << 20) || ec) return {};
  std::ifstream in(m, std::ios::binary);
  std::vector<std::string> r;
  std::string line;
  while (std::getline(in, line))
    if (plain_relative_path(line)) r.push_back(line);
  return r;
}

// Whether `rel` (a plain relative path) is a regular file in `dir` reached through folders that
// are not symlinks: removing it touches nothing outside `dir`.
bool regular_file_inside(const fs::path& dir, const std::string& rel) {
  fs::path p = dir;
  const fs::path parts(rel);
  std::error_code ec;
  for (auto it = parts.begin(); it != parts.end(); ++it) {
    p /= *it;
    const fs::file_status st = fs::symlink_status(p, ec);  // a symlink is neither a folder nor a file here
    if (ec) return false;
    if (std::next(it) == parts.end() ? !fs::is_regular_file(st) : !fs::is_directory(st)) return false;
  }
  return true;
}

std::string manifest_of(const std::vector<GeneratedFile>& files) {
  std::vector<std::string> paths;
  for (const auto& f : files) paths.push_back(f.path);
  std::sort(paths.begin(), paths.end());
  return fmt::format(
      "# Files tinyc wrote into this folder. The next `tinyc compile` into it removes those of them\n"
      "# that it no longer writes; it removes nothing else.\n{}\n",
      fmt::join(paths, "\n"));
}

// Moves files in and out of the output folder, remembering each move so that all of them can be
// undone: a failure leaves the folder as it was.
class Transaction {
 public:
  ~Transaction() {
    if (!committed_) undo();
  }
  void move(const fs::path& from, const fs::path& to) {
    make_parents(to.parent_path());
    fs::rename(from, to);
    moves_.emplace_back(from, to);
  }
  void commit() { committed_ = true; }

 private:
  // Creates `dir` and the folders above it, remembering those it made.
  void make_parents(const fs::path& dir) {
    std::vector<fs::path> missing;
    for (fs::path d = dir; !d.empty() && !fs::exists(fs::symlink_status(d)); d = d.parent_path()) missing.push_back(d);
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      fs::create_directory(*it);
      made_.push_back(*it);
    }
  }
  void undo() {
    std::error_code ec;
    for (auto it = moves_.rbegin(); it != moves_.rend(); ++it) fs::rename(it->second, it->first, ec);
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) fs::remove(*it, ec);  // only when empty
  }
  std::vector<std::pair<fs::path, fs::path>> moves_;
  std::vector<fs::path> made_;
  bool committed_ = false;
};

}  // namespace

void write_files(const std::vector<GeneratedFile>& generated, const std::string& dir) {
  const fs::path target = fs::absolute(dir).lexically_normal();
  const fs::path parent = target.has_filename() ? target.parent_path() : target.parent_path().parent_path();
  std::vector<GeneratedFile> files = generated;
  files.push_back({kManifestName, manifest_of(generated)});
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw IoError(fmt::format("cannot create '{}': {}", parent.string(), ec.message()));
  fs::path tmp;
  for (int attempt = 0;; ++attempt) {
    tmp = parent / fmt::format(".{}.tinyc-tmp-{}", target.filename().string(), std::random_device{}());
    if (fs::create_directory(tmp, ec)) break;
    if (attempt > 8) throw IoError(fmt::format("cannot create a temporary folder in '{}'", parent.string()));
  }
  // tmp/new: the files to write; tmp/old: what they replace and the files of an earlier compile
  // that this one no longer writes, until the end (removed) or a failure (put back).
  const fs::path fresh = tmp / "new", old = tmp / "old";
  try {
    for (const auto& f : files) {
      const fs::path p = fresh / f.path;
      fs::create_directories(p.parent_path());
      std::ofstream o(p, std::ios::binary);
      o << f.content;
      if (!o.flush()) throw IoError(fmt::format("cannot write '{}'", (target / f.path).string()));
    }
    if (!fs::exists(target)) {
      fs::rename(fresh, target);
      fs::remove_all(tmp);
      return;
    }
    if (!fs::is_directory(target)) throw IoError(fmt::format("'{}' is not a folder", target.string()));
    std::set<std::string> writing;
    for (const auto& f : files) writing.insert(f.path);
    const std::vector<std::string> listed = read_manifest(target);
    Transaction t;
    for (const std::string& stale : std::set<std::string>(listed.begin(), listed.end()))
      if (!writing.count(stale) && regular_file_inside(target, stale)) t.move(target / stale, old / stale);
    for (const auto& f : files) {  // replace our files one by one; others in the folder stay
      const fs::file_status st = fs::symlink_status(target / f.path, ec);
      if (!ec && fs::exists(st) && !fs::is_directory(st)) t.move(target / f.path, old / f.path);
      t.move(fresh / f.path, target / f.path);
    }
    t.commit();
    fs::remove_all(tmp);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    // Name the file in the output folder that failed, not the temporary one.
    fs::path at = target;
    for (const fs::path& p : {e.path1(), e.path2()})
      if (p.string().rfind(target.string() + "/", 0) == 0) at = p;
    throw IoError(fmt::format("cannot write '{}': {}", at.string(), e.code().message()));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace tinyc
