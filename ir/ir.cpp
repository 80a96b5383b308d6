#include "ir/ir.h"

#include <fmt/format.h>

#include <cmath>
#include <type_traits>

namespace tinyc {

void quantize_multiplier(double real, int32_t* multiplier, int32_t* shift) {
  *multiplier = 0, *shift = 0;
  if (real == 0.0) return;
  int e = 0;
  const double q = std::frexp(real, &e);
  int64_t fixed = std::llround(q * (int64_t(1) << 31));
  if (fixed == (int64_t(1) << 31)) fixed /= 2, ++e;
  if (e < -31) return;  // too small: the product rounds to 0
  if (e > 30) e = 30, fixed = INT32_MAX;
  *multiplier = static_cast<int32_t>(fixed);
  *shift = e;
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float: case DType::Int32: case DType::UInt32: return 4;
    case DType::UInt8: case DType::Int8: case DType::Bool: return 1;
    case DType::UInt16: case DType::Int16: case DType::Float16: return 2;
    case DType::Int64: case DType::Double: case DType::UInt64: return 8;
    default: return 0;
  }
}

const char* dtype_c_type(DType t) {
  switch (t) {
    case DType::Float: return "float";
    case DType::Double: return "double";
    case DType::Int8: return "int8_t";
    case DType::Int16: return "int16_t";
    case DType::Int32: return "int32_t";
    case DType::Int64: return "int64_t";
    case DType::UInt8: return "uint8_t";
    case DType::UInt16: return "uint16_t";
    case DType::UInt32: return "uint32_t";
    case DType::UInt64: return "uint64_t";
    case DType::Bool: return "bool";
    case DType::Float16: return "uint16_t";
    default: return "void";
  }
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float: return "float32";
    case DType::Double: return "float64";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::UInt16: return "uint16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::String: return "string";
    default: return "undefined";
  }
}

int64_t num_elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  if (s.empty()) return "scalar";
  return fmt::format("{}", fmt::join(s, "x"));
}

template <class F>
static void for_each_value(const Tensor& t, F f) {
  const int64_t n = num_elements(t.shape);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::Float: f(t.as<float>()[i]); break;
      case DType::Double: f(t.as<double>()[i]); break;
      case DType::Int8: f(t.as<int8_t>()[i]); break;
      case DType::Int16: f(t.as<int16_t>()[i]); break;
      case DType::Int32: f(t.as<int32_t>()[i]); break;
      case DType::Int64: f(t.as<int64_t>()[i]); break;
      case DType::UInt8: f(t.as<uint8_t>()[i]); break;
      case DType::UInt16: f(t.as<uint16_t>()[i]); break;
      case DType::UInt32: f(t.as<uint32_t>()[i]); break;
      case DType::UInt64: f(t.as<uint64_t>()[i]); break;
      case DType::Bool: f(t.as<bool>()[i]); break;
      default: throw ModelError(fmt::format("tensor '{}': {} values are not supported here",
                                            t.name, dtype_name(t.dtype)));
    }
  }
}

std::vector<int64_t> Tensor::ints() const {
  std::vector<int64_t> v;
  for_each_value(*this, [&](auto x) {
    if constexpr (std::is_floating_point_v<decltype(x)>)  // an int64 input given as floats
      if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
        throw ModelError(fmt::format("tensor '{}': {} is not an int64 value", name, x));
    v.push_back(static_cast<int64_t>(x));
  });
  return v;
}

std::vector<double> Tensor::floats() const {
  std::vector<double> v;
  for_each_value(*this, [&](auto x) { v.push_back(static_cast<double>(x)); });
  return v;
}

int64_t Node::get_int(const std::string& a, int64_t def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.i;
}

float Node::get_float(const std::string& a, float def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.f;
}

std::string Node::get_string(const std::string& a, const std::string& def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.s;
}

std::vector<int64_t> Node::get_ints(const std::string& a, std::vector<int64_t> def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.ints;
}

std::vector<float> Node::get_floats(const std::string& a, std::vector<float> def) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? def : it->second.floats;
}

std::string Node::label() const { return fmt::format("node '{}' ({})", name, op); }

Tensor& Graph::tensor(const std::string& n) {
  auto it = tensors.find(n);
  if (it == tensors.end()) throw ModelError(fmt::format("tensor '{}' is not defined", n));
  return it->second;
}

const Tensor& Graph::tensor(const std::string& n) const {
  return const_cast<Graph*>(this)->tensor(n);
}

bool Graph::is_const(const std::string& n) const {
  auto it = tensors.find(n);
  return it != tensors.end() && it->second.is_const;
}

}  // namespace tinyc
