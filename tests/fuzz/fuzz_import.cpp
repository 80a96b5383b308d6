// libFuzzer target over what reads the untrusted bytes, at thousands of inputs a second: the
// input is an ONNX model file that tinyc imports (protobuf, its own validation, ONNX checker and
// shape inference, the IR), checks the operators of, optimizes (every pass, constant folding
// included), lowers QDQ patterns in and dumps as text. No code generation, no calibration: that is
// fuzz_compile's, which is some thirty times slower. Nothing is logged or written.
// A refusal (ModelError, IoError) is a right answer; a crash, a sanitizer report, a hang or any
// other exception is a bug.
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "importer/importer.h"
#include "tests/fuzz/fuzz_target.h"
#include "ops/op.h"
#include "optimizer/optimizer.h"
#include "quantizer/quantize.h"

// What the last input gave, for fuzz_import_replay: empty when it was imported and optimized, else
// tinyc's refusal (or the size limit below).
std::string tinyc_fuzz_refusal;

namespace {

// The model "lives" in an empty folder: external data it names is looked for there and not found.
const std::string& model_path() {
  static const std::string path = [] {
    const std::string dir = "/tmp/tinyc-fuzz-empty";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    spdlog::set_level(spdlog::level::off);  // the importer's notes, once per input otherwise
    return dir + "/model.onnx";
  }();
  return path;
}

// Folding a constant of up to 1 GiB (tinyc's cap) takes up to seconds, and so do the mutations of
// such an input, which then hold the fuzzer at a few hundred inputs a second: the optimizer gets
// only graphs whose tensors of known shape (ONNX's shape inference knows most) are under 16 MiB.
// Larger ones are lowered node by node (shapes and sizes checked), not run.
bool small_enough(const tinyc::Graph& g) {
  for (const auto& [name, t] : g.tensors) {
    double bytes = static_cast<double>(tinyc::dtype_size(t.dtype));
    for (int64_t d : t.shape) bytes *= static_cast<double>(d);
    if (t.has_shape && bytes > 16 * 1024 * 1024) return false;
  }
  return true;
}

void import_and_optimize(const std::string& bytes) {
  tinyc::Graph g = tinyc::import_model_bytes(bytes, model_path());
  if (!small_enough(g)) {
    for (const tinyc::Node& n : g.nodes) tinyc::lower_node(g, n);
    tinyc_fuzz_refusal = "lowered, not optimized: a tensor over 16 MiB (the fuzz target's limit)";
    return;
  }
  tinyc::check_supported(g);
  tinyc::optimize(g);
  tinyc::lower_qdq(g);
  (void)tinyc::dump_ir(g);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_one_input(data, size, import_and_optimize);
}
