#include "codegen/targets.h"

namespace tinyc {

constexpr size_t KiB = 1024;

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {
      {"host", "", true, false, false, 16, "portable C", "the machine tinyc runs on (tests, simulation)", "", 0, 0},
      {"cortex-m0plus", "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft", false, false, false, 4, "portable C",
       "ARMv6-M, no FPU, no DSP", "STM32G071RB", 128 * KiB, 36 * KiB},
      {"cortex-m3", "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft", false, false, false, 4, "portable C",
       "ARMv7-M, no FPU", "STM32F103RB", 128 * KiB, 20 * KiB},
      {"cortex-m4", "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16", true, true,
       false, 4, "int8: DSP (SMLAD)", "ARMv7E-M, DSP, single-precision FPU", "STM32F446RE", 512 * KiB, 128 * KiB},
      {"cortex-m7", "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16", true, true, false,
       8, "int8: DSP (SMLAD)", "ARMv7E-M, DSP, double-precision FPU", "STM32F746NG", 1024 * KiB, 320 * KiB},
      {"cortex-m33", "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16", true, true,
       false, 4, "int8: DSP (SMLAD)", "ARMv8-M Mainline, DSP, single-precision FPU", "STM32L552ZE", 512 * KiB, 256 * KiB},
      {"cortex-m55", "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard", true, true, true, 16, "int8: Helium (MVE: VMLADAV)",
       "ARMv8.1-M, Helium (MVE), FPU", "Corstone-300 (MPS3 AN547) ITCM/DTCM", 512 * KiB, 512 * KiB},
  };
  return t;
}

const Target* find_target(const std::string& name) {
  for (const auto& t : targets())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace tinyc
