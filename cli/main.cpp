// tinyc command line: parses options and calls the pipeline stages.
// Exit codes: 0 success, 1 bad command line, 2 model invalid or unsupported, 3 budget exceeded,
// 4 file I/O error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <unistd.h>

#include "codegen/codegen.h"
#include "codegen/emit_onnx.h"
#include "codegen/report.h"
#include "codegen/report_html.h"
#include "codegen/targets.h"
#include "importer/importer.h"
#include "importer/npy.h"
#include "ops/evaluate.h"
#include "optimizer/optimizer.h"
#include "quantizer/quantize.h"

#ifndef TINYC_VERSION
#define TINYC_VERSION "0.0.0"
#endif

namespace tinyc {
namespace {

enum Exit { kOk = 0, kUsage = 1, kModel = 2, kBudget = 3, kIo = 4 };

struct BudgetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "64K", "1M", "1000" -> bytes.
size_t parse_size(const std::string& s) {
  size_t pos = 0;
  unsigned long long v = 0;
  try {
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) throw std::invalid_argument(s);
    v = std::stoull(s, &pos);
  } catch (const std::exception&) {
    throw CLI::ValidationError("size", "'" + s + "' is not a size like 64K, 1M or 1000");
  }
  std::string unit = s.substr(pos);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (unit.empty() || unit == "B") return v;
  if (unit == "K" || unit == "KB" || unit == "KIB") return v * 1024;
  if (unit == "M" || unit == "MB" || unit == "MIB") return v * 1024 * 1024;
  throw CLI::ValidationError("size", "'" + s + "' is not a size like 64K, 1M or 1000");
}

// "NAME=1x3x32x32"
std::pair<std::string, Shape> parse_input_shape(const std::string& s) {
  const size_t eq = s.rfind('=');
  if (eq == std::string::npos || eq == 0) throw CLI::ValidationError("--input-shape", "expected NAME=1x3x32x32");
  Shape shape;
  std::stringstream ss(s.substr(eq + 1));
  std::string d;
  while (std::getline(ss, d, 'x')) {
    if (d.empty() || d.find_first_not_of("0123456789") != std::string::npos)
      throw CLI::ValidationError("--input-shape", "'" + s + "' has a bad dimension");
    shape.push_back(std::stoll(d));
  }
  return {s.substr(0, eq), shape};
}

// A C and C++ identifier that is not a keyword of either (the name prefixes symbols and files).
bool is_identifier(const std::string& s) {
  static const std::set<std::string> keywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
      "char", "char16_t", "char32_t", "char8_t", "class", "compl", "concept", "const", "consteval", "constexpr",
      "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
      "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
      "requires", "restrict", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast",
      "struct", "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid",
      "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor",
      "xor_eq", "_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
      "_Static_assert", "_Thread_local"};
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || keywords.count(s)) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_') || c >= 128) return false;
  return true;
}

struct CompileArgs {
  std::string model, target = "host", out_dir, name, quantize, calibration, profile, emit_onnx;
  std::vector<std::string> reports;
  std::string max_ram, max_flash;
  std::vector<std::string> input_shapes, disabled_passes;
  std::string dump_after;
  bool per_tensor = false, quiet = false;
  std::string calibration_method = "minmax";
  std::string requantization;  // tflite or onnx; empty: onnx for pre-quantized models, else tflite
};

// --requantization, where given; else `fallback`.
Requantization requantization_of(const std::string& name, Requantization fallback) {
  return name.empty() ? fallback : name == "onnx" ? Requantization::Onnx : Requantization::TFLite;
}
const char* requantization_name(Requantization r) { return r == Requantization::Onnx ? "onnx" : "tflite"; }

// The report's quantization section of a pre-quantized model: its layers left in float.
nlohmann::json pre_quantized_section(const QuantizeSummary& s, Requantization r) {
  nlohmann::json q;
  q["pre_quantized"] = true;
  q["requantization"] = requantization_name(r);
  q["float_layers"] = s.float_layers;
  q["float_layer_reasons"] = nlohmann::json::object();
  for (size_t i = 0; i < s.float_layers.size(); ++i) q["float_layer_reasons"][s.float_layers[i]] = s.float_reasons[i];
  return q;
}

