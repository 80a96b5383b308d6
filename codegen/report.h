// The compile report: per-layer cost and the model's memory totals, as JSON and as text.
#pragma once

#include <nlohmann/json.hpp>

#include "codegen/codegen.h"
#include "codegen/targets.h"

namespace tinyc {

nlohmann::json make_report(const Graph& g, const Generated& gen, const Target& target);
std::string format_report_text(const nlohmann::json& report);

}  // namespace tinyc
