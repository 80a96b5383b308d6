#include "codegen/report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

namespace tinyc {

namespace {

using json = nlohmann::json;

// Every chart is this wide (SVG user units); the plot area leaves room for axis labels.
constexpr double kWidth = 960, kLeft = 78, kRight = 944;

std::string esc(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '&': r += "&amp;"; break;
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '"': r += "&quot;"; break;
      case '\'': r += "&#39;"; break;
      default: r += c;
    }
  }
  return r;
}

// 1234567 -> "1,234,567"
std::string group(uint64_t v) {
  std::string s = std::to_string(v), r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) r += ',';
    r += s[i];
  }
  return r;
}

std::string bytes(uint64_t v) { return group(v) + " B"; }

// A short axis label: 1.5M, 20k, 300.
std::string short_number(double v) {
  if (v >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.3g}", v);
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

// Colour-blind-friendly categorical palette (Tableau 10), for the tensors of the timeline.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#8cd17d"};

// "layer 3 'name' (Conv)"; in the charts' visible labels (short) a long name keeps its two ends.
std::string layer_label(const json& l, bool short_name = false) {
  std::string name = l["name"];
  if (short_name && name.size() > 48) name = name.substr(0, 22) + "..." + name.substr(name.size() - 22);
  return fmt::format("layer {} '{}' ({})", l["index"].get<size_t>(), name, l["op"].get<std::string>());
}

std::string svg_open(const std::string& id, double height, const std::string& data, const std::string& title) {
  return fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"{}\" "
      "height=\"{}\" role=\"img\" aria-label=\"{}\"{}>\n",
      id, kWidth, num(height), kWidth, num(height), esc(title), data);
}

std::string text(double x, double y, const std::string& s, const char* anchor = "start", const char* cls = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\"{}>{}</text>\n", num(x), num(y), anchor,
                     *cls ? fmt::format(" class=\"{}\"", cls) : "", esc(s));
}

// The gridline step for values up to vmax: 1, 2, 2.5 or 5 times a power of ten, about 4 steps.
double nice_step(double vmax) {
  if (vmax <= 0) return 1;
  const double raw = vmax / 4, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

// The top of an axis for values up to vmax: a whole number of steps.
double nice_top(double vmax) {
  const double step = nice_step(vmax);
  return std::max(1.0, std::ceil(vmax / step - 1e-9)) * step;
}

// A y axis from 0 to top_value (a nice_top): gridlines and labels at each step.
std::string y_axis(double top, double bottom, double top_value, const std::string& unit) {
  std::string s;
  const double step = nice_step(top_value);
  for (double v = 0; v <= top_value * (1 + 1e-9); v += step) {
    const double y = bottom - (bottom - top) * v / top_value;
    s += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", num(kLeft), num(y),
                     num(kRight), num(y));
    s += text(kLeft - 4, y + 4, short_number(v) + unit, "end", "axis");
  }
  return s;
}

// Layer numbers under a plot of n bars, about 20 of them at most.
std::string x_axis(size_t n, double bottom) {
  std::string s;
  const double bw = (kRight - kLeft) / std::max<size_t>(n, 1);
  const size_t every = std::max<size_t>(1, (n + 19) / 20);
  for (size_t i = 0; i < n; i += every) s += text(kLeft + (i + 0.5) * bw, bottom + 13, std::to_string(i), "middle", "axis");
  s += text(kRight, bottom + 27, "layer (in the order the code runs them)", "end", "axis");
  return s;
}

// ---- the charts ----

