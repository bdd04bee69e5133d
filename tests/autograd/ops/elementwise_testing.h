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

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/support/fixtures.h"

namespace shrink::testing {

using OpFn = std::function<Tensor(const TensorList&)>;

/// Input `name` of the elementwise fixture case `c`.
inline Tensor elementwise_input(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("elementwise", c).at("inputs").at(name));
}

/// Output `name` of the elementwise fixture case `c`.
inline Tensor elementwise_output(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("elementwise", c).at("outputs").at(name));
}

/// Runs `f` on the fixture inputs `names` (leaves that require grad), backpropagates the stored
/// upstream gradient and compares the output and every input's gradient with PyTorch's.
inline void expect_matches_torch(const std::string& c, const std::vector<std::string>& names, const OpFn& f,
                                 double atol = 1e-6, double rtol = 1e-5) {
  SCOPED_TRACE("fixture case " + c);
  TensorList xs;
  for (const auto& n : names) {
    Tensor x = elementwise_input(c, n);
    x.requires_grad_();
    xs.push_back(x);
  }
  Tensor out = f(xs);
  EXPECT_TENSOR_NEAR(out, elementwise_output(c, "out"), atol, rtol);
  out.backward(elementwise_input(c, "grad_out"));
  for (std::size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE("gradient of " + names[i]);
    ASSERT_TRUE(xs[i].grad().defined());
    EXPECT_TENSOR_NEAR(xs[i].grad(), elementwise_output(c, "grad_" + names[i]), atol, rtol);
  }
}

/// Gradcheck with the failure message in the assertion.
inline ::testing::AssertionResult gradchecks(const OpFn& f, const TensorList& inputs, const GradcheckOptions& o = {}) {
  const GradcheckResult r = gradcheck(f, inputs, o);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
}

/// A float32 leaf that requires grad.
inline Tensor leaf(const std::vector<float>& values, const Shape& shape) {
  Tensor t = from_vector(values, shape);
  t.requires_grad_();
  return t;
}

/// Runs `f` with 1 thread and with 2 threads and expects bit-identical tensors; restores the
/// thread count.
inline void expect_thread_count_invariant(const std::function<TensorList()>& f) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  const TensorList one = f();
  omp_set_num_threads(2);
  const TensorList two = f();
  omp_set_num_threads(previous);
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(tensors_identical(one[i], two[i])) << "result " << i;
}

}  // namespace shrink::testing
