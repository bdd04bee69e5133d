#pragma once
/// \file
/// Element types of tensors and their mapping to C++ types.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shrink {

/// Element type of a Tensor. Float32 is the compute type of every differentiable op.
enum class DType : std::uint8_t { Float32, Int64, Int8, UInt8 };

/// Bytes per element.
constexpr std::size_t element_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Int64: return 8;
    case DType::Int8:
    case DType::UInt8: return 1;
  }
  return 0;
}

/// PyTorch-style name: "float32", "int64", "int8", "uint8".
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Int64: return "int64";
    case DType::Int8: return "int8";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

/// The DType of a C++ element type: dtype_of<float>() == DType::Float32.
template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<std::int8_t>() { return DType::Int8; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::UInt8; }

}  // namespace shrink
