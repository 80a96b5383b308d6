#include "importer/npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "importer/importer.h"

namespace tinyc {

namespace {

struct NpyType {
  const char* descr;
  DType dtype;
};
constexpr NpyType kTypes[] = {
    {"<f4", DType::Float}, {"<f8", DType::Double}, {"|i1", DType::Int8}, {"<i2", DType::Int16},
    {"<i4", DType::Int32}, {"<i8", DType::Int64}, {"|u1", DType::UInt8}, {"<u2", DType::UInt16},
    {"<u4", DType::UInt32}, {"<u8", DType::UInt64}, {"|b1", DType::Bool}, {"<f2", DType::Float16}};

// The value after `key` in the header dict, up to the next delimiter.
std::string header_field(const std::string& h, const std::string& key) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t v = h.find(':', k) + 1;
  while (v < h.size() && h[v] == ' ') ++v;
  if (h[v] == '(') return h.substr(v + 1, h.find(')', v) - v - 1);
  if (h[v] == '\'') return h.substr(v + 1, h.find('\'', v + 1) - v - 1);
  return h.substr(v, h.find_first_of(",}", v) - v);
}

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError(fmt::format("cannot read '{}'", path));
  std::ostringstream ss;
  ss << f.rdbuf();
  const std::string b = ss.str();
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw IoError(fmt::format("'{}' is not a .npy file", path));
  const int major = static_cast<unsigned char>(b[6]);
  size_t hlen, start;
  if (major == 1) {
    hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    start = 10;
  } else {
    if (b.size() < 12) throw IoError(fmt::format("'{}' is truncated", path));
    hlen = 0;
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
    start = 12;
  }
  if (start + hlen > b.size()) throw IoError(fmt::format("'{}' is truncated", path));
  const std::string h = b.substr(start, hlen);
  Tensor t;
  t.name = path;
  const std::string descr = header_field(h, "descr");
  for (const auto& k : kTypes)
    if (descr == k.descr || (descr.size() == 3 && descr[0] == '=' && descr.substr(1) == std::string(k.descr).substr(1)))
      t.dtype = k.dtype;
  if (t.dtype == DType::Undefined) throw IoError(fmt::format("'{}': unsupported dtype '{}'", path, descr));
  if (header_field(h, "fortran_order") == "True") throw IoError(fmt::format("'{}': Fortran order is not supported", path));
  std::stringstream dims(header_field(h, "shape"));
  std::string d;
  while (std::getline(dims, d, ',')) {
    if (d.find_first_not_of(' ') == std::string::npos) continue;
    const long long v = std::stoll(d);
    if (v < 0) throw IoError(fmt::format("'{}': negative dimension", path));
    t.shape.push_back(v);
  }
  t.has_shape = true;
  const size_t bytes = t.bytes();
  if (b.size() - start - hlen < bytes) throw IoError(fmt::format("'{}' is truncated", path));
  t.data.assign(b.begin() + static_cast<long>(start + hlen), b.begin() + static_cast<long>(start + hlen + bytes));
  return t;
}

void write_npy(const Tensor& t, const std::string& path) {
  const char* descr = nullptr;
  for (const auto& k : kTypes)
    if (k.dtype == t.dtype) descr = k.descr;
  if (!descr) throw IoError(fmt::format("cannot write {} as .npy", dtype_name(t.dtype)));
  std::string shape;
  for (int64_t d : t.shape) shape += std::to_string(d) + ",";
  if (t.shape.size() > 1) shape.pop_back();
  std::string h = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  const char magic[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  f.write(magic, 8);
  const uint16_t len = static_cast<uint16_t>(h.size());
  f.put(static_cast<char>(len & 0xff)).put(static_cast<char>(len >> 8));
  f << h;
  f.write(reinterpret_cast<const char*>(t.data.data()), static_cast<long>(t.bytes()));
  if (!f) throw IoError(fmt::format("cannot write '{}'", path));
}

std::vector<std::vector<Tensor>> read_samples(const std::string& path, const Graph& g) {
  namespace fs = std::filesystem;
  std::vector<std::vector<Tensor>> samples;
  auto fit = [&](Tensor t, size_t k) {
    const Tensor& want = g.tensor(g.inputs.at(k));
    if (t.dtype != want.dtype || t.bytes() != want.bytes())
      throw IoError(fmt::format("'{}': a sample for input '{}' must be {} {}", path, want.name,
                                dtype_name(want.dtype), shape_str(want.shape)));
    t.name = want.name;
    t.shape = want.shape;
    return t;
  };
  if (fs::is_directory(path)) {
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(path))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    for (const auto& d : sets) {
      std::vector<Tensor> s;
      for (size_t k = 0; k < g.inputs.size(); ++k)
        s.push_back(fit(read_tensor_pb((d / fmt::format("input_{}.pb", k)).string()), k));
      samples.push_back(std::move(s));
    }
  } else if (path.size() < 4 || path.substr(path.size() - 4) != ".npy") {  // one TensorProto
    samples.push_back({fit(read_tensor_file(path), 0)});
  } else {
    if (g.inputs.size() != 1) throw IoError(fmt::format("'{}': a .npy serves single-input models only", path));
    const Tensor all = read_npy(path);
    const Tensor& want = g.tensor(g.inputs[0]);
    const size_t one = want.bytes();
    if (all.dtype != want.dtype || one == 0 || all.bytes() % one)
      throw IoError(fmt::format("'{}' does not hold samples of {} {}", path, dtype_name(want.dtype), shape_str(want.shape)));
    for (size_t off = 0; off < all.bytes(); off += one) {
      Tensor t = want;
      t.is_const = false;
      t.data.assign(all.data.begin() + static_cast<long>(off), all.data.begin() + static_cast<long>(off + one));
      samples.push_back({t});
    }
  }
  if (samples.empty()) throw IoError(fmt::format("'{}' holds no samples", path));
  return samples;
}

Tensor read_tensor_file(const std::string& path) {
  if (path.size() > 4 && path.substr(path.size() - 4) == ".npy") return read_npy(path);
  return read_tensor_pb(path);
}

}  // namespace tinyc
