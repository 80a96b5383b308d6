#include "importer/importer.h"
#include "runtime/tinyc/tinyc.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

// libonnx 1.12 exports this overload but its header does not declare it; it is the one that lets
// the checker find external data beside the model instead of in the working folder.
namespace onnx::checker {
void check_model(const ModelProto& model, CheckerContext& ctx);
}

namespace tinyc {
namespace fs = std::filesystem;

namespace {

constexpr int kMinOpset = 7, kMaxOpset = 17;
constexpr uint64_t kMaxTensorBytes = uint64_t(1) << 30;  // refuse larger tensors

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw IoError(fmt::format("cannot read '{}': it is a folder", path));
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(fmt::format("cannot read '{}'", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Shape dims_of(const onnx::TensorProto& t) {
  Shape s;
  for (int64_t d : t.dims()) {
    if (d < 0) throw ModelError(fmt::format("tensor '{}': negative dimension {}", t.name(), d));
    s.push_back(d);
  }
  return s;
}

// Bytes of an external-data tensor: only files inside the model's folder.
std::string external_bytes(const onnx::TensorProto& t, const fs::path& dir) {
  std::string location;
  uint64_t offset = 0, length = UINT64_MAX;
  auto number = [&](const std::string& v) -> uint64_t {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19)
      throw ModelError(fmt::format("tensor '{}': external data offset or length '{}' is not a number", t.name(), v));
    return std::stoull(v);
  };
  for (const auto& e : t.external_data()) {
    if (e.key() == "location") location = e.value();
    else if (e.key() == "offset") offset = number(e.value());
    else if (e.key() == "length") length = number(e.value());
  }
  const fs::path rel(location);
  if (location.empty() || rel.is_absolute() || rel.lexically_normal().string().rfind("..", 0) == 0)
    throw ModelError(fmt::format("tensor '{}': external data path '{}' leaves the model's folder",
                                 t.name(), location));
  // Both sides as real paths (symlinks and the working folder resolved): a link inside the folder
  // that points out of it is outside, however the model's path was spelled.
  std::error_code ec;
  const fs::path base = fs::canonical(fs::absolute(dir.empty() ? fs::path(".") : dir, ec), ec);
  if (ec) throw IoError(fmt::format("cannot resolve the model's folder '{}'", dir.string()));
  const fs::path full = fs::canonical(base / rel, ec);
  if (ec) throw IoError(fmt::format("tensor '{}': cannot read external data '{}'", t.name(), location));
  const fs::path inside = full.lexically_relative(base);
  if (inside.empty() || *inside.begin() == ".." || inside == ".")
    throw ModelError(fmt::format("tensor '{}': external data '{}' leaves the model's folder",
                                 t.name(), location));
  const std::string all = read_file(full.string());
  if (offset > all.size() || (length != UINT64_MAX && length > all.size() - offset))
    throw ModelError(fmt::format("tensor '{}': external data range is outside '{}'", t.name(), location));
  return all.substr(offset, length == UINT64_MAX ? std::string::npos : length);
}

// Bytes a tensor declares (shape x element size), checked against tinyc's cap before anything is
// allocated: a hostile shape must not make tinyc ask for terabytes.
uint64_t declared_bytes(const onnx::TensorProto& p) {
  const size_t es = dtype_size(static_cast<DType>(p.data_type()));
  if (es == 0)
    throw ModelError(fmt::format("tensor '{}': element type {} is not supported", p.name(),
                                 dtype_name(static_cast<DType>(p.data_type()))));
  uint64_t n = 1;
  for (int64_t d : dims_of(p)) {
    if (d != 0 && n > kMaxTensorBytes / static_cast<uint64_t>(d))
      throw ModelError(fmt::format("tensor '{}' is larger than tinyc accepts (1 GiB)", p.name()));
    n *= static_cast<uint64_t>(d);
  }
  if (n * es > kMaxTensorBytes)
    throw ModelError(fmt::format("tensor '{}' is larger than tinyc accepts (1 GiB)", p.name()));
  return n * es;
}

Tensor tensor_from_proto(const onnx::TensorProto& p, const fs::path& dir) {
  Tensor t;
  t.name = p.name();
  t.dtype = static_cast<DType>(p.data_type());
  t.shape = dims_of(p);
  t.has_shape = true;
  t.is_const = true;
  const size_t bytes = declared_bytes(p), es = dtype_size(t.dtype), n = bytes / es;
  auto check_count = [&](size_t have) {
    if (have != n)
      throw ModelError(fmt::format("tensor '{}': {} values for shape {}", t.name, have, shape_str(t.shape)));
  };
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    const std::string raw = external_bytes(p, dir);
    if (raw.size() != bytes)
      throw ModelError(fmt::format("tensor '{}': {} bytes of external data for shape {}", t.name,
                                   raw.size(), shape_str(t.shape)));
    t.data.assign(raw.begin(), raw.end());
  } else if (p.has_raw_data()) {
    if (p.raw_data().size() != bytes)
      throw ModelError(fmt::format("tensor '{}': {} bytes of data for shape {} of {}", t.name,
                                   p.raw_data().size(), shape_str(t.shape), dtype_name(t.dtype)));
    t.data.assign(p.raw_data().begin(), p.raw_data().end());  // no memcpy: an empty tensor's data() is null
  } else {
    auto store = [&](const auto& field, auto tag) {
      using T = decltype(tag);
      check_count(static_cast<size_t>(field.size()));
      t.data.resize(bytes);
      for (size_t i = 0; i < n; ++i) {
        const T v = static_cast<T>(field.Get(static_cast<int>(i)));
        std::memcpy(t.data.data() + i * es, &v, es);
      }
    };
    switch (t.dtype) {
      case DType::Float: store(p.float_data(), float{}); break;
      case DType::Double: store(p.double_data(), double{}); break;
      case DType::Int64: store(p.int64_data(), int64_t{}); break;
      case DType::UInt32: store(p.uint64_data(), uint32_t{}); break;
      case DType::UInt64: store(p.uint64_data(), uint64_t{}); break;
      case DType::Int32: store(p.int32_data(), int32_t{}); break;
      case DType::Int16: store(p.int32_data(), int16_t{}); break;
      case DType::Int8: store(p.int32_data(), int8_t{}); break;
      case DType::UInt16: case DType::Float16: store(p.int32_data(), uint16_t{}); break;
      case DType::UInt8: store(p.int32_data(), uint8_t{}); break;
      case DType::Bool: store(p.int32_data(), bool{}); break;
      default: throw ModelError(fmt::format("tensor '{}': unsupported type", t.name));
    }
  }
  return t;
}

Attr attr_from_proto(const onnx::AttributeProto& a, const fs::path& dir) {
  Attr r;
  switch (a.type()) {
    case onnx::AttributeProto::INT: r.kind = Attr::Int; r.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: r.kind = Attr::Float; r.f = a.f(); break;
    case onnx::AttributeProto::STRING: r.kind = Attr::String; r.s = a.s(); break;
    case onnx::AttributeProto::INTS:
      r.kind = Attr::Ints;
      r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      r.kind = Attr::Floats;
      r.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::STRINGS:
      r.kind = Attr::Strings;
      r.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case onnx::AttributeProto::TENSOR:
      r.kind = Attr::TensorValue;
      r.t = std::make_shared<Tensor>(tensor_from_proto(a.t(), dir));
      break;
    default: r.kind = Attr::Other; break;
  }
  return r;
}

// Fills dtype and shape from a ValueInfo when it is fully static.
void apply_value_info(Tensor& t, const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type()) return;
  const auto& tt = v.type().tensor_type();
  t.dtype = static_cast<DType>(tt.elem_type());
  if (!tt.has_shape()) return;
  Shape s;
  for (const auto& d : tt.shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0) return;
    s.push_back(d.dim_value());
  }
  t.shape = s;
  t.has_shape = true;
}