// Flash and RAM totals as bars against the budgets (the user's or the target's typical part).
std::string budget_chart(const json& r) {
  const json& t = r["totals"];
  const json budgets = r.value("budgets", json::object());
  struct Row {
    const char* name;
    const char* key;
    uint64_t used;
    std::vector<std::pair<std::string, uint64_t>> parts;
  };
  const uint64_t weights = t["weight_bytes"], code = t["estimated_code_bytes"], flash = t["flash_bytes"];
  const uint64_t arena = t["arena_bytes"], ram = t["ram_bytes"];
  const Row rows[] = {
      {"Flash", "flash", flash, {{"weights", weights}, {"layer parameters", flash - weights - code}, {"code (estimate)", code}}},
      {"RAM", "ram", ram, {{"arena", arena}, {"stack (estimate)", ram - arena}}}};
  std::string data;
  for (const Row& row : rows) {
    data += fmt::format(" data-{}=\"{}\"", row.key, row.used);
    if (budgets.contains(row.key)) data += fmt::format(" data-{}-budget=\"{}\"", row.key, budgets[row.key]["bytes"].get<uint64_t>());
  }
  const double row_h = 64, height = 20 + row_h * 2 + 24;
  std::string s = svg_open("chart-budget", height, data, "flash and RAM against the budgets");
  const double x0 = kLeft, x1 = kRight - 230;
  double y = 20;
  for (const Row& row : rows) {
    const uint64_t used = row.used;
    const bool has_budget = budgets.contains(row.key);
    const uint64_t budget = has_budget ? budgets[row.key]["bytes"].get<uint64_t>() : 0;
    const double scale = (x1 - x0) / double(std::max<uint64_t>({used, budget, 1}));
    s += text(x0 - 6, y + 20, row.name, "end", "label");
    double x = x0;
    for (size_t k = 0; k < row.parts.size(); ++k) {
      const double w = row.parts[k].second * scale;
      s += fmt::format(
          "<rect class=\"part\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"26\" fill=\"{}\"><title>{}: {}</title></rect>\n",
          num(x), num(y + 2), num(w), used > budget && has_budget ? "#e15759" : kPalette[k], esc(row.parts[k].first),
          bytes(row.parts[k].second));
      x += w;
    }
    std::string legend;
    for (size_t k = 0; k < row.parts.size(); ++k)
      legend += fmt::format("{}{} {}", k ? ", " : "", row.parts[k].first, bytes(row.parts[k].second));
    s += text(x0, y + 44, legend, "start", "axis");
    if (has_budget) {
      const double bx = x0 + budget * scale;
      s += fmt::format("<line class=\"budget\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>\n", num(bx), num(y - 4),
                       num(y + 32));
      s += text(x1 + 8, y + 12,
                fmt::format("{} of {} ({:.1f} %)", bytes(used), bytes(budget), 100.0 * double(used) / double(budget)),
                "start", used > budget ? "over" : "label");
      s += text(x1 + 8, y + 28, "budget: " + budgets[row.key]["source"].get<std::string>(), "start", "axis");
    } else {
      s += text(x1 + 8, y + 12, bytes(used), "start", "label");
      s += text(x1 + 8, y + 28, fmt::format("no budget: give --max-{}", row.key), "start", "axis");
    }
    y += row_h;
  }
  return s + "</svg>\n";
}

// Bytes live in the arena at each layer, stacked by tensor in arena order, with the lower bound
// (the largest sum) and the planned arena (the sum plus the gaps placement leaves).
std::string memory_chart(const json& r) {
  const json& layers = r["layers"];
  const json& t = r["totals"];
  const size_t n = layers.size();
  const uint64_t arena = t["arena_bytes"], bound = t["arena_lower_bound_bytes"];
  size_t peak = 0;
  for (size_t i = 0; i < n; ++i)
    if (layers[i]["live_bytes"].get<uint64_t>() > layers[peak]["live_bytes"].get<uint64_t>()) peak = i;
  const std::string peak_name = n ? layers[peak]["name"].get<std::string>() : "";
  const double top = 52, bottom = 282, height = bottom + 36;
  std::string s = svg_open(
      "chart-memory", height,
      fmt::format(" data-arena=\"{}\" data-lower-bound=\"{}\" data-peak-index=\"{}\" data-peak-layer=\"{}\"", arena,
                  bound, peak, esc(peak_name)),
      "memory timeline");
  const double ymax = nice_top(std::max<double>({double(arena), double(bound), 1.0}) * 1.05);
  auto Y = [&](double v) { return bottom - (bottom - top) * v / ymax; };
  s += y_axis(top, bottom, ymax, "B");
  const double bw = (kRight - kLeft) / std::max<size_t>(n, 1), gap = bw > 4 ? 1 : 0;
  std::map<std::string, size_t> colour;  // tensor -> palette entry, in order of first appearance
  for (size_t i = 0; i < n; ++i) {
    const json& l = layers[i];
    double base = 0;
    s += fmt::format("<g class=\"layer{}\" data-index=\"{}\" data-live=\"{}\">\n", i == peak ? " peak" : "", i,
                     l["live_bytes"].get<uint64_t>());
    for (const json& b : l.value("live", json::array())) {
      const std::string name = b["tensor"];
      const uint64_t v = b["bytes"];
      const bool scratch = name[0] == '(';  // a layer's scratch, or room kept for a later output
      if (!scratch && !colour.count(name)) colour.emplace(name, colour.size());
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>\n",
                       num(kLeft + i * bw + gap / 2), num(Y(base + v)), num(bw - gap), num(Y(base) - Y(base + v)),
                       scratch ? "#bab0ac" : kPalette[colour[name] % 10], esc(layer_label(l)), esc(name), bytes(v));
      base += v;
    }
    s += "</g>\n";
  }
  if (n) {
    const double px = kLeft + (peak + 0.5) * bw, py = Y(double(layers[peak]["live_bytes"].get<uint64_t>()));
    s += fmt::format("<path class=\"marker\" d=\"M{} {}l-5 -8h10z\"/>\n", num(px), num(py - 2));
    s += text(kLeft, 18, fmt::format("peak: {} — {}", layer_label(layers[peak], true), bytes(layers[peak]["live_bytes"])),
              "start", "label peak-label");
  }
  s += fmt::format("<line class=\"arena\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>\n", num(kLeft), num(Y(double(arena))),
                   num(kRight));
  s += fmt::format("<line class=\"bound\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>\n", num(kLeft), num(Y(double(bound))),
                   num(kRight));
  // The legend of the two lines, top right.
  s += fmt::format("<line class=\"arena\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>\n", num(kRight - 420), num(top - 16),
                   num(kRight - 396));
  s += text(kRight - 392, top - 12, "planned arena " + bytes(arena), "start", "label arena-label");
  s += fmt::format("<line class=\"bound\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\"/>\n", num(kRight - 200), num(top - 16),
                   num(kRight - 176));
  s += text(kRight - 172, top - 12, "lower bound " + bytes(bound), "start", "label bound-label");
  s += x_axis(n, bottom);
  return s + "</svg>\n";
}

