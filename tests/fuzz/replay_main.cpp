// Replays inputs through a fuzz target without libFuzzer (the default gcc build): fuzz_replay
// (fuzz_compile.cpp) and fuzz_import_replay (fuzz_import.cpp, where "compiled" means imported and
// optimized):
//
//   fuzz_replay PATH... [--valid PATH...]
//
// Every file given, and every file under every folder given (symbolic links skipped). Inputs
// after --valid are models tinyc must compile (float and int8), so that a target that refuses
// everything cannot pass. An empty folder is a failure too: a lost corpus must not pass.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern std::string tinyc_fuzz_refusal;

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<std::pair<fs::path, bool>> files;  // path, must compile
  bool valid = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--valid") {
      valid = true;
    } else if (fs::is_directory(arg)) {
      std::vector<fs::path> in;
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file() && !e.is_symlink()) in.push_back(e.path());
      if (in.empty()) {
        std::fprintf(stderr, "fuzz_replay: folder '%s' is empty\n", argv[i]);
        return 1;
      }
      std::sort(in.begin(), in.end());
      for (const auto& p : in) files.emplace_back(p, valid);
    } else if (fs::is_regular_file(arg)) {
      files.emplace_back(arg, valid);
    } else {
      std::fprintf(stderr, "fuzz_replay: '%s' does not exist\n", argv[i]);
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "fuzz_replay: no inputs\n");
    return 1;
  }
  size_t compiled = 0, failures = 0;
  for (const auto& [path, must_compile] : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    const std::string& why = tinyc_fuzz_refusal;
    std::printf("%s: %s\n", path.c_str(), why.empty() ? "compiled" : ("refused: " + why.substr(0, why.find('\n'))).c_str());
    compiled += why.empty();
    if (must_compile && !why.empty()) {
      std::printf("  FAIL: this model must compile\n");
      ++failures;
    }
  }
  std::printf("fuzz_replay: %zu inputs, %zu compiled, %zu refused, no crash; %zu valid models refused\n",
              files.size(), compiled, files.size() - compiled, failures);
  return failures ? 1 : 0;
}
