// Compiler stages and the command line's contract.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "codegen/codegen.h"
#include "codegen/plan.h"
#include "importer/importer.h"
#include "ops/evaluate.h"
#include "ops/op.h"
#include "optimizer/optimizer.h"

using namespace tinyc;
namespace fs = std::filesystem;

static const std::string kModels = std::string(TINYC_SOURCE_DIR) + "/tests/models";

TEST_CASE("float params print exactly") {
  CHECK(params_value(0.1f) == "0.1f");
  CHECK(params_value(3.0f) == "3.0f");
  CHECK(std::stof(params_value(1.17549435e-38f)) == 1.17549435e-38f);
  CHECK(params_value(-INFINITY) == "-INFINITY");
}

TEST_CASE("names become C identifiers and comments cannot be closed") {
  CHECK(c_identifier("mfcc-in.1") == "mfcc_in_1");
  CHECK(c_identifier("3d") == "m3d");
  CHECK(comment_safe("a */ b\nc").find("*/") == std::string::npos);
  CHECK(comment_safe("a */ b\nc").find('\n') == std::string::npos);
}

TEST_CASE("arena plan: tensors live at the same step never overlap; the plan meets the bound on a chain") {
  Graph g;
  auto add = [&](const std::string& n, int64_t elems) {
    Tensor t;
    t.name = n, t.dtype = DType::Float, t.shape = {elems}, t.has_shape = true;
    g.tensors[n] = t;
  };
  add("x", 10), add("a", 100), add("b", 50), add("c", 100), add("y", 10);
  g.inputs = {"x"}, g.outputs = {"y"};
  auto node = [&](const std::string& in, const std::string& out) {
    Node n;
    n.op = "Relu", n.inputs = {in}, n.outputs = {out};
    g.nodes.push_back(n);
  };
  node("x", "a"), node("a", "b"), node("b", "c"), node("c", "y");
  const ArenaPlan p = plan_arena(g, 16);
  CHECK(p.lower_bound == 600);  // a+b or b+c: 400 + 200 bytes
  const size_t oa = p.offset.at("a"), ob = p.offset.at("b"), oc = p.offset.at("c");
  CHECK((ob >= oa + 400 || ob + 200 <= oa));
  CHECK((oc >= ob + 200 || oc + 400 <= ob));
  CHECK(p.size <= p.lower_bound + 16);
}

// A graph of float tensors of the given sizes, built node by node, for the planner.
struct PlanGraph {
  Graph g;
  void tensor(const std::string& n, int64_t elems) {
    Tensor t;
    t.name = n, t.dtype = DType::Float, t.shape = {elems}, t.has_shape = true;
    g.tensors[n] = t;
  }
  void node(const std::vector<std::string>& in, const std::string& out) {
    Node n;
    n.op = "Relu", n.name = out, n.inputs = in, n.outputs = {out};
    g.nodes.push_back(n);
  }
};

TEST_CASE("arena plan: a node runs in place over an input that dies there, unless it is kept or read later") {
  PlanGraph p;
  for (const char* t : {"x", "a", "b", "c", "d", "y"}) p.tensor(t, 100);
  p.g.inputs = {"x"}, p.g.outputs = {"y"};
  p.node({"x"}, "a"), p.node({"a"}, "b"), p.node({"b"}, "c"), p.node({"c", "b"}, "d"), p.node({"d"}, "y");
  const std::vector<NodeMemory> mem(5, NodeMemory{0, 0, 0});
  const ArenaPlan plan = plan_arena(p.g, 16, mem);
  CHECK(plan.in_place.at("b") == "a");           // a dies at b's node
  CHECK(plan.in_place.count("c") == 0);          // b is read again by d
  CHECK(plan.in_place.at("d") == "c");           // c dies at d's node
  CHECK(plan.lower_bound == 800);                // b (over a) and c (under d) live together
  CHECK(plan.size == 800);
  CHECK(plan_arena(p.g, 16).lower_bound == 1200);  // without in place: b, c and d at d's node
  CHECK(plan_arena(p.g, 16, mem, {"a"}).in_place.count("b") == 0);
}

TEST_CASE("arena plan: an output with a lead starts that far before its input and overlaps the rest") {
  PlanGraph p;
  for (const char* t : {"x", "a", "b", "y"}) p.tensor(t, 100);
  p.g.inputs = {"x"}, p.g.outputs = {"y"};
  p.node({"x"}, "a"), p.node({"a"}, "b"), p.node({"b"}, "y");
  std::vector<NodeMemory> mem(3, NodeMemory{0, -1, 0});
  mem[1].in_place = 0, mem[1].in_place_lead = 48;
  const ArenaPlan plan = plan_arena(p.g, 16, mem);
  REQUIRE(plan.in_place.at("b") == "a");
  CHECK(plan.offset.at("a") == plan.offset.at("b") + 48);  // b's first 48 bytes lie before a
  CHECK(plan.size == 448);                                  // not 800: b overlaps a's first 352 bytes
  CHECK(plan.live_bytes == std::vector<size_t>{448, 448, 400});
  REQUIRE(plan.live[0].size() == 2);  // a, and the room kept before it
  CHECK(plan.live[0][0].tensor == "(kept for layer 1's output)");
  CHECK(plan.live[0][0].bytes == 48);
  CHECK(plan.live[0][1].tensor == "a");
  CHECK(plan.live[0][1].offset == plan.offset.at("a"));
  // A kept tensor (the caller's buffer in the int8 entry point): overlapped with a lead only.
  CHECK(plan_arena(p.g, 16, mem, {"a"}).in_place.at("b") == "a");
  mem[1].in_place_lead = 0;
  CHECK(plan_arena(p.g, 16, mem, {"a"}).in_place.count("b") == 0);
}

