// NumPy .npy files: the input format of `tinyc run` and of calibration data.
#pragma once

#include <string>

#include "ir/ir.h"

namespace tinyc {

Tensor read_npy(const std::string& path);  // throws IoError
void write_npy(const Tensor& t, const std::string& path);

// Reads a .npy or a TensorProto .pb file, by extension.
Tensor read_tensor_file(const std::string& path);

}  // namespace tinyc
