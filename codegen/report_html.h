// The compile report as one self-contained HTML page: the JSON report (report.h) drawn as inline
// SVG (budgets, memory timeline, per-layer cost, per-layer quantization error) and a sortable
// table of layers. No network, no external scripts or fonts; the same report gives the same bytes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tinyc {

std::string report_html(const nlohmann::json& report);

}  // namespace tinyc
