// The compile report: per-layer cost, the arena's timeline and the model's memory totals, as JSON
// and as text (the HTML view of the JSON is in report_html.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "codegen/codegen.h"
#include "codegen/targets.h"

namespace tinyc {

// What the report knows from outside the graph.
struct ReportInputs {
  // int8 models: tensor of the compiled graph -> SQNR in dB of its values against the float
  // model's on the calibration data (quantizer's compare_outputs).
  std::map<std::string, double> tensor_sqnr_db;
  // A measured profile: layer index (the schedule's, as in NAME.cpp) -> instructions.
  std::map<size_t, uint64_t> instructions;
  std::string profile_source;  // the profile's file name, for the charts' captions
  size_t max_ram = 0, max_flash = 0;  // --max-ram / --max-flash; 0: not given
};

nlohmann::json make_report(const Graph& g, const Generated& gen, const Target& target,
                           const ReportInputs& extra = {});
std::string format_report_text(const nlohmann::json& report);

// A float in the report: a JSON number, or null for infinities and NaN (JSON has none; an SQNR is
// infinite where int8 is exact, which the HTML report shows as such).
nlohmann::json json_number(double v);

// A profile as tests/mcu/run_on_qemu.py --profile writes it: CSV lines "layer,instructions[,name]"
// (a header line and lines starting with '#' are skipped); a layer given twice is summed. `name`,
// when given, is the layer's name as NAME.cpp spells it (comment_safe). Throws
// std::invalid_argument naming the line that is not of this form.
struct ProfileLayer {
  uint64_t instructions = 0;
  std::string name;
};
std::map<size_t, ProfileLayer> parse_profile_csv(const std::string& text);

}  // namespace tinyc