// Gives every graph input a static shape: the user's --input-shape, a batch dimension of 1, or an
// error naming the input.
void fix_input_shapes(onnx::ModelProto& m, const ImportOptions& opts,
                      const std::set<std::string>& initializers) {
  for (auto& in : *m.mutable_graph()->mutable_input()) {
    if (initializers.count(in.name()) || !in.type().has_tensor_type()) continue;
    auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
    auto it = opts.input_shapes.find(in.name());
    if (it != opts.input_shapes.end()) {
      shape->clear_dim();
      for (int64_t d : it->second) shape->add_dim()->set_dim_value(d);
      continue;
    }
    for (int i = 0; i < shape->dim_size(); ++i) {
      auto* d = shape->mutable_dim(i);
      if (d->has_dim_value() && d->dim_value() >= 0) continue;
      if (i == 0) {
        spdlog::info("input '{}': dynamic batch dimension '{}' set to 1", in.name(), d->dim_param());
        d->set_dim_value(1);
      } else {
        throw ModelError(fmt::format(
            "input '{}': dimension {} ('{}') is not fixed; give it with --input-shape {}=...",
            in.name(), i, d->dim_param(), in.name()));
      }
    }
  }
}

// ONNX 1.12 knows opsets up to 17. A model of opset 18 whose operators are all unchanged since 17
// means the same at 17, so it is relabelled.
void downgrade_opset18(onnx::ModelProto& m) {
  static const std::set<std::string> changed_in_18 = {
      "ReduceMax", "ReduceMin", "ReduceMean", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
      "ReduceLogSumExp", "ReduceSumSquare", "Split", "Pad", "Resize", "ScatterND", "ScatterElements",
      "OptionalHasElement", "OptionalGetElement", "LpPool", "Col2Im", "CenterCropPad", "BitwiseAnd",
      "BitwiseOr", "BitwiseXor", "BitwiseNot", "GroupNormalization", "Mish"};
  for (const auto& n : m.graph().node())
    if ((n.domain().empty() || n.domain() == "ai.onnx") && changed_in_18.count(n.op_type())) return;
  for (auto& o : *m.mutable_opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") o.set_version(kMaxOpset);
  spdlog::info("opset 18 model uses no operator changed since opset 17: compiled as opset 17");
}

// What ONNX's checker and shape inference do not survive or name well: an operator without a schema
// (the checker's message omits the node), window attributes that ONNX's shape inference divides
// by, and a Slice whose constant axes or steps are shorter than its starts (which ONNX's shape
// inference indexes them by). Names the node.
void check_nodes_before_onnx(const onnx::ModelProto& m, int opset) {
  std::map<std::string, double> lengths;  // of the constants shape inference reads
  auto length = [](const onnx::TensorProto& t) {
    double n = 1;
    for (int64_t d : t.dims()) n *= static_cast<double>(d);
    return n;
  };
  for (const auto& t : m.graph().initializer()) lengths[t.name()] = length(t);
  for (const auto& n : m.graph().node())
    if (n.op_type() == "Constant" && n.output_size() == 1)
      for (const auto& a : n.attribute())
        if (a.name() == "value" && a.has_t()) lengths[n.output(0)] = length(a.t());
  for (int i = 0; i < m.graph().node_size(); ++i) {
    const auto& n = m.graph().node(i);
    const std::string label =
        fmt::format("node '{}' ({})", n.name().empty() ? fmt::format("{}_{}", n.op_type(), i) : n.name(), n.op_type());
    const bool onnx_domain = n.domain().empty() || n.domain() == "ai.onnx";
    if (onnx_domain && !onnx::OpSchemaRegistry::Schema(n.op_type(), opset, ""))
      throw ModelError(fmt::format("{}: operator {} is not supported (no such ONNX operator at opset {})", label,
                                   n.op_type(), opset));
    for (const auto& a : n.attribute()) {
      const bool positive_ints = a.name() == "strides" || a.name() == "dilations" || a.name() == "kernel_shape";
      for (int64_t v : a.ints())
        if (positive_ints && v < 1)
          throw ModelError(fmt::format("{}: {} must be positive, not {}", label, a.name(), v));
      if (a.name() == "group" && a.i() < 1)
        throw ModelError(fmt::format("{}: group must be positive, not {}", label, a.i()));
      if (a.name() == "blocksize" && (a.i() < 1 || a.i() >= (int64_t(1) << 31)))  // ONNX divides by its square
        throw ModelError(fmt::format("{}: blocksize must be from 1 to 2^31 - 1, not {}", label, a.i()));
    }
    if (onnx_domain && n.op_type() == "Slice") {
      std::set<double> seen;
      for (const auto& a : n.attribute())
        if (a.name() == "starts" || a.name() == "ends" || a.name() == "axes") seen.insert(a.ints_size());
      for (int k = 1; k < std::min(n.input_size(), 5); ++k)
        if (lengths.count(n.input(k))) seen.insert(lengths.at(n.input(k)));
      if (seen.size() > 1) throw ModelError(fmt::format("{}: starts, ends, axes and steps differ in length", label));
    }
  }
}

// Where libonnx 1.12's shape inference crashes, its schemas check first (once a process): Conv,
// ConvTranspose, ConvInteger and QLinearConv take the kernel from the weights' shape and read past
// its vectors when the weights have more dimensions than the input, or fewer.
void guard_onnx_inference() {
  static const bool done = [] {
    std::set<const onnx::OpSchema*> seen;
    for (auto [op, w] : {std::pair<const char*, size_t>{"Conv", 1}, {"ConvTranspose", 1}, {"ConvInteger", 1},
                               {"QLinearConv", 3}})
      for (int v = 1; v <= kMaxOpset; ++v) {
        auto* s = const_cast<onnx::OpSchema*>(onnx::OpSchemaRegistry::Schema(op, v, ""));
        if (!s || !seen.insert(s).second) continue;
        s->TypeAndShapeInferenceFunction([inner = s->GetTypeAndShapeInferenceFunction(), w = w](onnx::InferenceContext& ctx) {
          if (onnx::hasInputShape(ctx, 0) && onnx::hasInputShape(ctx, w) &&
              onnx::getInputShape(ctx, 0).dim_size() != onnx::getInputShape(ctx, w).dim_size())
            fail_shape_inference("the input and the weights have different ranks");
          if (inner) inner(ctx);
        });
      }
    // Gemm's (before opset 7 at least) reads two dimensions of its inputs unchecked.
    for (int v = 1; v <= kMaxOpset; ++v) {
      auto* s = const_cast<onnx::OpSchema*>(onnx::OpSchemaRegistry::Schema("Gemm", v, ""));
      if (!s || !seen.insert(s).second) continue;
      s->TypeAndShapeInferenceFunction([inner = s->GetTypeAndShapeInferenceFunction()](onnx::InferenceContext& ctx) {
        for (size_t i : {0, 1})
          if (onnx::hasInputShape(ctx, i) && onnx::getInputShape(ctx, i).dim_size() != 2)
            fail_shape_inference("input ", i, " does not have rank 2");
        if (inner) inner(ctx);
      });
    }
    // Data propagation (Shape's crashed) reads the inputs' types, null when the shape inference of
    // the node that makes an input failed (and was skipped): it skips then too.
    for (const char* op : {"Shape", "Size", "Cast", "Concat", "Gather", "Slice", "Squeeze", "Unsqueeze", "Add",
                           "Sub", "Mul"})
      for (int v = 1; v <= kMaxOpset; ++v) {
        auto* s = const_cast<onnx::OpSchema*>(onnx::OpSchemaRegistry::Schema(op, v, ""));
        if (!s || !seen.insert(s).second || !s->has_data_propagation_function()) continue;
        s->PartialDataPropagationFunction([inner = s->GetDataPropagationFunction()](onnx::DataPropagationContext& ctx) {
          for (size_t i = 0; i < ctx.getNumInputs(); ++i)
            if (!ctx.getInputType(i)) return;
          inner(ctx);
        });
      }
    return true;
  }();
  (void)done;
}

}  // namespace

