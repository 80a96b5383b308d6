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
#include "ops/op.h"
#include "optimizer/optimizer.h"
#include "quantizer/quantize.h"

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

void import_and_optimize(const std::string& bytes) {
  tinyc::Graph g = tinyc::import_model_bytes(bytes, model_path());
  tinyc::check_supported(g);
  tinyc::optimize(g);
  tinyc::lower_qdq(g);
  (void)tinyc::dump_ir(g);
}

}  // namespace

// What the last input gave, for fuzz_import_replay: empty when it was imported and optimized, else
// tinyc's refusal.
std::string tinyc_fuzz_refusal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tinyc_fuzz_refusal.clear();
  try {
    import_and_optimize(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const tinyc::ModelError& e) {
    tinyc_fuzz_refusal = e.what();
  } catch (const tinyc::IoError& e) {
    tinyc_fuzz_refusal = e.what();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinyc fuzz: unexpected exception: %s\n", e.what());
    std::abort();
  }
  return 0;
}
