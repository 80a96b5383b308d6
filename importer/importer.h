// ONNX file -> tinyc IR, through ONNX's own parser, checker and shape inference.
#pragma once

#include <map>
#include <string>

#include "ir/ir.h"

namespace tinyc {

struct ImportOptions {
  std::map<std::string, Shape> input_shapes;  // --input-shape NAME=1x3x32x32
};

// Throws ModelError for a model tinyc cannot accept, IoError when the file cannot be read.
Graph import_model(const std::string& path, const ImportOptions& opts = {});
// The same from the file's bytes, already read; `path` names the model in messages and its folder
// is where external data is looked for.
Graph import_model_bytes(const std::string& bytes, const std::string& path, const ImportOptions& opts = {});

// Reads a serialized onnx TensorProto (backend-test .pb file).
Tensor read_tensor_pb(const std::string& path);
void write_tensor_pb(const Tensor& t, const std::string& path);

}  // namespace tinyc
