// libFuzzer target over the whole compile path. The input is an ONNX model file: tinyc imports it
// (protobuf, ONNX checker, shape inference, its own validation), checks the operators, optimizes,
// lowers QDQ patterns, plans and generates the C++, both reports and the --emit-onnx model; when
// that works, it also calibrates on one sample made from the input's bytes, quantizes to int8,
// compares with float and generates again. Nothing is written to disk but one empty folder.
// A refusal (ModelError, IoError) is a right answer; a crash, a sanitizer report, a hang or any
// other exception is a bug (the command line would print "internal error").
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "codegen/codegen.h"
#include "codegen/emit_onnx.h"
#include "codegen/report.h"
#include "codegen/report_html.h"
#include "codegen/targets.h"
#include "importer/importer.h"
#include "tests/fuzz/fuzz_target.h"
#include "ops/op.h"
#include "optimizer/optimizer.h"
#include "quantizer/quantize.h"

namespace {

// The model "lives" in an empty folder that nothing writes to: external data it names is looked
// for there, finds nothing, and the importer must say so.
const std::string& model_path() {
  static const std::string path = [] {
    const std::string dir = "/tmp/tinyc-fuzz-empty";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return dir + "/model.onnx";
  }();
  return path;
}

// One calibration sample: floats in [-1, 1) from a generator seeded by the input, other types 0.
std::vector<tinyc::Tensor> sample_for(const tinyc::Graph& g, uint32_t seed) {
  std::vector<tinyc::Tensor> s;
  for (const auto& name : g.inputs) {
    tinyc::Tensor t = g.tensor(name);
    t.is_const = false;
    t.data.assign(t.bytes(), 0);
    if (t.dtype == tinyc::DType::Float) {
      float* p = t.as<float>();
      for (size_t i = 0; i < t.data.size() / sizeof(float); ++i) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = static_cast<float>(seed >> 8) / 8388608.0f - 1.0f;
      }
    }
    s.push_back(std::move(t));
  }
  return s;
}

void generate_all(tinyc::Graph& g, const tinyc::ReportInputs& extra = {}) {
  tinyc::CodegenOptions co;
  co.name = "fuzz";
  co.source = "model.onnx";
  tinyc::Generated gen = tinyc::generate(g, co);
  const nlohmann::json report = tinyc::make_report(g, gen, *tinyc::find_target("cortex-m4"), extra);
  (void)tinyc::report_html(report);
  (void)tinyc::emit_onnx(g);  // --emit-onnx
  (void)report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);  // as the command line does
}

void compile(const std::string& bytes) {
  tinyc::Graph g = tinyc::import_model_bytes(bytes, model_path());
  tinyc::check_supported(g);
  tinyc::optimize(g);
  tinyc::lower_qdq(g);
  tinyc::Graph float_graph = g;
  generate_all(g);

  uint32_t seed = 2166136261u;  // FNV-1a of the input
  for (unsigned char c : bytes) seed = (seed ^ c) * 16777619u;
  const std::vector<std::vector<tinyc::Tensor>> samples = {sample_for(float_graph, seed)};
  tinyc::Graph q = float_graph;
  const tinyc::Ranges ranges = tinyc::calibrate(q, samples);
  const tinyc::QuantizeSummary summary = tinyc::quantize_int8(q, ranges);
  tinyc::ReportInputs extra;
  extra.tensor_sqnr_db = tinyc::compare_outputs(float_graph, q, samples, &summary).tensor_sqnr_db;
  generate_all(q, extra);
}

}  // namespace

// What the last input gave, for fuzz_replay: empty when it compiled (float and int8), else
// tinyc's refusal.
std::string tinyc_fuzz_refusal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_one_input(data, size, compile);
}