// ONNX Runtime's com.microsoft QLinearSigmoid, QLinearConcat and QGemm are read as the
// DequantizeLinear -> Sigmoid / Concat / Gemm -> QuantizeLinear they compute (QGemm's int32 bias C
// at scale a_scale * b_scale, its output float without y_scale); the quantizer then takes them to
// int8 as any QDQ model. Other nodes, and these with scales that are not constants, stay as they are.
static std::vector<Node> as_qdq(Graph& g, const Node& n) {
  const bool sigmoid = n.op == "QLinearSigmoid", concat = n.op == "QLinearConcat", gemm = n.op == "QGemm";
  if (n.domain != "com.microsoft" || !(sigmoid || concat || gemm) || n.outputs.size() != 1) return {n};
  std::vector<Node> out;
  auto fresh = [&](const std::string& base, DType t) {
    std::string name = base;
    for (int i = 0; g.tensors.count(name); ++i) name = fmt::format("{}_{}", base, i);
    Tensor& x = g.tensors[name];
    x.name = name, x.dtype = t;
    return name;
  };
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& y, const std::string& tag) {
    Node m;
    m.op = op, m.name = n.name + "/" + tag, m.inputs = std::move(in), m.outputs = {y};
    out.push_back(m);
    return &out.back();
  };
  auto dequantize = [&](const std::string& x, const std::string& scale, const std::string& zp, const std::string& tag) {
    const std::string f = fresh(x + "/dequantized", DType::Float);
    node("DequantizeLinear", {x, scale, zp}, f, "dequantize_" + tag);
    return f;
  };
  const std::string y = n.outputs[0];
  std::vector<std::string> in = n.inputs;
  if (sigmoid) {
    if (in.size() != 5) return {n};
    const std::string f = fresh(y + "/float", DType::Float);
    node("Sigmoid", {dequantize(in[0], in[1], in[2], "x")}, f, "sigmoid");
    node("QuantizeLinear", {f, in[3], in[4]}, y, "quantize");
    return out;
  }
  if (concat) {
    if (in.size() < 5 || (in.size() - 2) % 3) return {n};
    std::vector<std::string> xs;
    for (size_t i = 2; i < in.size(); i += 3) xs.push_back(dequantize(in[i], in[i + 1], in[i + 2], std::to_string(xs.size())));
    const std::string f = fresh(y + "/float", DType::Float);
    Node* c = node("Concat", xs, f, "concat");
    if (n.attrs.count("axis")) c->attrs["axis"] = n.attrs.at("axis");
    node("QuantizeLinear", {f, in[0], in[1]}, y, "quantize");
    return out;
  }
  // QGemm: A, a_scale, a_zero_point, B, b_scale, b_zero_point, C, y_scale, y_zero_point.
  in.resize(9);
  auto constant = [&](const std::string& t) { return !t.empty() && g.tensors.count(t) && g.is_const(t); };
  if (!constant(in[1]) || !constant(in[4]) || num_elements(g.tensor(in[1]).shape) != 1 ||
      num_elements(g.tensor(in[4]).shape) < 1 || g.tensor(in[1]).dtype != DType::Float || g.tensor(in[4]).dtype != DType::Float)
    return {n};
  const bool trans_b = n.get_int("transB", 0) != 0;
  const std::string a = dequantize(in[0], in[1], in[2], "a");
  const std::string b = dequantize(in[3], in[4], in[5], "b");
  out.back().attrs["axis"].kind = Attr::Int, out.back().attrs["axis"].i = trans_b ? 0 : 1;  // per output column
  std::vector<std::string> gemm_in{a, b};
  if (!in[6].empty()) {
    const std::vector<double> sa = g.tensor(in[1]).floats(), sb = g.tensor(in[4]).floats();
    const std::string s = fresh(n.name + "/c_scale", DType::Float), z = fresh(n.name + "/c_zero_point", DType::Int32);
    Tensor &ts = g.tensor(s), &tz = g.tensor(z);
    ts.is_const = tz.is_const = ts.has_shape = tz.has_shape = true;
    ts.shape = tz.shape = sb.size() == 1 ? Shape{} : Shape{int64_t(sb.size())};
    for (double v : sb) {
      const float c = float(sa.at(0)) * float(v);
      ts.data.insert(ts.data.end(), reinterpret_cast<const uint8_t*>(&c), reinterpret_cast<const uint8_t*>(&c) + 4);
    }
    tz.data.assign(sb.size() * 4, 0);
    gemm_in.push_back(dequantize(in[6], s, z, "c"));
    if (sb.size() > 1) out.back().attrs["axis"].kind = Attr::Int, out.back().attrs["axis"].i = 0;
  }
  const std::string f = in[7].empty() ? y : fresh(y + "/float", DType::Float);
  Node* m = node("Gemm", gemm_in, f, "gemm");
  for (const char* k : {"alpha", "transA", "transB"})
    if (n.attrs.count(k)) m->attrs[k] = n.attrs.at(k);
  if (!in[7].empty()) node("QuantizeLinear", {f, in[7], in[8]}, y, "quantize");
  return out;
}