// One band of bars per layer (`key` of each layer); layers without the value get no bar.
std::string bars(const json& layers, const std::string& key, const std::string& title, const std::string& unit,
                 double top, double bottom, const char* fill) {
  const size_t n = layers.size();
  double vmax = 0;
  size_t arg = 0;
  for (size_t i = 0; i < n; ++i)
    if (layers[i].contains(key) && layers[i][key].get<double>() > vmax) vmax = layers[i][key].get<double>(), arg = i;
  std::string s = fmt::format("<g class=\"band\" data-key=\"{}\">\n", key);
  s += text(kLeft, top - 8, title, "start", "label");
  if (vmax > 0) s += text(kRight, top - 8, fmt::format("largest: {} — {}", layer_label(layers[arg], true), group(uint64_t(vmax))),
                         "end", "axis");
  vmax = nice_top(vmax);
  s += y_axis(top, bottom, vmax, unit);
  const double bw = (kRight - kLeft) / std::max<size_t>(n, 1), gap = bw > 4 ? 1 : 0;
  for (size_t i = 0; i < n; ++i) {
    if (!layers[i].contains(key) || layers[i][key].get<double>() <= 0) continue;
    const double v = layers[i][key].get<double>(), h = (bottom - top) * v / vmax;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>\n",
                     num(kLeft + i * bw + gap / 2), num(bottom - h), num(bw - gap), num(h), fill,
                     esc(layer_label(layers[i])), group(uint64_t(v)), esc(title));
  }
  return s + "</g>\n";
}

// MACs and weight bytes per layer, and instructions where a profile was given.
std::string cost_chart(const json& r) {
  const json& layers = r["layers"];
  const json& t = r["totals"];
  const bool profiled = t.contains("profiled_instructions");
  const double band = 130;
  const int bands = profiled ? 3 : 2;
  std::string data = fmt::format(" data-macs=\"{}\" data-weight-bytes=\"{}\"", t["macs"].get<int64_t>(),
                                 t["weight_bytes"].get<uint64_t>());
  if (profiled) data += fmt::format(" data-instructions=\"{}\"", t["profiled_instructions"].get<uint64_t>());
  std::string s = svg_open("chart-cost", 34 + band * bands + 24, data, "per-layer cost");
  double top = 34;
  s += bars(layers, "macs", fmt::format("MACs per layer (total {})", group(t["macs"].get<uint64_t>())), "", top,
            top + band - 40, kPalette[0]);
  top += band;
  s += bars(layers, "weight_bytes", fmt::format("weight bytes per layer (total {})", bytes(t["weight_bytes"])), "B",
            top, top + band - 40, kPalette[1]);
  top += band;
  if (profiled) {
    s += bars(layers, "instructions",
              fmt::format("instructions per layer, measured ({}; total {})", r.value("profile", std::string("profile")),
                          group(t["profiled_instructions"].get<uint64_t>())),
              "", top, top + band - 40, kPalette[2]);
    top += band;
  }
  s += x_axis(layers.size(), top - 40);
  return s + "</svg>\n";
}

