// The processors tinyc generates code for.
#pragma once

#include <string>
#include <vector>

#include "runtime/tinyc/tinyc.h"

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
  // A typical part with this core, whose memories the report draws the model against when no
  // --max-flash / --max-ram is given (empty / 0: none).
  std::string part;
  size_t part_flash_bytes;
  size_t part_ram_bytes;
  // The instruction set the generated code is for (host: Portable, any core).
  Isa isa() const { return name == "host" ? Isa::Portable : has_mve ? Isa::Helium : has_dsp ? Isa::Dsp : Isa::Plain; }
};

const std::vector<Target>& targets();
const Target* find_target(const std::string& name);

}  // namespace tinyc