// Imports, optimizes and (a pre-quantized model) lowers its QDQ patterns to int8 kernels, whose
// summary goes to `qdq` when given.
Graph load(const std::string& model, const std::vector<std::string>& shapes,
           const std::vector<std::string>& disabled = {}, const std::string& dump_after = "",
           QuantizeSummary* qdq_summary = nullptr, Requantization requantization = Requantization::Onnx) {
  ImportOptions io;
  for (const auto& s : shapes) io.input_shapes.insert(parse_input_shape(s));
  Graph g = import_model(model, io);
  check_supported(g);
  OptimizeOptions oo;
  oo.disabled.insert(disabled.begin(), disabled.end());
  oo.dump_after = dump_after;
  oo.dump = &std::cout;
  optimize(g, oo);
  const QuantizeSummary qdq = lower_qdq(g, requantization);  // a pre-quantized model runs on int8 kernels
  if (!qdq.int8_layers.empty()) spdlog::info("pre-quantized model: {} layers on int8 kernels", qdq.int8_layers.size());
  for (size_t i = 0; i < qdq.float_layers.size(); ++i)
    spdlog::info("layer kept in float: {} ({})", qdq.float_layers[i], qdq.float_reasons[i]);
  if (qdq_summary) *qdq_summary = qdq;
  return g;
}

// Calibrates on the samples in `data`, rewrites the graph to int8 and returns what the report
// says of it (scales, layers left in float, agreement with float on the calibration samples).
// tensor_sqnr: when given, the SQNR of every int8 graph tensor that stands for a float one.
nlohmann::json quantize(Graph& g, const std::string& data, bool per_tensor, const std::string& method, bool quiet,
                        std::map<std::string, double>* tensor_sqnr = nullptr,
                        Requantization requantization = Requantization::TFLite) {
  const auto samples = read_samples(data, g);
  const bool bar = !quiet && isatty(fileno(stderr));
  auto progress = [&](size_t done, size_t total) {
    if (bar) fmt::print(stderr, "\rtinyc: calibrating {}/{}{}", done, total, done == total ? "\n" : "");
  };
  const CalibrationMethod m = method == "percentile" ? CalibrationMethod::Percentile : CalibrationMethod::MinMax;
  const Ranges ranges = calibrate(g, samples, m, progress);
  Graph float_graph = g;
  QuantizeOptions qo;
  qo.per_tensor = per_tensor;
  qo.requantization = requantization;
  const QuantizeSummary s = quantize_int8(g, ranges, qo);
  spdlog::info("int8: {} layers quantized, {} in float", s.int8_layers.size(), s.float_layers.size());
  for (size_t i = 0; i < s.float_layers.size(); ++i)
    spdlog::info("layer kept in float: {} ({})", s.float_layers[i], s.float_reasons[i]);
  const Agreement a = compare_outputs(float_graph, g, samples, tensor_sqnr ? &s : nullptr);
  if (tensor_sqnr) *tensor_sqnr = a.tensor_sqnr_db;
  nlohmann::json q;
  q["calibration_method"] = method;
  q["calibration_samples"] = samples.size();
  q["weights"] = per_tensor ? "int8 symmetric per tensor" : "int8 symmetric per output channel";
  q["requantization"] = requantization_name(requantization);
  q["int8_layers"] = s.int8_layers;
  q["float_layers"] = s.float_layers;
  q["float_layer_reasons"] = nlohmann::json::object();
  for (size_t i = 0; i < s.float_layers.size(); ++i) q["float_layer_reasons"][s.float_layers[i]] = s.float_reasons[i];
  for (const auto& t : s.activations)
    q["activations"].push_back({{"tensor", t.tensor}, {"scale", t.scale}, {"zero_point", t.zero_point}});
  if (a.top1 >= 0) q["calibration_top1_agreement"] = a.top1;
  q["calibration_sqnr_db"] = nlohmann::json::array();
  for (double v : a.sqnr_db) q["calibration_sqnr_db"].push_back(json_number(v));
  return q;
}

// ONNX names are bytes: one that is not UTF-8 is written with U+FFFD in its place rather than
// make the JSON writer throw.
std::string dump_json(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The report's format, by the file's extension: .html / .htm, else JSON.
bool is_html(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".html" || ext == ".htm";
}

// A measured per-layer profile (--profile), checked against the compiled layers.
std::map<size_t, uint64_t> read_profile(const std::string& path, const Graph& g) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(fmt::format("cannot read '{}'", path));
  std::stringstream ss;
  ss << f.rdbuf();
  std::map<size_t, ProfileLayer> p;
  try {
    p = parse_profile_csv(ss.str());
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError("--profile", fmt::format("'{}': {}", path, e.what()));
  }
  std::map<size_t, uint64_t> r;
  for (const auto& [layer, v] : p) {
    if (layer >= g.nodes.size())
      throw CLI::ValidationError("--profile", fmt::format("'{}' has layer {}, the model has {} layers: is it a profile "
                                                          "of this model compiled with these options?",
                                                          path, layer, g.nodes.size()));
    if (!v.name.empty() && v.name != comment_safe(g.nodes[layer].name))
      throw CLI::ValidationError("--profile", fmt::format("'{}': layer {} is '{}' there and '{}' here: is it a "
                                                          "profile of this model compiled with these options?",
                                                          path, layer, v.name, comment_safe(g.nodes[layer].name)));
    r[layer] = v.instructions;
  }
  return r;
}

