#pragma once
/// \file
/// A small valid quantized tensor that the io tests break one field at a time.

#include <vector>

#include "io/quantized_tensor.h"

namespace shrink::testing {

/// Per channel (axis 0) int8 [3, 2] on the grid [-127, 127], scales [0.5, 0.25, 2], zero points 0.
inline io::QuantizedTensor small_valid_quantized() {
  io::QuantizedTensor q;
  q.name = "fc.weight";
  q.data = from_vector(std::vector<std::int8_t>{-127, 0, 5, 127, 1, -1}, {3, 2});
  q.scale = from_vector(std::vector<float>{0.5f, 0.25f, 2.0f}, {3});
  q.zero_point = from_vector(std::vector<float>{0.0f, 0.0f, 0.0f}, {3});
  q.axis = 0;
  q.qmin = -127;
  q.qmax = 127;
  return q;
}

}  // namespace shrink::testing