// The planner's own account of each step's buffers, which the report draws (report.cpp used to
// recompute the lifetimes on its own).
TEST_CASE("arena plan: each step's live buffers name the tensor each holds then, through views, in place and scratch") {
  PlanGraph p;
  for (const char* t : {"x", "a", "v", "b", "c", "y"}) p.tensor(t, 100);
  p.tensor("c", 50);
  p.g.inputs = {"x"}, p.g.outputs = {"y"};
  p.node({"x"}, "a"), p.node({"a"}, "v"), p.node({"v"}, "b"), p.node({"b"}, "c"), p.node({"c"}, "y");
  p.g.nodes[1].op = "Reshape";  // v is a's bytes
  std::vector<NodeMemory> mem(5, NodeMemory{0, -1, 0});
  mem[0].scratch = 32;          // a's node needs scratch
  mem[2].in_place = 0;          // b may take over v's buffer, which is a's
  const ArenaPlan plan = plan_arena(p.g, 16, mem);
  REQUIRE(plan.in_place.at("b") == "a");
  REQUIRE(plan.live.size() == 5);
  auto names = [&](size_t step) {
    std::vector<std::string> r;
    for (const LiveBuffer& b : plan.live[step]) r.push_back(b.tensor + ":" + std::to_string(b.bytes));
    std::sort(r.begin(), r.end());
    return r;
  };
  using V = std::vector<std::string>;
  CHECK(names(0) == V{"(scratch of layer 0):32", "a:400"});
  CHECK(names(1) == V{"a:400"});  // the view's step: a, which v reads, still lives
  CHECK(names(2) == V{"b:400"});  // b written over a
  CHECK(names(3) == V{"b:400", "c:200"});
  CHECK(names(4) == V{"c:200"});
  CHECK(plan.scratch_bytes.at(0) == 32);
  for (size_t s = 0; s < plan.live.size(); ++s) {
    size_t sum = 0;
    for (size_t k = 0; k < plan.live[s].size(); ++k) {
      const LiveBuffer& b = plan.live[s][k];
      sum += b.bytes;
      const std::string buffer = b.tensor == "b" ? "a" : b.tensor;
      CHECK(b.offset == (b.tensor[0] == '(' ? plan.scratch.at(s) : plan.offset.at(buffer)));
      if (k) CHECK(plan.live[s][k - 1].offset + plan.live[s][k - 1].bytes <= b.offset);  // in arena order, apart
    }
    CHECK(sum == plan.live_bytes[s]);
  }
}

TEST_CASE("schedule: finish the branch that frees memory before starting the other") {
  PlanGraph p;
  p.tensor("x", 10), p.tensor("a1", 1000), p.tensor("a2", 10), p.tensor("b1", 1000), p.tensor("b2", 10);
  p.tensor("y", 10);
  p.g.inputs = {"x"}, p.g.outputs = {"y"};
  // The model's order starts both wide branches before narrowing either.
  p.node({"x"}, "a1"), p.node({"x"}, "b1"), p.node({"a1"}, "a2"), p.node({"b1"}, "b2"), p.node({"a2", "b2"}, "y");
  CHECK(plan_arena(p.g, 4).lower_bound == 8040);  // a1, b1 (4000 B each) and a2 live together
  const std::vector<size_t> order = schedule(p.g, 4);
  CHECK(order == std::vector<size_t>{0, 2, 1, 3, 4});
  Graph g = p.g;
  for (size_t i = 0; i < order.size(); ++i) g.nodes[i] = p.g.nodes[order[i]];
  const ArenaPlan plan = plan_arena(g, 4);
  CHECK(plan.lower_bound == 4080);  // b1 + b2 + a2
  CHECK(plan.size == plan.lower_bound);
}

TEST_CASE("the reference evaluator reproduces the torch references of the MLP") {
  Graph g = import_model(kModels + "/mlp/model.onnx");
  optimize(g);
  const Tensor in = read_tensor_pb(kModels + "/mlp/data/test_data_set_0/input_0.pb");
  const Tensor want = read_tensor_pb(kModels + "/mlp/data/test_data_set_0/output_0.pb");
  const auto got = evaluate(g, {in});
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].shape == want.shape);
  for (int64_t i = 0; i < num_elements(want.shape); ++i)
    CHECK(got[0].as<float>()[i] == Approx(want.as<float>()[i]).margin(1e-5));
}