// One line per problem: a message may hold several.
void print_error(const std::string& what) {
  std::stringstream ss(what);
  std::string line;
  while (std::getline(ss, line)) spdlog::error("{}", line);
}

int cmd_compile(const CompileArgs& a) {
  const Target* target = find_target(a.target);
  if (!target) throw CLI::ValidationError("--target", "unknown target '" + a.target + "' (see `tinyc targets`)");
  std::string name = a.name;
  if (name.empty()) name = c_identifier(std::filesystem::path(a.model).stem().string());
  else if (!is_identifier(name)) throw CLI::ValidationError("--name", "'" + a.name + "' is not a C identifier (or is a keyword)");
  for (const auto& p : a.disabled_passes) {
    bool known = false;
    for (const Pass& q : passes()) known = known || p == q.name;
    if (!known) throw CLI::ValidationError("--disable-pass", "unknown pass '" + p + "'");
  }
  const size_t max_ram = a.max_ram.empty() ? 0 : parse_size(a.max_ram);
  const size_t max_flash = a.max_flash.empty() ? 0 : parse_size(a.max_flash);
  if (!a.quantize.empty() && a.calibration.empty())
    throw CLI::ValidationError("--calibration", "--quantize int8 needs --calibration DATA");
  QuantizeSummary qdq;
  const Requantization pre_quantized = requantization_of(a.requantization, Requantization::Onnx);
  Graph g = load(a.model, a.input_shapes, a.disabled_passes, a.dump_after, &qdq, pre_quantized);
  nlohmann::json quantization;
  if (qdq.pre_quantized) quantization = pre_quantized_section(qdq, pre_quantized);
  ReportInputs extra;
  extra.max_ram = max_ram, extra.max_flash = max_flash;
  if (!a.quantize.empty())
    quantization = quantize(g, a.calibration, a.per_tensor, a.calibration_method, a.quiet,
                            a.reports.empty() ? nullptr : &extra.tensor_sqnr_db,
                            requantization_of(a.requantization, Requantization::TFLite));
  CodegenOptions co;
  co.name = name;
  co.source = std::filesystem::path(a.model).filename().string();
  co.alignment = target->alignment;
  co.target = target->name;
  co.isa = target->isa();
  Generated gen = generate(g, co);
  if (!a.profile.empty()) {
    extra.instructions = read_profile(a.profile, g);
    extra.profile_source = std::filesystem::path(a.profile).filename().string();
  }
  nlohmann::json report = make_report(g, gen, *target, extra);
  report["model"] = name;
  report["source"] = co.source;
  if (!quantization.is_null()) report["quantization"] = quantization;
  const size_t ram = report["totals"]["ram_bytes"], flash = report["totals"]["flash_bytes"];
  if (max_ram && ram > max_ram)
    throw BudgetError(fmt::format("the model needs {} B of RAM, {} B over the budget of {} B", ram,
                                  ram - max_ram, max_ram));
  if (max_flash && flash > max_flash)
    throw BudgetError(fmt::format("the model needs {} B of flash, {} B over the budget of {} B", flash,
                                  flash - max_flash, max_flash));
  const std::string onnx_bytes = a.emit_onnx.empty() ? "" : emit_onnx(g);  // fails before anything is written
  write_files(gen.files, a.out_dir);
  if (!a.emit_onnx.empty()) {
    std::ofstream f(a.emit_onnx, std::ios::binary);
    f << onnx_bytes;
    if (!f) throw IoError(fmt::format("cannot write '{}'", a.emit_onnx));
  }
  for (const auto& path : a.reports) {
    std::ofstream f(path, std::ios::binary);
    if (is_html(path)) f << report_html(report);
    else f << dump_json(report) << "\n";
    if (!f) throw IoError(fmt::format("cannot write '{}'", path));
  }
  spdlog::info("{}: {} layers, {} B weights, {} B arena -> {}", name, g.nodes.size(), gen.weight_bytes,
               gen.plan.size, a.out_dir);
  return kOk;
}

