#pragma once
/// \file
/// Helpers shared by the element-wise op tests (arithmetic, unary, activation): running an op on
/// the PyTorch fixture tests/fixtures/elementwise.json, gradcheck with a readable failure, and the
/// 1-thread vs 2-thread determinism check.

#include <gtest/gtest.h>
#include <omp.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/support/op_testing.h"

namespace shrink::testing {

/// Input `name` of the elementwise fixture case `c`.
inline Tensor elementwise_input(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("elementwise", c).at("inputs").at(name));
}

/// Output `name` of the elementwise fixture case `c`.
inline Tensor elementwise_output(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("elementwise", c).at("outputs").at(name));
}

/// Runs `f` on the fixture inputs `names`, backpropagates the stored upstream gradient and
/// compares the output and every input's gradient with PyTorch's.
inline void expect_matches_torch(const std::string& c, const std::vector<std::string>& names, const OpFn& f,
                                 double atol = 1e-6, double rtol = 1e-5) {
  expect_op_matches_fixture("elementwise", c, names, {}, elementwise_input(c, "grad_out"), f, atol, rtol);
}

/// A float32 leaf that requires grad.
inline Tensor leaf(const std::vector<float>& values, const Shape& shape) {
  Tensor t = from_vector(values, shape);
  t.requires_grad_();
  return t;
}

}  // namespace shrink::testing
