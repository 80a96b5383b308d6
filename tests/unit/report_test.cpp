// The compile report: the timeline's buffers and the profile format.
#include <catch2/catch.hpp>

#include <cmath>

#include "codegen/codegen.h"
#include "codegen/report.h"
#include "codegen/targets.h"
#include "importer/importer.h"
#include "optimizer/optimizer.h"

using namespace tinyc;

static const std::string kModels = std::string(TINYC_SOURCE_DIR) + "/tests/models";

TEST_CASE("report: each layer's live buffers add up to what the planner counts, on every own model") {
  for (const auto& dir : {"mlp", "cnn_bn", "resnet", "dscnn", "gru_kws", "lstm_har"}) {
    Graph g = import_model(kModels + "/" + dir + "/model.onnx");
    optimize(g);
    CodegenOptions co;
    co.name = "m";
    Generated gen = generate(g, co);
    const nlohmann::json r = make_report(g, gen, *find_target("cortex-m4"));
    for (const auto& l : r["layers"]) {
      size_t sum = 0;
      for (const auto& b : l["live"]) sum += b["bytes"].get<size_t>();
      INFO(dir << " layer " << l["index"]);
      CHECK(sum == l["live_bytes"].get<size_t>());
    }
    CHECK(r["budgets"]["ram"]["bytes"] == 128 * 1024);
  }
}

// One place turns the report's floats into JSON (the layers' SQNR in report.cpp, the outputs' in
// the command line's quantization section): the HTML report reads null as "exact".
TEST_CASE("report: a float that JSON cannot hold (an exact layer's infinite SQNR, NaN) is null") {
  CHECK(json_number(INFINITY).is_null());
  CHECK(json_number(-INFINITY).is_null());
  CHECK(json_number(NAN).is_null());
  CHECK(json_number(27.25).get<double>() == 27.25);
  CHECK(json_number(-0.0).is_number_float());
}

TEST_CASE("report: a profile is CSV 'layer,instructions[,name]'") {
  const auto p = parse_profile_csv("layer,instructions,name\n0,120,conv\n# note\n2,7\r\n2,3\n");
  REQUIRE(p.size() == 2);
  CHECK(p.at(0).instructions == 120);
  CHECK(p.at(0).name == "conv");
  CHECK(p.at(2).instructions == 10);
  CHECK_THROWS_AS(parse_profile_csv("0;1\n"), std::invalid_argument);
  CHECK_THROWS_AS(parse_profile_csv("layer,instructions\n-1,5\n"), std::invalid_argument);
}
