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
#include "tests/support/fixtures.h"

namespace shrink::testing {

using OpFn = std::function<Tensor(const TensorList&)>;

/// Input `name` of the nn_ops fixture case `c`.
inline Tensor nn_input(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("nn_ops", c).at("inputs").at(name));
}

/// Output `name` of the nn_ops fixture case `c`.
inline Tensor nn_output(const std::string& c, const std::string& name) {
  return fixture_tensor(fixture_case("nn_ops", c).at("outputs").at(name));
}

/// Runs `f` on the fixture inputs `names` (float inputs become leaves that require grad, int64
/// ones are passed as they are), backpropagates the stored "grad_out" and compares the output
/// and the gradient of every float input with PyTorch's.
inline void expect_matches_torch(const std::string& c, const std::vector<std::string>& names, const OpFn& f,
                                 double atol = 1e-5, double rtol = 1e-5) {
  SCOPED_TRACE("fixture case " + c);
  TensorList xs;
  for (const auto& n : names) {
    Tensor x = nn_input(c, n);
    if (x.dtype() == DType::Float32) x.requires_grad_();
    xs.push_back(x);
  }
  Tensor out = f(xs);
  EXPECT_TENSOR_NEAR(out, nn_output(c, "out"), atol, rtol);
  out.backward(nn_input(c, "grad_out"));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (xs[i].dtype() != DType::Float32) continue;
    SCOPED_TRACE("gradient of " + names[i]);
    ASSERT_TRUE(xs[i].grad().defined());
    EXPECT_TENSOR_NEAR(xs[i].grad(), nn_output(c, "grad_" + names[i]), atol, rtol);
  }
}

/// Gradcheck with the failure message in the assertion.
inline ::testing::AssertionResult gradchecks(const OpFn& f, const TensorList& inputs, const GradcheckOptions& o = {}) {
  const GradcheckResult r = gradcheck(f, inputs, o);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
}

/// A seeded standard-normal leaf that requires grad, scaled by `scale`.
inline Tensor randn_leaf(const Shape& shape, std::uint64_t seed, float scale = 1.0f) {
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  t.mul_(scale);
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

/// The what() of the exception of type E that `f` throws, or a marker when it throws none.
template <typename E, typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception of the expected type>";
}

}  // namespace shrink::testing