int cmd_inspect(const std::string& model, const std::vector<std::string>& shapes, bool json) {
  ImportOptions io;
  for (const auto& s : shapes) io.input_shapes.insert(parse_input_shape(s));
  Graph g = import_model(model, io);
  // Unsupported operators are all listed, before anything else can fail.
  std::set<std::string> missing;
  for (const Node& n : g.nodes)
    if (!find_op(n))
      missing.insert((n.domain.empty() ? "" : n.domain + ".") + n.op);
  nlohmann::json r;
  if (missing.empty()) {
    optimize(g);
    lower_qdq(g);
    CodegenOptions co;
    co.name = "model";
    Generated gen = generate(g, co);
    r = make_report(g, gen, *find_target("host"));
  }
  r["unsupported_operators"] = missing;
  if (json) {
    std::cout << dump_json(r) << "\n";
  } else {
    std::cout << format_report_text(r);
  }
  return missing.empty() ? kOk : kModel;
}

// Evaluates the model; an input file holding N samples of a single-input model (a .npy whose
// first axis is the sample) gives outputs with N rows.
int cmd_run(const std::string& model, const std::vector<std::string>& shapes,
            const std::vector<std::string>& inputs, const std::string& out_dir, const std::string& quant,
            const std::string& calibration, bool reference_kernels) {
  Graph g = load(model, shapes);
  if (!quant.empty()) {
    if (calibration.empty()) throw CLI::ValidationError("--calibration", "--quantize int8 needs --calibration DATA");
    quantize(g, calibration, false, "minmax", true);
  }
  std::vector<std::vector<Tensor>> samples;
  if (inputs.size() == 1 && g.inputs.size() == 1) {
    samples = read_samples(inputs[0], g);
  } else {
    std::vector<Tensor> in;
    for (const auto& p : inputs) in.push_back(read_tensor_file(p));
    for (size_t i = 0; i < in.size() && i < g.inputs.size(); ++i) in[i].shape = g.tensor(g.inputs[i]).shape;
    samples.push_back(in);
  }
  std::vector<Tensor> out;
  for (const auto& s : samples) {
    std::vector<Tensor> r = evaluate(g, s, nullptr, reference_kernels ? Kernels::Reference : Kernels::Fast);
    if (out.empty()) {
      out = r;
      continue;
    }
    for (size_t i = 0; i < r.size(); ++i) {
      out[i].data.insert(out[i].data.end(), r[i].data.begin(), r[i].data.end());
      out[i].shape.at(0) += r[i].shape.at(0);
    }
  }
  std::filesystem::create_directories(out_dir);
  for (size_t i = 0; i < out.size(); ++i) write_npy(out[i], fmt::format("{}/output_{}.npy", out_dir, i));
  return kOk;
}