Graph import_model(const std::string& path, const ImportOptions& opts) {
  return import_model_bytes(read_file(path), path, opts);
}

Graph import_model_bytes(const std::string& bytes, const std::string& path, const ImportOptions& opts) {
  onnx::ModelProto m;
  if (bytes.empty() || !m.ParseFromString(bytes))
    throw ModelError(fmt::format("'{}' is not a valid ONNX model (cannot parse the protobuf)", path));
  if (!m.has_graph()) throw ModelError(fmt::format("'{}' has no graph", path));
  int opset = 0;
  for (const auto& o : m.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  }
  if (opset == 0) opset = 1;
  if (opset == kMaxOpset + 1) downgrade_opset18(m);
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = static_cast<int>(o.version());
  if (opset < 1)
    throw ModelError(fmt::format("opset {} is not an ONNX opset (tinyc supports {} to {})", opset, kMinOpset, kMaxOpset));
  if (opset > kMaxOpset)
    throw ModelError(fmt::format("opset {} is newer than tinyc supports ({} to {})", opset, kMinOpset, kMaxOpset));
  const fs::path dir = fs::path(path).parent_path();
  auto check = [&] {
    try {
      onnx::checker::CheckerContext ctx;
      ctx.set_model_dir(dir.string());
      onnx::checker::check_model(m, ctx);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      msg = msg.substr(0, msg.find('\n'));
      throw ModelError(fmt::format("the ONNX checker rejects the model: {}", msg));
    }
  };
  if (opset < kMinOpset) {
    check();  // the version converter trusts its input: a cycle or a missing opset crashes it
    std::set<std::string> made;  // and so does an output that nothing makes, which the checker lets by
    for (const auto& v : m.graph().input()) made.insert(v.name());
    for (const auto& t : m.graph().initializer()) made.insert(t.name());
    for (const auto& n : m.graph().node()) made.insert(n.output().begin(), n.output().end());
    for (const auto& o : m.graph().output())
      if (!made.count(o.name())) throw ModelError(fmt::format("output '{}' is never produced", o.name()));
    check_nodes_before_onnx(m, opset);
    guard_onnx_inference();
    try {
      onnx::ModelProto copy = m;  // and its adapters trust the shapes (a Gemm of a scalar crashed it)
      onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(false, 1));
      m = onnx::version_conversion::ConvertVersion(m, kMinOpset);
    } catch (const std::exception& e) {
      const std::string msg = e.what();
      throw ModelError(fmt::format("cannot upgrade opset {} to {}: {}", opset, kMinOpset, msg.substr(0, msg.find('\n'))));
    }
    opset = kMinOpset;
  }
  // Initializers first: their sizes, data and external files are tinyc's to check, before the
  // ONNX checker (which resolves external data against the working folder) sees them.
  std::set<std::string> initializers;
  uint64_t total = 0;
  for (const auto& t : m.graph().initializer()) {
    total += declared_bytes(t);
    if (total > kMaxTensorBytes)
      throw ModelError(fmt::format("tensor '{}': the initializers together are larger than tinyc accepts (1 GiB)",
                                   t.name()));
    initializers.insert(t.name());
  }
  std::vector<Tensor> weights;
  for (const auto& t : m.graph().initializer()) weights.push_back(tensor_from_proto(t, dir));
  check_nodes_before_onnx(m, opset);
  fix_input_shapes(m, opts, initializers);
  check();
  guard_onnx_inference();
  try {
    onnx::ShapeInferenceOptions so(false, 0, true);
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), so);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    throw ModelError(fmt::format("ONNX shape inference fails: {}", msg.substr(0, msg.find('\n'))));
  }

  const auto& gp = m.graph();
  Graph g;
  g.name = gp.name();
  g.opset = opset;
  for (auto& t : weights) g.tensors[t.name] = std::move(t);
  auto declare = [&](const std::string& name) -> Tensor& {
    Tensor& t = g.tensors[name];
    t.name = name;
    return t;
  };
  for (const auto& v : gp.input()) {
    if (initializers.count(v.name())) continue;
    Tensor& t = declare(v.name());
    apply_value_info(t, v);
    if (!t.has_shape) throw ModelError(fmt::format("input '{}' has no static shape", v.name()));
    uint64_t n = std::max<size_t>(dtype_size(t.dtype), 1);
    for (int64_t d : t.shape) {
      if (d != 0 && n > kMaxTensorBytes / static_cast<uint64_t>(d))
        throw ModelError(fmt::format("input '{}' is larger than tinyc accepts (1 GiB)", v.name()));
      n *= static_cast<uint64_t>(d);
    }
    g.inputs.push_back(v.name());
  }
  for (const auto& v : gp.value_info()) apply_value_info(declare(v.name()), v);
  for (const auto& v : gp.output()) {
    apply_value_info(declare(v.name()), v);
    g.outputs.push_back(v.name());
  }
  std::set<std::string> names, produced(initializers.begin(), initializers.end());
  produced.insert(g.inputs.begin(), g.inputs.end());
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    Node n;
    n.name = np.name().empty() ? fmt::format("{}_{}", np.op_type(), i) : np.name();
    if (!names.insert(n.name).second) n.name = fmt::format("{}_{}", n.name, i);
    n.op = np.op_type();
    n.domain = np.domain();
    if (n.domain == "tinyc") throw ModelError(fmt::format("{}: domain 'tinyc' is reserved", n.label()));
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    while (!n.outputs.empty() && n.outputs.back().empty()) n.outputs.pop_back();
    for (const auto& a : np.attribute()) n.attrs[a.name()] = attr_from_proto(a, dir);
    for (const auto& o : n.outputs)
      if (!o.empty()) declare(o), produced.insert(o);
    for (Node& m : as_qdq(g, n)) g.nodes.push_back(std::move(m));
  }
  if (g.outputs.empty()) throw ModelError(fmt::format("'{}' has no graph output", path));
  std::set<std::string> listed;
  for (const auto& o : g.outputs) {
    if (!produced.count(o)) throw ModelError(fmt::format("output '{}' is never produced", o));
    if (!listed.insert(o).second) throw ModelError(fmt::format("output '{}' is listed twice", o));
  }
  for (const auto& [name, t] : g.tensors) {
    if (!t.has_shape || t.shape.size() <= size_t(kMaxRank)) continue;
    std::string where;
    for (const Node& n : g.nodes)
      if (where.empty() && (std::count(n.inputs.begin(), n.inputs.end(), name) || std::count(n.outputs.begin(), n.outputs.end(), name)))
        where = n.label() + ": ";
    throw ModelError(fmt::format("{}tensor '{}' has rank {}; tinyc supports up to {}", where, name, t.shape.size(), kMaxRank));
  }
  return g;
}

Tensor read_tensor_pb(const std::string& path) {
  onnx::TensorProto p;
  const std::string bytes = read_file(path);
  if (!p.ParseFromString(bytes)) throw IoError(fmt::format("'{}' is not a TensorProto", path));
  return tensor_from_proto(p, fs::path(path).parent_path());
}

void write_tensor_pb(const Tensor& t, const std::string& path) {
  onnx::TensorProto p;
  p.set_name(t.name);
  p.set_data_type(static_cast<int>(t.dtype));
  for (int64_t d : t.shape) p.add_dims(d);
  p.set_raw_data(std::string(t.data.begin(), t.data.end()));
  std::ofstream f(path, std::ios::binary);
  if (!f || !p.SerializeToOstream(&f)) throw IoError(fmt::format("cannot write '{}'", path));
}

}  // namespace tinyc
