#pragma once
/// \file
/// Counting what a mask prunes, for the pruner tests.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::testing {

/// Zero entries of a mask (any shape).
inline std::int64_t zeros_in(const Tensor& mask) {
  std::int64_t n = 0;
  for (float v : mask.to(DType::Float32).to_vector()) n += v == 0.0f;
  return n;
}

/// Output channels (dim 0 slices) of a weight mask that are entirely zero.
inline std::int64_t pruned_channels(const Tensor& mask) {
  const std::int64_t c = mask.size(0), per = mask.numel() / c;
  const std::vector<float> v = mask.to(DType::Float32).to_vector();
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < c; ++i) {
    bool all = true;
    for (std::int64_t k = 0; k < per; ++k) all = all && v[i * per + k] == 0.0f;
    n += all;
  }
  return n;
}

}  // namespace shrink::testing