int main_impl(int argc, char** argv) {
  CLI::App app{"tinyc: ahead-of-time compiler from ONNX to C++ for microcontrollers"};
  app.set_version_flag("--version", std::string("tinyc ") + TINYC_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Print errors only");
  app.add_flag("-v,--verbose", verbose, "Print debugging detail");

  CompileArgs ca;
  auto* compile = app.add_subcommand("compile", "Compile an ONNX model to C++ sources");
  compile->add_option("model", ca.model, "ONNX model file")->required();
  compile->add_option("--target", ca.target, "Target processor (see `tinyc targets`)")->required();
  compile->add_option("-o,--output", ca.out_dir,
                      "Output folder (created; tinyc's files in it are replaced, and those its manifest lists that "
                      "it no longer writes removed)")
      ->required();
  compile->add_option("--name", ca.name, "Prefix of generated symbols and files (a C identifier)");
  compile->add_option("--quantize", ca.quantize, "Post-training quantization: int8")->check(CLI::IsMember({"int8"}));
  compile->add_option("--calibration", ca.calibration, "Representative inputs for --quantize (.npy or test-data folder)");
  compile->add_flag("--per-tensor", ca.per_tensor, "One int8 weight scale per tensor (default: per output channel)");
  compile->add_option("--calibration-method", ca.calibration_method,
                      "minmax (default) or percentile (0.01 % / 99.99 %: ignores rare outliers)")
      ->check(CLI::IsMember({"minmax", "percentile"}));
  compile->add_option("--requantization", ca.requantization,
                      "How int8 layers round their sums: tflite (fixed point, TFLite Micro's integers, no float "
                      "on the core; default with --quantize) or onnx (float scale, half to even, ONNX Runtime's "
                      "integers; default for pre-quantized models)")
      ->check(CLI::IsMember({"tflite", "onnx"}));
  compile->add_option("--emit-onnx", ca.emit_onnx,
                      "Also write the graph as tinyc runs it as an ONNX model (int8 layers in QDQ form)");
  compile->add_option("--report", ca.reports,
                      "Write the report to FILE: HTML (charts, one self-contained page) if it ends in .html, "
                      "else JSON; may be given twice");
  compile->add_option("--profile", ca.profile,
                      "Per-layer instructions measured on the target for the report: CSV 'layer,instructions[,name]' "
                      "(tests/mcu/run_on_qemu.py --profile)");
  compile->add_option("--max-ram", ca.max_ram, "RAM budget (e.g. 64K); exceeding it exits 3");
  compile->add_option("--max-flash", ca.max_flash, "Flash budget (e.g. 1M); exceeding it exits 3");
  compile->add_option("--input-shape", ca.input_shapes, "Fix an input's shape: NAME=1x3x32x32");
  compile->add_option("--disable-pass", ca.disabled_passes, "Skip an optimizer pass (see --dump-ir-after)");
  compile->add_option("--dump-ir-after", ca.dump_after,
                      "Print the IR after a pass: fold_constants, remove_identities, fold_batch_norm, "
                      "fuse_activations, eliminate_dead_nodes");

  std::string model;
  std::vector<std::string> shapes, inputs;
  bool json = false;
  auto* inspect = app.add_subcommand("inspect", "Show operators, shapes, parameters, MACs and memory");
  inspect->add_option("model", model, "ONNX model file")->required();
  inspect->add_flag("--json", json, "Machine-readable output");
  inspect->add_option("--input-shape", shapes, "Fix an input's shape: NAME=1x3x32x32");

  std::string out_dir, run_quantize, run_calibration;
  auto* run = app.add_subcommand("run", "Evaluate the model on the host with tinyc's reference evaluator");
  run->add_option("--quantize", run_quantize, "Evaluate the int8 model: int8")->check(CLI::IsMember({"int8"}));
  run->add_option("--calibration", run_calibration, "Representative inputs for --quantize");
  run->add_option("model", model, "ONNX model file")->required();
  run->add_option("--input", inputs, "Input file (.npy or TensorProto .pb), in input order")->required();
  run->add_option("--output-dir", out_dir, "Folder for output_I.npy")->required();
  run->add_option("--input-shape", shapes, "Fix an input's shape: NAME=1x3x32x32");
  bool reference_kernels = false;
  run->add_flag("--reference-kernels", reference_kernels,
                "Run each int8 kernel's slow reference instead (runtime/tinyc/int8/reference.h): the same integers");

  auto* list = app.add_subcommand("targets", "List the supported targets");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }
  ca.quiet = quiet;
  spdlog::set_default_logger(spdlog::stderr_color_st("tinyc"));
  spdlog::set_pattern("tinyc: %^%l%$: %v");
  spdlog::set_level(quiet ? spdlog::level::err : verbose ? spdlog::level::debug : spdlog::level::warn);

  try {
    if (*compile) return cmd_compile(ca);
    if (*inspect) return cmd_inspect(model, shapes, json);
    if (*run) return cmd_run(model, shapes, inputs, out_dir, run_quantize, run_calibration, reference_kernels);
    if (*list) {
      for (const auto& t : targets())
        fmt::print("{:<14} {:<42} kernels: {:<11} flags: {}\n", t.name, t.description, t.kernels,
                   t.gcc_flags.empty() ? "-" : t.gcc_flags);
      return kOk;
    }
  } catch (const CLI::ValidationError& e) {
    spdlog::error("{}", e.what());
    return kUsage;
  } catch (const BudgetError& e) {
    spdlog::error("{}", e.what());
    return kBudget;
  } catch (const ModelError& e) {
    print_error(e.what());
    return kModel;
  } catch (const IoError& e) {
    spdlog::error("{}", e.what());
    return kIo;
  } catch (const std::filesystem::filesystem_error& e) {
    spdlog::error("{}", e.what());
    return kIo;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return kModel;
  }
  return kUsage;
}

}  // namespace
}  // namespace tinyc

int main(int argc, char** argv) { return tinyc::main_impl(argc, argv); }
