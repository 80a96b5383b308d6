// NumPy .npy files: the input format of `tinyc run` and of calibration data.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.h"

namespace tinyc {

Tensor read_npy(const std::string& path);  // throws IoError
void write_npy(const Tensor& t, const std::string& path);

// Reads a .npy or a TensorProto .pb file, by extension.
Tensor read_tensor_file(const std::string& path);

// Representative input samples for the graph's inputs: a .npy whose first axis is the sample
// (single-input models), or a folder in the ONNX backend-test layout (test_data_set_*/input_K.pb).
std::vector<std::vector<Tensor>> read_samples(const std::string& path, const Graph& g);

}  // namespace tinyc