// Per-layer SQNR of the int8 model against float on the calibration data: where it drops, the
// layer loses precision, and keeping it in float may help.
std::string sqnr_chart(const json& r) {
  const json& layers = r["layers"];
  const size_t n = layers.size();
  double vmax = 40, vmin = INFINITY;
  size_t worst = 0, measured = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!layers[i].contains("sqnr_db") || layers[i]["sqnr_db"].is_null()) continue;
    const double v = layers[i]["sqnr_db"];
    ++measured;
    vmax = std::max(vmax, v);
    if (v < vmin) vmin = v, worst = i;
  }
  vmax = std::ceil(vmax / 10) * 10;
  const double top = 34, bottom = 244;
  std::string data = fmt::format(" data-layers-measured=\"{}\"", measured);
  if (measured) data += fmt::format(" data-min-sqnr=\"{:.2f}\" data-min-layer=\"{}\"", vmin, esc(layers[worst]["name"].get<std::string>()));
  std::string s = svg_open("chart-sqnr", bottom + 36, data, "per-layer quantization error");
  if (measured)
    s += text(kLeft, top - 16,
              fmt::format("lowest: {} — {:.1f} dB", layer_label(layers[worst], true), vmin), "start", "label sqnr-label");
  const double lo = std::min(0.0, std::isfinite(vmin) ? std::floor(vmin / 10) * 10 : 0.0);
  auto Y = [&](double v) { return bottom - (bottom - top) * (v - lo) / (vmax - lo); };
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (vmax - lo) * k / 4;
    s += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", num(kLeft), num(Y(v)), num(kRight),
                     num(Y(v)));
    s += text(kLeft - 4, Y(v) + 4, fmt::format("{:.0f} dB", v), "end", "axis");
  }
  const double bw = (kRight - kLeft) / std::max<size_t>(n, 1), gap = bw > 4 ? 1 : 0;
  for (size_t i = 0; i < n; ++i) {
    if (!layers[i].contains("sqnr_db")) continue;
    const bool exact = layers[i]["sqnr_db"].is_null();
    const double v = exact ? vmax : layers[i]["sqnr_db"].get<double>();
    const char* fill = exact ? "#d4e6f1" : i == worst ? "#e15759" : v < 20 ? "#f28e2b" : kPalette[0];
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>\n",
                     num(kLeft + i * bw + gap / 2), num(std::min(Y(v), Y(0))), num(bw - gap),
                     num(std::abs(Y(0) - Y(v))), fill, esc(layer_label(layers[i])),
                     exact ? std::string("exact (no error)") : fmt::format("{:.2f} dB", v));
  }
  s += x_axis(n, bottom);
  return s + "</svg>\n";
}

// "[1x16x25x5], [1x16x25x5]"; with `constant` (one flag per shape) only the others, and the
// constants counted: "[1x16x25x5] + 3 constants".
std::string shapes(const json& v, const json& constant = json()) {
  std::string s;
  size_t constants = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& shape = v[i];
    if (constant.is_array() && i < constant.size() && constant[i].get<bool>()) {
      ++constants;
      continue;
    }
    std::string d;
    for (const json& x : shape) d += (d.empty() ? "" : "x") + std::to_string(x.get<int64_t>());
    s += (s.empty() ? "" : ", ") + ("[" + d + "]");
  }
  if (constants) s += fmt::format("{}{} constant{}", s.empty() ? "" : " + ", constants, constants > 1 ? "s" : "");
  return s;
}

// Whether the report is of a pre-quantized model (its quantization section lists only the layers
// left in float).
bool pre_quantized(const json& r) {
  return r.contains("quantization") && r["quantization"].value("pre_quantized", false);
}

