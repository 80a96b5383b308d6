// IR -> C++ source files: NAME.h (the API), NAME.cpp (the schedule), NAME_weights.cpp (constants
// in flash) and the runtime headers the model uses.
#pragma once

#include <string>
#include <vector>

#include "codegen/plan.h"
#include "ir/ir.h"
#include "runtime/tinyc/tinyc.h"

namespace tinyc {

struct CodegenOptions {
  std::string name;          // C identifier, prefix of every symbol and file
  std::string source;        // model file name, for the header comment
  size_t alignment = 16;     // arena alignment
  std::string target = "host";  // --target, for the build guard's message
  Isa isa = Isa::Portable;      // the kernels' scratch is sized for it; the code refuses to build for another
};

struct GeneratedFile {
  std::string path;  // relative to OUTDIR
  std::string content;
};

struct Generated {
  std::vector<GeneratedFile> files;
  ArenaPlan plan;
  size_t weight_bytes = 0;
};

Generated generate(Graph& g, const CodegenOptions& opts);

// A C identifier made from any string (invalid characters become '_').
std::string c_identifier(const std::string& s);
// Text that is safe inside a C comment.
std::string comment_safe(const std::string& s);

// The runtime headers, embedded at build time: (path under OUTDIR, content).
const std::vector<std::pair<std::string, std::string>>& runtime_files();

}  // namespace tinyc

namespace tinyc {
// The manifest tinyc writes into the output folder with the files: their paths, one a line.
extern const char* const kManifestName;  // "tinyc-manifest.txt"

// Writes the files and their manifest into `dir`, and removes the files that the manifest already
// there lists and this call does not write (only plain relative paths to regular files inside
// `dir`, through no symlink; nothing else in `dir` is touched). Atomic: the files go into a
// temporary folder beside `dir` first, then into place; on failure `dir` is left as it was.
// Throws IoError.
void write_files(const std::vector<GeneratedFile>& files, const std::string& dir);
}  // namespace tinyc
