// tinyc's intermediate representation: a topologically ordered graph of ONNX-style nodes over
// named tensors with static shapes. Every stage reads and rewrites this.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinyc {

// Element types, numbered as ONNX's TensorProto.DataType.
enum class DType : int {
  Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7,
  String = 8, Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13
};
size_t dtype_size(DType t);          // 0 for unsupported
const char* dtype_c_type(DType t);   // "float", "int8_t", ...
const char* dtype_name(DType t);     // "float32", "int8", ...

using Shape = std::vector<int64_t>;
int64_t num_elements(const Shape& s);
std::string shape_str(const Shape& s);  // "1x3x32x32"

// How an integer tensor stands for real values: real = scale * (q - zero_point), one scale and
// zero point for the tensor, or one per slice along `axis` (weights per output channel).
struct Quantization {
  std::vector<float> scale;  // empty: not quantized
  std::vector<int32_t> zero_point;
  int axis = 0;
  bool empty() const { return scale.empty(); }
};

// TFLite's QuantizeMultiplier: real = multiplier * 2^shift / 2^31, multiplier in [2^30, 2^31).
void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift);

struct Tensor {
  std::string name;
  DType dtype = DType::Undefined;
  Shape shape;
  bool has_shape = false;
  bool is_const = false;          // an initializer or a folded value: `data` holds it
  std::vector<uint8_t> data;
  Quantization quant;             // set on int8 tensors by the quantizer and the QDQ lowering

  size_t bytes() const { return static_cast<size_t>(num_elements(shape)) * dtype_size(dtype); }
  template <class T> const T* as() const { return reinterpret_cast<const T*>(data.data()); }
  template <class T> T* as() { return reinterpret_cast<T*>(data.data()); }
  std::vector<int64_t> ints() const;    // integer tensor values as int64
  std::vector<double> floats() const;   // numeric values as double
};

struct Attr {
  enum Kind { Int, Float, String, Ints, Floats, Strings, TensorValue, Other } kind = Other;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<Tensor> t;
};

struct Node {
  std::string name, op, domain;
  std::vector<std::string> inputs, outputs;  // "" marks an absent optional
  std::map<std::string, Attr> attrs;

  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t get_int(const std::string& a, int64_t def) const;
  float get_float(const std::string& a, float def) const;
  std::string get_string(const std::string& a, const std::string& def) const;
  std::vector<int64_t> get_ints(const std::string& a, std::vector<int64_t> def = {}) const;
  std::vector<float> get_floats(const std::string& a, std::vector<float> def = {}) const;
  std::string label() const;  // "'name' (Op)" for messages
};

struct Graph {
  std::string name;
  int opset = 0;
  std::map<std::string, Tensor> tensors;
  std::vector<Node> nodes;  // topological order
  std::vector<std::string> inputs, outputs;

  Tensor& tensor(const std::string& n);
  const Tensor& tensor(const std::string& n) const;
  bool is_const(const std::string& n) const;
};

// An error in the user's model: the message names the node. Exit code 2.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file that cannot be read or written. Exit code 4.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tinyc