std::string layer_table(const json& r) {
  const json& layers = r["layers"];
  const bool sqnr = r.contains("quantization") && !pre_quantized(r), profiled = r["totals"].contains("profiled_instructions");
  std::string s =
      "<table id=\"layers\" class=\"sortable\">\n<thead><tr><th data-num>#</th><th>name</th><th>operator</th>"
      "<th>kernel</th><th>inputs</th><th>outputs</th><th data-num>MACs</th><th data-num>weight B</th>"
      "<th data-num>scratch B</th><th data-num>live B</th>";
  if (sqnr) s += "<th data-num>SQNR dB</th>";
  if (profiled) s += "<th data-num>instructions</th>";
  s += "</tr></thead>\n<tbody>\n";
  auto number = [](uint64_t v) { return fmt::format("<td data-v=\"{}\">{}</td>", v, group(v)); };
  for (const json& l : layers) {
    s += fmt::format("<tr><td data-v=\"{0}\">{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td>",
                     l["index"].get<size_t>(), esc(l["name"]), esc(l["op"]), esc(l.value("kernel", std::string())),
                     shapes(l.value("inputs", json::array()), l.value("inputs_constant", json())), shapes(l.value("outputs", json::array())));
    s += number(l["macs"].get<uint64_t>()) + number(l["weight_bytes"]) + number(l.value("scratch_bytes", uint64_t(0))) +
         number(l["live_bytes"]);
    if (sqnr) {
      if (!l.contains("sqnr_db")) s += "<td data-v=\"-Infinity\"></td>";
      else if (l["sqnr_db"].is_null()) s += "<td data-v=\"Infinity\">exact</td>";
      else s += fmt::format("<td data-v=\"{0:.2f}\">{0:.1f}</td>", l["sqnr_db"].get<double>());
    }
    if (profiled) s += l.contains("instructions") ? number(l["instructions"]) : "<td data-v=\"-1\"></td>";
    s += "</tr>\n";
  }
  return s + "</tbody>\n</table>\n";
}

const char* const kStyle = R"(body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px}p.note{color:#555;margin:2px 0 8px;font-size:13px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:12px 0}dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
svg.chart{display:block;max-width:100%;height:auto;border:1px solid #e4e4e4;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:#333}svg text.label{font-size:12px;fill:#222}svg text.axis{fill:#666}
svg text.over{fill:#c62828;font-weight:bold}svg .grid{stroke:#eee}svg .budget{stroke:#222;stroke-width:2}
svg .arena{stroke:#c62828;stroke-width:1.5}svg .bound{stroke:#222;stroke-dasharray:5 3}svg .marker{fill:#c62828}
svg g.peak rect{stroke:#c62828;stroke-width:1}svg rect:hover{opacity:.75}
table{border-collapse:collapse;font-size:12px;margin-top:8px}th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}
td:nth-child(2){max-width:280px;overflow-wrap:anywhere}td[data-v]{text-align:right;font-variant-numeric:tabular-nums}th{cursor:pointer;background:#f6f6f6;position:sticky;top:0}
th[data-dir=asc]::after{content:" \25B2"}th[data-dir=desc]::after{content:" \25BC"})";

// Sorts the table by the clicked column (numbers by data-v); a second click reverses.
const char* const kScript = R"(document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1, numeric = th.hasAttribute('data-num');
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('data-dir'); });
      th.setAttribute('data-dir', dir > 0 ? 'asc' : 'desc');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var c = row.cells[col];
        return numeric ? parseFloat(c.getAttribute('data-v')) : c.textContent;
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var d = numeric ? (x < y ? -1 : x > y ? 1 : 0) : x.localeCompare(y);
        return dir * d || a.cells[0].getAttribute('data-v') - b.cells[0].getAttribute('data-v');
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  table.setAttribute('data-sortable', 'ready');
});
)";

}  // namespace

