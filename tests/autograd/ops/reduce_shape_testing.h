#pragma once
/// \file
/// Helpers shared by the reduction, shape and indexing op tests: the PyTorch fixture
/// tests/fixtures/reduce_shape.json, gradcheck with a readable failure, distinct-valued inputs
/// (no ties for max/min under finite differences), error-message capture and the 1-thread vs
/// 2-thread determinism check.

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/support/op_testing.h"

namespace shrink::testing {

/// Input `name` of the reduce_shape fixture case `c`.
inline Tensor rs_input(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("reduce_shape", c).at("inputs").at(name));
}

/// Output `name` of the reduce_shape fixture case `c`.
inline Tensor rs_output(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("reduce_shape", c).at("outputs").at(name));
}

/// Attribute `name` of the fixture case `c`.
inline const nlohmann::json& rs_attr(const std::string& c, const std::string& name) {
  return fixture_case("reduce_shape", c).at("attrs").at(name);
}

/// Runs `f` on the float fixture inputs `names` (made leaves) followed by `extra` inputs as they
/// are, compares the output with PyTorch's, backpropagates the stored `gout` and compares the
/// gradient of every float input.
inline void expect_matches_torch(const std::string& c, const std::vector<std::string>& names, const OpFn& f,
                                 const std::vector<std::string>& extra = {}, double atol = 1e-6,
                                 double rtol = 1e-5) {
  expect_op_matches_fixture("reduce_shape", c, names, extra, rs_output(c, "gout"), f, atol, rtol);
}

/// A leaf of `shape` that requires grad, holding a seeded shuffle of evenly spaced values in
/// about [-1.5, 1.5]: every pair differs by at least 3/numel, far more than gradcheck's step, so
/// max/min never change their argument under perturbation.
inline Tensor distinct_leaf(const Shape& shape, unsigned seed = 1) {
  const std::int64_t n = shape_numel(shape);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = -1.5f + 3.0f * static_cast<float>(i) / static_cast<float>(std::max<std::int64_t>(n, 1));
  std::mt19937 gen(seed);
  std::shuffle(v.begin(), v.end(), gen);
  Tensor t = from_vector(v, shape);
  t.requires_grad_();
  return t;
}

/// A leaf of `shape` with seeded standard-normal values that requires grad.
inline Tensor normal_leaf(const Shape& shape, std::uint64_t seed = 3) {
  Generator g(seed);
  Tensor t = randn(shape, &g);
  t.requires_grad_();
  return t;
}

}  // namespace shrink::testing
