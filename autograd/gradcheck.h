#pragma once
/// \file
/// gradcheck: compares the gradients backward computes with central finite differences.

#include <functional>
#include <string>

#include "autograd/tensor.h"

namespace shrink {

/// Tolerances and step of gradcheck. Float32 central differences are accurate to roughly
/// eps² · f''' + ulp(f)/eps, so the defaults suit smooth functions of O(1) values.
struct GradcheckOptions {
  double eps = 1e-3;
  double atol = 1e-3;
  double rtol = 1e-2;
  /// Seed of the random projection that turns the output into a scalar.
  std::uint64_t seed = 7;
};

/// Outcome of gradcheck: `ok`, and on failure a message naming the input, the element and both
/// values.
struct GradcheckResult {
  bool ok = true;
  std::string message;
  explicit operator bool() const { return ok; }
};

/// Checks d(sum(f(inputs) · r))/d(input) for a fixed random r against central differences, for
/// every float input that requires grad. `f` may return any shape.
GradcheckResult gradcheck(const std::function<Tensor(const TensorList&)>& f, const TensorList& inputs,
                          const GradcheckOptions& options = {});

}  // namespace shrink