std::string report_html(const json& r) {
  const json& t = r["totals"];
  const std::string model = r.value("model", std::string("model"));
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"generator\" content=\"tinyc\">\n";
  h += fmt::format("<title>tinyc report: {}</title>\n<style>\n{}\n</style>\n</head>\n<body>\n", esc(model), kStyle);
  h += fmt::format("<h1>{} for {}</h1>\n", esc(model), esc(r["target"]));
  h += "<dl>\n";
  auto item = [&](const std::string& k, const std::string& v) { h += fmt::format("<dt>{}</dt><dd>{}</dd>\n", esc(k), v); };
  if (r.contains("source")) item("model file", esc(r["source"]));
  item("layers", group(t["layers"].get<uint64_t>()));
  item("MACs", group(t["macs"].get<uint64_t>()));
  item("weights", bytes(t["weight_bytes"]));
  item("arena", fmt::format("{} (lower bound {})", bytes(t["arena_bytes"]), bytes(t["arena_lower_bound_bytes"])));
  if (t.contains("peak_layer")) item("peak-memory layer", esc(t["peak_layer"]));
  item("flash / RAM", fmt::format("{} / {}", bytes(t["flash_bytes"]), bytes(t["ram_bytes"])));
  if (pre_quantized(r)) {
    const json& q = r["quantization"];
    std::string left;
    for (const json& l : q["float_layers"])
      left += fmt::format("{}{} ({})", left.empty() ? ": " : "; ", esc(l.get<std::string>()),
                          esc(q["float_layer_reasons"].value(l.get<std::string>(), std::string())));
    item("quantization", fmt::format("pre-quantized model, the model's own scales; {} layers in float{}",
                                     q["float_layers"].size(), left));
  } else if (r.contains("quantization")) {
    const json& q = r["quantization"];
    item("quantization", fmt::format("int8 ({}); {} layers in int8, {} in float; calibration: {} samples, {}",
                                     esc(q.value("weights", std::string())), q["int8_layers"].size(),
                                     q["float_layers"].size(), q.value("calibration_samples", 0),
                                     esc(q.value("calibration_method", std::string()))));
    std::string out;
    for (const json& v : q.value("calibration_sqnr_db", json::array()))
      out += (out.empty() ? "" : ", ") + (v.is_null() ? std::string("exact") : fmt::format("{:.1f} dB", v.get<double>()));
    if (q.contains("calibration_top1_agreement"))
      out += fmt::format("; top-1 agrees with float on {:.1f} % of samples", 100 * q["calibration_top1_agreement"].get<double>());
    item("output vs float", out);
  }
  if (t.contains("profiled_instructions"))
    item("instructions (measured)", fmt::format("{} ({})", group(t["profiled_instructions"].get<uint64_t>()),
                                                esc(r.value("profile", std::string()))));
  h += "</dl>\n";

  h += "<h2>Flash and RAM</h2>\n<p class=\"note\">Totals against the budget: the one given with --max-flash / "
       "--max-ram, else the memories of a typical part with this core. Code and stack are estimates; the linker map "
       "has the exact figures.</p>\n";
  h += budget_chart(r);
  h += "<h2>Memory timeline</h2>\n<p class=\"note\">Bytes live in the arena while each layer runs, one colour per "
       "tensor (grey: the layer's scratch, or room kept for a later layer's output that overlaps a tensor), in arena "
       "order; hover for names. The dashed line is the lower bound (the "
       "most bytes live at once); the red line the arena the planner placed, which adds the gaps between "
       "buffers.</p>\n";
  h += memory_chart(r);
  h += "<h2>Cost per layer</h2>\n<p class=\"note\">Multiply-accumulates and constant bytes of each layer";
  h += t.contains("profiled_instructions") ? "; instructions as measured on the target (--profile).</p>\n"
                                           : "; give --profile FILE for instructions measured on the target.</p>\n";
  h += cost_chart(r);
  h += "<h2>Quantization error per layer</h2>\n";
  if (pre_quantized(r)) {
    h += "<p class=\"note\">A pre-quantized model: its scales are its own, so there is no float model to "
         "measure against here. tests/oracle/check_oracle.py compares it with ONNX Runtime.</p>\n";
  } else if (r.contains("quantization")) {
    h += "<p class=\"note\">SQNR of each layer's output (dequantized) against the float model's same tensor, over "
         "the calibration samples: 10 log10(&Sigma;f&sup2; / &Sigma;(f &minus; q)&sup2;). Errors add up along the "
         "model; a layer where it drops is the one to keep in float. Orange: under 20 dB.</p>\n";
    h += sqnr_chart(r);
  } else {
    h += "<p class=\"note\">A float model: no quantization error. Compile with --quantize int8 to see it.</p>\n";
  }
  h += "<h2>Layers</h2>\n<p class=\"note\">Click a column to sort.</p>\n";
  h += layer_table(r);
  h += fmt::format("<script>\n{}</script>\n</body>\n</html>\n", kScript);
  return h;
}

}  // namespace tinyc
