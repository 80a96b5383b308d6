// The processors tinyc generates code for.
#pragma once

#include <string>
#include <vector>

namespace tinyc {

struct Target {
  std::string name;        // as given to --target
  std::string gcc_flags;   // flags for arm-none-eabi-g++ (empty for host)
  bool has_fpu;            // single-precision hardware float
  bool has_dsp;            // ARMv7E-M DSP extension (SMLAD, SXTB16...)
  bool has_mve;            // Helium
  size_t alignment;        // arena alignment in bytes
  std::string kernels;     // which runtime kernels the generated code uses
  std::string description;
};

const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

}  // namespace tinyc