TEST_CASE("constant folding removes the shape arithmetic that builds the LSTM's initial state") {
  Graph g = import_model(kModels + "/lstm_har/model.onnx");
  optimize(g);
  for (const Node& n : g.nodes)
    for (const char* op : {"Shape", "Constant", "Concat", "Expand", "Unsqueeze"}) CHECK(n.op != op);
}

// ---- the command line ----

static int run(const std::string& args) {
  const int rc = std::system((std::string(TINYC_EXE) + " " + args + " 2>/dev/null").c_str());
  return WEXITSTATUS(rc);
}

static fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / fmt::format("tinyc-unit-{}-{}", name, ::getpid());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

TEST_CASE("exit codes follow the contract and failures leave no output") {
  const fs::path dir = scratch("cli");
  const std::string model = kModels + "/dscnn/model.onnx";
  const std::string out = (dir / "out").string();
  CHECK(run("--version") == 0);
  CHECK(run("compile") == 1);
  CHECK(run(fmt::format("compile {} --target nosuchcpu -o {}", model, out)) == 1);
  CHECK(run(fmt::format("compile {} --target host -o {} --name 'bad name'", model, out)) == 1);
  CHECK(run(fmt::format("compile {}/missing.onnx --target host -o {}", dir.string(), out)) == 4);
  {  // a truncated model
    std::ifstream f(model, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    std::ofstream(dir / "cut.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  CHECK(run(fmt::format("compile {}/cut.onnx --target host -o {}", dir.string(), out)) == 2);
  CHECK(run(fmt::format("compile {} --target cortex-m4 -o {} --max-ram 1K", model, out)) == 3);
  CHECK(!fs::exists(out));
  CHECK(run(fmt::format("compile {} --target cortex-m4 -o {}", model, out)) == 0);
  CHECK(fs::exists(fs::path(out) / "model.h"));
  CHECK(fs::exists(fs::path(out) / "tinyc" / "kernels.h"));
  fs::remove_all(dir);
}

// The include guard of a header: the X of its first "#ifndef X" followed by "#define X".
static std::string include_guard_of(const std::string& header) {
  const size_t at = header.find("#ifndef ");
  if (at == std::string::npos) return "";
  const size_t end = header.find('\n', at);
  const std::string guard = header.substr(at + 8, end - at - 8);
  return header.compare(end + 1, 9 + guard.size(), "#define " + guard + "\n") == 0 ? guard : "";
}

// A model named after a runtime header (tinyc_kernels: MODEL_H-style guards gave TINYC_KERNELS_H,
// the guard of tinyc/kernels.h, which NAME.cpp then skipped) or after another model's header.
TEST_CASE("include guards are tinyc's and the file's: no two headers share one, whatever the model's name") {
  Graph g = import_model(kModels + "/mlp/model.onnx");
  optimize(g);
  std::map<std::string, std::string> guards;  // guard -> header
  auto check_unique = [&](const std::string& path, const std::string& content) {
    const std::string guard = include_guard_of(content);
    INFO(path);
    REQUIRE(!guard.empty());
    const auto [it, fresh] = guards.emplace(guard, path);
    CHECK((fresh || it->second == path));
    return guard;
  };
  for (const char* name : {"tinyc_kernels", "tinyc_int8", "model", "model_weights", "Net"}) {
    CodegenOptions co;
    co.name = name;
    Graph copy = g;
    for (const GeneratedFile& f : generate(copy, co).files) {
      if (f.path.size() < 2 || f.path.compare(f.path.size() - 2, 2, ".h") != 0) continue;
      const std::string guard = check_unique(f.path, f.content);
      if (f.path.rfind("tinyc/", 0) == 0) continue;  // the runtime's own
      CHECK(guard.rfind("TINYC_GENERATED_", 0) == 0);
      std::string upper = f.path.substr(0, f.path.size() - 2);
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      CHECK(guard == "TINYC_GENERATED_" + upper + "_H");
    }
  }
  // And the one that did not build: tinyc_kernels.cpp with the guard of tinyc/kernels.h.
  const fs::path dir = scratch("guards");
  REQUIRE(run(fmt::format("compile {}/mlp/model.onnx --target host -o {} --name tinyc_kernels -q", kModels,
                          dir.string())) == 0);
  CHECK(std::system(fmt::format("c++ -std=c++17 -fsyntax-only -I {0} {0}/tinyc_kernels.cpp", dir.string()).c_str()) == 0);
  fs::remove_all(dir);
}

// ONNX names are bytes; one that is not UTF-8 (found by the fuzzer) must not make the JSON report
// throw: it is written with U+FFFD in place of the bad byte.
TEST_CASE("a name that is not UTF-8 compiles with a JSON report") {
  const fs::path dir = scratch("utf8");
  std::ifstream f(kModels + "/mlp/model.onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  size_t replaced = 0;
  for (size_t at = bytes.find("fc1"); at != std::string::npos; at = bytes.find("fc1", at)) bytes[at + 1] = '\xff', ++replaced;
  REQUIRE(replaced > 0);  // same length: the protobuf stays valid
  std::ofstream(dir / "bad.onnx", std::ios::binary) << bytes;
  const fs::path report = dir / "r.json";
  REQUIRE(run(fmt::format("compile {}/bad.onnx --target host -o {}/out --report {}", dir.string(), dir.string(),
                          report.string())) == 0);
  std::ifstream r(report);
  const nlohmann::json j = nlohmann::json::parse(r);
  CHECK(j.dump().find("f\xEF\xBF\xBD" "1") != std::string::npos);
  fs::remove_all(dir);
}

// Runs `model` with only constant folding and with all passes; both must agree.
static void check_passes_keep_outputs(const std::string& model) {
  Graph plain = import_model(kModels + "/" + model + "/model.onnx");
  fold_constants(plain);
  Graph opt = import_model(kModels + "/" + model + "/model.onnx");
  optimize(opt);
  const Tensor in = read_tensor_pb(kModels + "/" + model + "/data/test_data_set_0/input_0.pb");
  const auto a = evaluate(plain, {in});
  const auto b = evaluate(opt, {in});
  for (int64_t i = 0; i < num_elements(a[0].shape); ++i)
    CHECK(b[0].as<float>()[i] == Approx(a[0].as<float>()[i]).epsilon(1e-5).margin(1e-6));
  std::map<std::string, std::string> producer;
  for (const Node& n : opt.nodes) producer[n.outputs[0]] = n.op;
  for (const Node& n : opt.nodes) {
    for (const char* op : {"BatchNormalization", "Identity", "Dropout", "Relu", "Clip", "LeakyRelu"}) CHECK(n.op != op);
  }
}

TEST_CASE("BatchNormalization folds into Conv and every Relu fuses (the residual ones into Add), outputs unchanged") {
  check_passes_keep_outputs("cnn_bn");
  check_passes_keep_outputs("resnet");
  check_passes_keep_outputs("dscnn");
}

TEST_CASE("Identity and inference Dropout are removed; a graph output keeps its copy") {
  Graph g;
  auto add = [&](const std::string& n) {
    Tensor t;
    t.name = n, t.dtype = DType::Float, t.shape = {4}, t.has_shape = true;
    g.tensors[n] = t;
  };
  for (const char* n : {"x", "a", "b", "y"}) add(n);
  g.inputs = {"x"}, g.outputs = {"y"};
  auto node = [&](const char* op, const std::string& in, const std::string& out) {
    Node n;
    n.op = op, n.name = out, n.inputs = {in}, n.outputs = {out};
    g.nodes.push_back(n);
  };
  node("Identity", "x", "a"), node("Dropout", "a", "b"), node("Relu", "b", "y");
  remove_identities(g);
  REQUIRE(g.nodes.size() == 1);
  CHECK(g.nodes[0].op == "Relu");
  CHECK(g.nodes[0].inputs[0] == "x");
  node("Identity", "y", "z");
  add("z");
  g.outputs = {"z"};
  remove_identities(g);
  CHECK(g.nodes.size() == 2);  // the output copy stays
}

TEST_CASE("A Cast to its input's own type is removed (torch.onnx writes one after every QuantizeLinear); others stay") {
  Graph g;
  auto add = [&](const std::string& n, DType t) {
    Tensor v;
    v.name = n, v.dtype = t, v.shape = {4}, v.has_shape = true;
    g.tensors[n] = v;
  };
  add("x", DType::UInt8), add("a", DType::UInt8), add("b", DType::Float), add("y", DType::Float);
  g.inputs = {"x"}, g.outputs = {"y"};
  auto cast = [&](const std::string& in, const std::string& out, DType to) {
    Node n;
    n.op = "Cast", n.name = out, n.inputs = {in}, n.outputs = {out};
    Attr a;
    a.kind = Attr::Int, a.i = static_cast<int64_t>(to);
    n.attrs["to"] = a;
    g.nodes.push_back(n);
  };
  cast("x", "a", DType::UInt8), cast("a", "b", DType::Float), cast("b", "y", DType::Float);
  remove_identities(g);
  REQUIRE(g.nodes.size() == 2);  // uint8 -> uint8 gone; uint8 -> float stays; the output's copy stays
  CHECK(g.nodes[0].inputs[0] == "x");
  CHECK(g.nodes[0].get_int("to", 0) == static_cast<int64_t>(DType::Float));
  CHECK(g.nodes[1].outputs[0] == "y");
}

// A graph of one linear layer followed by an Add of a constant, built by hand.
static Graph linear_plus_constant(const std::string& op, const Shape& x, const Shape& w, const Shape& c) {
  Graph g;
  g.opset = 13;
  auto add = [&](const std::string& n, const Shape& s, bool constant) {
    Tensor t;
    t.name = n, t.dtype = DType::Float, t.shape = s, t.has_shape = true, t.is_const = constant;
    if (constant) {
      t.data.resize(static_cast<size_t>(num_elements(s)) * 4);
      for (int64_t i = 0; i < num_elements(s); ++i) t.as<float>()[i] = 0.25f * float(i % 7) - 0.5f;
    }
    g.tensors[n] = t;
  };
  add("x", x, false), add("w", w, true), add("c", c, true);
  g.tensors["h"].name = "h", g.tensors["y"].name = "y";
  Node a, b;
  a.op = op, a.name = "linear", a.inputs = {"x", "w"}, a.outputs = {"h"};
  b.op = "Add", b.name = "add", b.inputs = {"h", "c"}, b.outputs = {"y"};
  g.nodes = {a, b};
  g.inputs = {"x"}, g.outputs = {"y"};
  return g;
}

TEST_CASE("MatMul by a constant becomes Gemm and a per-channel Add folds into the bias") {
  struct Case {
    const char* op;
    Shape x, w, c;
    bool folds;
  };
  const Case cases[] = {{"Conv", {1, 2, 3, 3}, {3, 2, 1, 1}, {3, 1, 1}, true},
                        {"Conv", {1, 2, 3, 3}, {3, 2, 1, 1}, {1}, true},
                        {"Conv", {1, 2, 3, 3}, {3, 2, 1, 1}, {3}, false},  // broadcasts along W, not channels
                        {"MatMul", {2, 4}, {4, 3}, {3}, true},
                        {"MatMul", {2, 4}, {4, 3}, {2, 1}, false}};  // one value per row
  for (const Case& k : cases) {
    Graph plain = linear_plus_constant(k.op, k.x, k.w, k.c);
    fold_constants(plain);
    Graph opt = plain;
    optimize(opt);
    Tensor in = plain.tensor("x");
    in.data.resize(in.bytes());
    for (int64_t i = 0; i < num_elements(in.shape); ++i) in.as<float>()[i] = float(i) - 3.0f;
    const auto a = evaluate(plain, {in}), b = evaluate(opt, {in});
    for (int64_t i = 0; i < num_elements(a[0].shape); ++i) CHECK(b[0].as<float>()[i] == Approx(a[0].as<float>()[i]));
    CHECK(opt.nodes.size() == (k.folds ? 1u : 2u));
    if (std::string(k.op) == "MatMul") CHECK(opt.nodes[0].op == "Gemm");
  }
}

TEST_CASE("a zero Pad folds into the Conv after it; a Pad of ones or before a MaxPool stays") {
  for (int variant = 0; variant < 3; ++variant) {
    Graph g;
    g.opset = 13;
    auto add = [&](const std::string& n, const Shape& s, DType t, std::vector<float> v = {}) {
      Tensor x;
      x.name = n, x.dtype = t, x.shape = s, x.has_shape = true;
      if (!v.empty() || t == DType::Int64) {
        x.is_const = true;
        if (t == DType::Int64) {
          const std::vector<int64_t> pads = {0, 0, 1, 2, 0, 0, 2, 1};
          x.data.resize(pads.size() * 8);
          std::memcpy(x.data.data(), pads.data(), x.data.size());
        } else {
          x.data.resize(v.size() * 4);
          std::memcpy(x.data.data(), v.data(), x.data.size());
        }
      }
      g.tensors[n] = x;
    };
    add("x", {1, 1, 4, 4}, DType::Float);
    add("pads", {8}, DType::Int64);
    add("value", {}, DType::Float, {variant == 1 ? 1.0f : 0.0f});
    std::vector<float> w(9);
    for (int i = 0; i < 9; ++i) w[i] = 0.1f * float(i) - 0.3f;
    add("w", {1, 1, 3, 3}, DType::Float, w);
    g.tensors["p"].name = "p", g.tensors["y"].name = "y";
    Node pad, next;
    pad.op = "Pad", pad.name = "pad", pad.inputs = {"x", "pads", "value"}, pad.outputs = {"p"};
    if (variant == 2) {
      next.op = "MaxPool", next.inputs = {"p"};
      Attr k;
      k.kind = Attr::Ints, k.ints = {3, 3};
      next.attrs["kernel_shape"] = k;
    } else {
      next.op = "Conv", next.inputs = {"p", "w"};
    }
    next.name = "next", next.outputs = {"y"};
    g.nodes = {pad, next};
    g.inputs = {"x"}, g.outputs = {"y"};
    fold_constants(g);
    Graph opt = g;
    optimize(opt);
    Tensor in = g.tensor("x");
    in.data.resize(64);
    for (int i = 0; i < 16; ++i) in.as<float>()[i] = float(i % 5) - 2.0f;
    const auto a = evaluate(g, {in}), b = evaluate(opt, {in});
    REQUIRE(a[0].shape == b[0].shape);
    for (int64_t i = 0; i < num_elements(a[0].shape); ++i) CHECK(b[0].as<float>()[i] == Approx(a[0].as<float>()[i]));
    CHECK(opt.nodes.size() == (variant == 0 ? 1u : 2u));
  }
}

// Small graphs built by hand, for the passes: constants hold a fixed pattern of quarter values.
struct Builder {
  Graph g;
  Builder() { g.opset = 13; }
  std::string input(const std::string& n, const Shape& s) {
    tensor(n, s, DType::Float);
    g.inputs.push_back(n);
    return n;
  }
  std::string constant(const std::string& n, const Shape& s, float first = -0.75f) {
    Tensor& t = tensor(n, s, DType::Float);
    t.is_const = true;
    t.data.resize(static_cast<size_t>(num_elements(s)) * 4);
    for (int64_t i = 0; i < num_elements(s); ++i) t.as<float>()[i] = first + 0.25f * float(i % 9);
    return n;
  }
  std::string ints(const std::string& n, const std::vector<int64_t>& v) {
    Tensor& t = tensor(n, {static_cast<int64_t>(v.size())}, DType::Int64);
    t.is_const = true;
    t.data.resize(v.size() * 8);
    std::memcpy(t.data.data(), v.data(), t.data.size());
    return n;
  }
  std::string node(const std::string& op, const std::vector<std::string>& in, const std::string& out,
                   const std::map<std::string, std::vector<int64_t>>& attrs = {}) {
    Node n;
    n.op = op, n.name = out, n.inputs = in, n.outputs = {out};
    for (const auto& [k, v] : attrs) {  // lists, but a scalar for the attributes that are one
      Attr a;
      a.kind = Attr::Ints, a.ints = v;
      if (k == "group" || k == "transA" || k == "transB" || k == "axis" || k == "hidden_size" || k == "layout")
        a.kind = Attr::Int, a.i = v.at(0);
      n.attrs[k] = a;
    }
    tensor(out, {}, DType::Float).has_shape = false;
    g.nodes.push_back(n);
    return out;
  }
  Tensor& tensor(const std::string& n, const Shape& s, DType t) {
    Tensor& x = g.tensors[n];
    x.name = n, x.dtype = t, x.shape = s, x.has_shape = true;
    return x;
  }
};

// Optimizes b's graph (output y), checks the evaluator gives the same outputs before and after
// (rtol 1e-5) and returns the optimized graph's operators.
static std::vector<std::string> optimized_ops(Builder& b, Graph* out = nullptr) {
  b.g.outputs = {"y"};
  fold_constants(b.g);
  Graph opt = b.g;
  optimize(opt);
  std::vector<Tensor> in;
  for (const auto& name : b.g.inputs) {
    Tensor t = b.g.tensor(name);
    t.data.resize(t.bytes());
    for (int64_t i = 0; i < num_elements(t.shape); ++i) t.as<float>()[i] = float((i * 7) % 11) / 4 - 1.25f;
    in.push_back(t);
  }
  const auto want = evaluate(b.g, in), got = evaluate(opt, in);
  REQUIRE(want[0].shape == got[0].shape);
  for (int64_t i = 0; i < num_elements(want[0].shape); ++i)
    CHECK(got[0].as<float>()[i] == Approx(want[0].as<float>()[i]).epsilon(1e-5).margin(1e-6));
  std::vector<std::string> ops;
  for (const Node& n : opt.nodes) ops.push_back(n.op);
  if (out) *out = opt;
  return ops;
}

using Ops = std::vector<std::string>;

TEST_CASE("use_final_state: a recurrent layer's last step read from Y comes from Y_h; other reads keep Y") {
  // GRU over 5 steps (hidden 4), Y [5, 1, 1, 4] squeezed to [5, 1, 4], then `last` of its steps.
  auto gru = [](Builder& b, const std::string& last) {
    b.g.outputs = {"y"};
    Node n;
    n.op = "GRU", n.name = "gru", n.outputs = {"seq"};
    n.inputs = {b.input("x", {5, 1, 3}), b.constant("w", {1, 12, 3}), b.constant("r", {1, 12, 4}, -0.5f)};
    Attr h;
    h.kind = Attr::Int, h.i = 4;
    n.attrs["hidden_size"] = h;
    b.tensor("seq", {}, DType::Float).has_shape = false;
    b.g.nodes.push_back(n);
    b.node("Squeeze", {"seq", b.ints("axes", {1})}, "s");
    if (last == "slice") {
      b.node("Slice", {"s", b.ints("starts", {-1}), b.ints("ends", {100}), b.ints("slice_axes", {0})}, "y");
    } else {
      b.ints("index", {last == "first" ? 0 : -1});
      b.g.tensors["index"].shape = {};
      b.node("Gather", {"s", "index"}, "y", {{"axis", {0}}});
    }
  };
  for (const char* last : {"gather", "slice"}) {
    Builder b;
    gru(b, last);
    Graph opt;
    CHECK(optimized_ops(b, &opt) == Ops{"GRU", "Reshape"});
    CHECK(opt.nodes[0].outputs[0].empty());  // Y is not stored
  }
  Builder b;
  gru(b, "first");
  CHECK(optimized_ops(b) == Ops{"GRU", "Squeeze", "Gather"});
}

TEST_CASE("fold_transposes: pairs cancel, size-1 moves are views, NHWC feeds Conv, a flatten's transpose goes into the weights") {
  {
    Builder b;
    b.node("Transpose", {b.input("x", {1, 2, 3, 4})}, "t1", {{"perm", {0, 2, 3, 1}}});
    b.node("Transpose", {"t1"}, "t2", {{"perm", {0, 3, 1, 2}}});
    b.node("Relu", {"t2"}, "y");
    CHECK(optimized_ops(b) == Ops{"Relu"});
  }
  {
    Builder b;
    b.node("Transpose", {b.input("x", {1, 5, 1, 3})}, "t", {{"perm", {0, 2, 1, 3}}});
    b.node("Relu", {"t"}, "y");
    CHECK(optimized_ops(b) == Ops{"Reshape", "Relu"});
  }
  {
    Builder b;
    b.node("Transpose", {b.input("x", {1, 5, 6, 3})}, "t", {{"perm", {0, 3, 1, 2}}});
    b.node("Conv", {"t", b.constant("w", {4, 3, 3, 3})}, "y", {{"pads", {1, 0, 1, 2}}, {"strides", {2, 1}}});
    Graph opt;
    CHECK(optimized_ops(b, &opt) == Ops{"Conv"});
    CHECK(opt.nodes[0].get_int("tinyc_channels_last", 0) == 1);
  }
  for (const char* flatten : {"Flatten", "Reshape"}) {
    Builder b;
    b.node("Transpose", {b.input("x", {1, 2, 3, 4})}, "t", {{"perm", {0, 2, 3, 1}}});
    if (std::string(flatten) == "Flatten") b.node("Flatten", {"t"}, "f");
    else b.node("Reshape", {"t", b.ints("shape", {1, 24})}, "f");
    b.node("MatMul", {"f", b.constant("w", {24, 5})}, "y");
    CHECK(optimized_ops(b) == Ops{flatten, "Gemm"});
  }
}

TEST_CASE("fold_mul: a constant scale after or before a Conv or Gemm goes into its weights") {
  {
    Builder b;
    b.node("Conv", {b.input("x", {1, 2, 5, 5}), b.constant("w", {3, 2, 3, 3}), b.constant("bias", {3})}, "c");
    b.node("Mul", {"c", b.constant("s", {3, 1, 1}, 0.5f)}, "y");
    CHECK(optimized_ops(b) == Ops{"Conv"});
  }
  {
    Builder b;  // per input channel, before a grouped convolution with padding
    b.node("Mul", {b.input("x", {1, 4, 5, 5}), b.constant("s", {1, 4, 1, 1}, 0.5f)}, "m");
    b.node("Conv", {"m", b.constant("w", {6, 2, 3, 3})}, "y", {{"group", {2}}, {"pads", {1, 1, 1, 1}}});
    CHECK(optimized_ops(b) == Ops{"Conv"});
  }
  {
    Builder b;
    b.node("Gemm", {b.input("x", {2, 4}), b.constant("w", {3, 4}), b.constant("bias", {3})}, "g", {{"transB", {1}}});
    b.node("Div", {"g", b.constant("s", {3}, 0.5f)}, "y");
    CHECK(optimized_ops(b) == Ops{"Gemm"});
  }
  {
    Builder b;  // a scale per row is not per channel: it stays
    b.node("Gemm", {b.input("x", {2, 4}), b.constant("w", {4, 3})}, "g");
    b.node("Mul", {"g", b.constant("s", {2, 1}, 0.5f)}, "y");
    CHECK(optimized_ops(b) == Ops{"Gemm", "Mul"});
  }
}

TEST_CASE("a Relu after a residual Add fuses into it; a Pad of -inf (or of 0 after a Relu) folds into MaxPool") {
  {
    Builder b;
    b.node("Add", {b.input("x", {1, 3, 4, 4}), b.input("x2", {1, 3, 4, 4})}, "s");
    b.node("Relu", {"s"}, "y");
    Graph opt;
    CHECK(optimized_ops(b, &opt) == Ops{"Add"});
    CHECK(opt.nodes[0].get_string("tinyc_activation", "") == "Relu");
  }
  for (float value : {-INFINITY, 0.0f}) {
    Builder b;
    b.node("Relu", {b.input("x", {1, 2, 5, 5})}, "r");
    Tensor& v = b.tensor("v", {}, DType::Float);
    v.is_const = true, v.data.resize(4);
    std::memcpy(v.data.data(), &value, 4);
    b.node("Pad", {"r", b.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1}), "v"}, "p");
    b.node("MaxPool", {"p"}, "y", {{"kernel_shape", {3, 3}}, {"strides", {2, 2}}});
    CHECK(optimized_ops(b) == Ops{"Relu", "MaxPool"});
  }
}

TEST_CASE("fold_constants evaluates what depends on constants and shapes only; dead nodes go") {
  Builder b;
  b.input("x", {2, 6});
  b.node("Shape", {"x"}, "s");                           // [2, 6]: known from the shape alone
  b.node("Gather", {"s", b.ints("one", {1})}, "six");    // [6]
  b.node("Concat", {b.ints("minus_one", {-1}), "six"}, "shape", {{"axis", {0}}});
  b.node("Reshape", {"x", "shape"}, "r");
  b.node("Add", {b.constant("c1", {6}), b.constant("c2", {6}, 0.5f)}, "c");  // constant + constant
  b.node("Mul", {"r", "c"}, "y");
  b.node("Relu", {"x"}, "unused");                        // read by nothing
  Graph opt;
  CHECK(optimized_ops(b, &opt) == Ops{"Reshape", "Mul"});
  CHECK(opt.is_const(opt.nodes[1].inputs[1]));            // the sum of the two constants
  CHECK(opt.tensors.count("unused") == 0);
}

TEST_CASE("the report counts the MACs of int8 layers as of the float layers they replace") {
  // dscnn: 1x1x49x10 input, conv 10x4 stride 2 to 8 channels, then 3x3 depthwise + pointwise pairs;
  // the totals of the float and the int8 compile must agree (and not be zero).
  const fs::path dir = scratch("macs");
  const std::string model = kModels + "/dscnn/model.onnx";
  REQUIRE(run(fmt::format("compile {} --target host -o {}/f --report {}/f.json -q", model, dir.string(), dir.string())) == 0);
  REQUIRE(run(fmt::format("compile {} --target host -o {}/q --report {}/q.json -q --quantize int8 --calibration {}",
                          model, dir.string(), dir.string(), kModels + "/dscnn/data/calib.npy")) == 0);
  auto macs = [&](const char* f) {
    std::ifstream in(dir / f);
    return nlohmann::json::parse(in)["totals"]["macs"].get<int64_t>();
  };
  CHECK(macs("f.json") > 0);
  CHECK(macs("q.json") == macs("f.json"));
  fs::remove_all(dir);
}

// Generated for one core, the code stops a build for another instruction set (its kernels'
// scratch is sized for its own), and an int8 model stops a -ffast-math build; --target host
// builds anywhere.
TEST_CASE("generated code refuses to build for another core than its target, and int8 under -ffast-math") {
  const fs::path dir = scratch("isa");
  auto builds = [&](const std::string& target, const std::string& flags, const std::string& extra = "") {
    const fs::path out = dir / target;
    REQUIRE(run(fmt::format("compile {}/mlp/model.onnx --target {} -o {} --name m -q {}", kModels, target, out.string(),
                            extra)) == 0);
    return std::system(fmt::format("arm-none-eabi-g++ -std=c++17 -fsyntax-only -mthumb {} -I {} {}/m.cpp 2> /dev/null",
                                   flags, out.string(), out.string())
                           .c_str()) == 0;
  };
  const std::string m0 = "-mcpu=cortex-m0plus -mfloat-abi=soft", m4 = "-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16",
                    m55 = "-mcpu=cortex-m55 -mfloat-abi=hard";
  CHECK(builds("cortex-m4", m4));
  CHECK(!builds("cortex-m4", m0));
  CHECK(!builds("cortex-m4", m55));
  CHECK(builds("cortex-m0plus", m0));
  CHECK(!builds("cortex-m0plus", m4));
  CHECK(builds("cortex-m55", m55));
  CHECK(!builds("cortex-m55", m4));
  for (const auto& flags : {m0, m4, m55}) CHECK(builds("host", flags));
  const std::string int8 = fmt::format("--quantize int8 --calibration {}/mlp/data/calib.npy", kModels);
  CHECK(builds("cortex-m4", m4, int8));
  CHECK(!builds("cortex-m4", m4 + " -ffast-math", int8));
  CHECK(builds("cortex-m4", m4 + " -ffast-math"));  // float: no integers from float rounding
  fs::remove_all(dir);
}

namespace {
// A kernel with every kind of tensor argument, for the test below.
struct ProbeParams {
  int32_t k;
  TINYC_PARAMS(ProbeParams, k)
};
void probe(const ProbeParams& p, const float* a, const void* b, Inputs all, int8_t* y, Outputs outs, Scratch s) {
  y[0] = int8_t(p.k + int(a[0]) + *static_cast<const int8_t*>(b) + *static_cast<const int8_t*>(all[1]));
  static_cast<int8_t*>(outs[1])[0] = int8_t(s.data ? 1 : 0);
}
}  // namespace

TEST_CASE("a kernel's signature says where each tensor comes from, on the host and in the generated call") {
  const ProbeParams p{5};
  const Lowered l = TINYC_KERNEL(p, probe);
  REQUIRE(l.kernel == "probe");
  REQUIRE(l.args.size() == 6);
  const KernelArg::Kind kinds[] = {KernelArg::FromInput, KernelArg::FromInput, KernelArg::AllInputs,
                                   KernelArg::FromOutput, KernelArg::AllOutputs, KernelArg::FromScratch};
  for (size_t i = 0; i < 6; ++i) CHECK(l.args[i].kind == kinds[i]);
  CHECK(l.args[0].index == 0);
  CHECK(l.args[1].index == 1);
  CHECK(l.args[3].index == 0);
  CHECK(std::string(l.args[0].type) == "float");
  CHECK(std::string(l.args[1].type) == "void");
  CHECK(std::string(l.args[3].type) == "int8_t");
  // On the host: inputs 0 and 1 by position, output 0, all outputs, scratch.
  const float a = 2.0f;
  const int8_t b = 3;
  int8_t y = 0, y1 = 0;
  Lowered with_scratch = l;
  with_scratch.scratch_bytes = 4;
  run_lowered(with_scratch, {&a, &b}, {&y, &y1});
  CHECK(int(y) == 5 + 2 + 3 + 3);
  CHECK(int(y1) == 1);
}
