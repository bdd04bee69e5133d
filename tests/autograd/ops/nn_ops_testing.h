#pragma once
/// \file
/// Helpers shared by the linalg, norm and loss op tests: running an op on a case of the PyTorch
/// fixture tests/fixtures/nn_ops.json (written by gen_nn_ops.py), gradcheck with a readable
/// failure, the 1-thread vs 2-thread determinism check, and catching an error's message.

#include <gtest/gtest.h>
#include <omp.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/support/op_testing.h"

namespace shrink::testing {

/// Input `name` of the nn_ops fixture case `c`.
inline Tensor nn_input(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("nn_ops", c).at("inputs").at(name));
}

/// Output `name` of the nn_ops fixture case `c`.
inline Tensor nn_output(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("nn_ops", c).at("outputs").at(name));
}

/// Runs `f` on the fixture inputs `names` (float ones become leaves), backpropagates the stored
/// "grad_out" and compares the output and the gradient of every float input with PyTorch's.
inline void expect_matches_torch(const std::string& c, const std::vector<std::string>& names, const OpFn& f,
                                 double atol = 1e-5, double rtol = 1e-5) {
  expect_op_matches_fixture("nn_ops", c, names, {}, nn_input(c, "grad_out"), f, atol, rtol);
}

/// A seeded standard-normal leaf that requires grad, scaled by `scale`.
inline Tensor randn_leaf(const Shape& shape, std::uint64_t seed, float scale = 1.0f) {
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  t.mul_(scale);
  t.requires_grad_();
  return t;
}

}  // namespace shrink::testing
