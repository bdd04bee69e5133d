#pragma once
/// \file
/// Text for modules' extra_repr (internal to nn/modules).

#include <array>
#include <cstdint>
#include <string>

namespace shrink::nn::detail {

/// "(a, b)", like Python prints a tuple.
inline std::string tuple_str(const std::array<std::int64_t, 2>& p) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "(" + std::string.
  std::string s = "(";
  s += std::to_string(p[0]);
  s += ", ";
  s += std::to_string(p[1]);
  s += ")";
  return s;
}

}  // namespace shrink::nn::detail
