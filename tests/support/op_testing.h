#pragma once
/// \file
/// Helpers shared by the op tests: gradcheck as a gtest assertion, the 1-thread vs 2-thread
/// bit-identity check, exception-message capture, and running an op on a PyTorch fixture case
/// and comparing its output and gradients.

#include <gtest/gtest.h>
#include <omp.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::testing {

using OpFn = std::function<Tensor(const TensorList&)>;

/// Gradcheck with the failure message in the assertion.
inline ::testing::AssertionResult gradchecks(const OpFn& f, const TensorList& inputs, const GradcheckOptions& o = {}) {
  const GradcheckResult r = gradcheck(f, inputs, o);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
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

/// Tensor `name` of section `section` ("inputs", "outputs") of fixture case `c` of `family`.
inline Tensor fixture_entry(const std::string& family, const std::string& c, const std::string& section,
                            const std::string& name) {
  return fixture_tensor(fixture_case(family, c).at(section).at(name));
}

/// Runs `f` on the fixture inputs `names` (float inputs become leaves that require grad, others
/// are passed as they are) followed by `extra` inputs as they are; compares the output with the
/// fixture's "out", backpropagates `grad_out` and compares the gradient of every float input in
/// `names` with the fixture's "grad_<name>".
inline void expect_op_matches_fixture(const std::string& family, const std::string& c,
                                      const std::vector<std::string>& names, const std::vector<std::string>& extra,
                                      const Tensor& grad_out, const OpFn& f, double atol, double rtol) {
  SCOPED_TRACE(family + " fixture case " + c);
  TensorList xs;
  for (const auto& n : names) {
    Tensor x = fixture_entry(family, c, "inputs", n);
    if (x.dtype() == DType::Float32) x.requires_grad_();
    xs.push_back(x);
  }
  for (const auto& n : extra) xs.push_back(fixture_entry(family, c, "inputs", n));
  Tensor out = f(xs);
  EXPECT_TENSOR_NEAR(out, fixture_entry(family, c, "outputs", "out"), atol, rtol);
  out.backward(grad_out);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (xs[i].dtype() != DType::Float32) continue;
    SCOPED_TRACE("gradient of " + names[i]);
    ASSERT_TRUE(xs[i].grad().defined());
    EXPECT_TENSOR_NEAR(xs[i].grad(), fixture_entry(family, c, "outputs", "grad_" + names[i]), atol, rtol);
  }
}

}  // namespace shrink::testing
