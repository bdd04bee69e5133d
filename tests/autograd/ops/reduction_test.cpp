// Tests of autograd/ops/reduction.cpp: sum, mean, max, min, var, argmax.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/autograd/ops/reduce_shape_testing.h"

namespace shrink {
namespace {

using testing::error_of;
using testing::expect_matches_torch;
using testing::gradchecks;
using testing::rs_attr;
using testing::rs_input;
using testing::rs_output;

using Dims = std::vector<std::int64_t>;

// Σ over `dims` (normalised, sorted) in double by plain index arithmetic: the reference for the
// large-shape paths of the kernels.
std::vector<double> naive_sum(const Tensor& x, const Dims& dims) {
  const Shape& s = x.shape();
  Shape out_shape = s;
  for (auto d : dims) out_shape[d] = 1;
  std::vector<double> out(static_cast<std::size_t>(shape_numel(out_shape)), 0.0);
  const float* p = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    std::int64_t rem = i, o = 0, stride = 1;
    for (std::size_t d = s.size(); d-- > 0;) {
      const std::int64_t c = rem % s[d];
      rem /= s[d];
      o += (out_shape[d] == 1 ? 0 : c) * stride;
      stride *= out_shape[d];
    }
    out[static_cast<std::size_t>(o)] += p[i];
  }
  return out;
}

::testing::AssertionResult matches_naive(const Tensor& actual, const std::vector<double>& expected, double tol) {
  const auto a = actual.to_vector();
  if (a.size() != expected.size()) return ::testing::AssertionFailure() << "size " << a.size() << " vs " << expected.size();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - expected[i]) > tol * (1 + std::abs(expected[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << expected[i];
  return ::testing::AssertionSuccess();
}

// ---- sum / mean ------------------------------------------------------------------------------

TEST(Reduction, SumAndMeanOverDimsMatchPyTorchWithGradients) {
  for (const char* name : {"inner", "middle", "outer_keep", "split", "split_keep", "leading", "all_empty",
                           "all_empty_keep"}) {
    for (const std::string op : {"sum", "mean"}) {
      const std::string c = op + "_" + name;
      const Dims dims = rs_attr(c, "dims").get<Dims>();
      const bool keepdim = rs_attr(c, "keepdim").get<bool>();
      expect_matches_torch(c, {"x"}, [&](const TensorList& in) {
        return op == "sum" ? sum(in[0], dims, keepdim) : mean(in[0], dims, keepdim);
      });
    }
  }
}

TEST(Reduction, NonAdjacentDimsMatchPyTorch) {
  Tensor x = rs_input("sum_nchw_channels", "x");
  EXPECT_TENSOR_NEAR(sum(x, {0, 2, 3}), rs_output("sum_nchw_channels", "out"), 1e-5, 1e-5);
  EXPECT_TENSOR_NEAR(mean(x, {0, -2, -1}, true), rs_output("mean_nchw_channels_keep", "out"), 1e-6, 1e-5);
  EXPECT_TENSOR_NEAR(sum(x, {3, 1}), rs_output("sum_alternating", "out"), 1e-5, 1e-5);
}

TEST(Reduction, SumAllAndMeanAllAgreeWithDimForms) {
  Tensor x = rs_input("sum_all_empty", "x");
  EXPECT_TENSOR_NEAR(sum(x), rs_output("sum_all_empty", "out"));
  EXPECT_TENSOR_NEAR(mean(x), rs_output("mean_all_empty", "out"));
  EXPECT_TENSOR_NEAR(sum(x, {0, 1, 2}), sum(x));
}

TEST(Reduction, ScalarTensorsReduceOverDimZero) {
  Tensor s = scalar_tensor(2.5);
  for (std::int64_t d : {0, -1}) {
    EXPECT_EQ(sum(s, {d}).shape(), Shape{});
    EXPECT_EQ(sum(s, {d}, true).shape(), Shape{});
    EXPECT_EQ(mean(s, {d}).item(), 2.5f);
    EXPECT_EQ(max(s, d).item(), 2.5f);
    EXPECT_EQ(argmax(s, d).item<std::int64_t>(), 0);
  }
  EXPECT_EQ(var(s, {0}, 0).item(), 0.0f);
  EXPECT_TRUE(std::isinf(var(s, {0}, 1).item()) || std::isnan(var(s, {0}, 1).item()));
}

TEST(Reduction, EmptyReductionsGiveZeroSumAndNanMeanLikePyTorch) {
  Tensor e = zeros({0, 3});
  EXPECT_TRUE(testing::tensors_identical(sum(e, {0}), zeros({3})));
  EXPECT_EQ(sum(e, {1}).shape(), Shape{0});
  for (float v : mean(e, {0}).to_vector()) EXPECT_TRUE(std::isnan(v));
  for (float v : var(e, {0}).to_vector()) EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(max(e, 1).shape(), Shape{0});
}

TEST(Reduction, SumMatchesNaiveReferenceOnLargeShapes) {
  // Shapes chosen to hit every kernel path: chunked inner rows, chunked outer rows, column
  // blocks wider than one block, and several separate runs.
  Generator g(5);
  const std::vector<std::pair<Shape, Dims>> cases = {
      {{3, 40000}, {1}}, {{5000, 40}, {0}}, {{2, 600, 3}, {1}}, {{3, 4, 1100}, {1}},
      {{8, 16, 32, 9}, {0, 2}}, {{6, 5, 7, 3}, {1, 3}}, {{40000}, {0}}};
  for (const auto& [shape, dims] : cases) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = randn(shape, &g);
    EXPECT_TRUE(matches_naive(sum(x, dims, true), naive_sum(x, dims), 1e-5));
    std::vector<double> m = naive_sum(x, dims);
    double n = 1;
    for (auto d : dims) n *= shape[d];
    for (auto& v : m) v /= n;
    EXPECT_TRUE(matches_naive(mean(x, dims, true), m, 1e-5));
  }
}

TEST(Reduction, SumAndMeanGradcheck) {
  for (const auto& [shape, dims, keepdim] : std::vector<std::tuple<Shape, Dims, bool>>{
           {{3, 4}, {1}, false}, {{2, 3, 5}, {0, 2}, true}, {{2, 3, 5}, {-2}, false}, {{4, 1, 3}, {}, true}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = testing::normal_leaf(shape);
    EXPECT_TRUE(gradchecks([&](const TensorList& in) { return sum(in[0], dims, keepdim); }, {x}));
    EXPECT_TRUE(gradchecks([&](const TensorList& in) { return mean(in[0], dims, keepdim); }, {x}));
  }
}

TEST(Reduction, RecordsDimsAndKeepdim) {
  Tensor x = testing::normal_leaf({2, 3, 4});
  Tensor y = sum(x, {-1, 0}, true);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, "sum");
  EXPECT_EQ(y.grad_fn()->attr_ints("dims"), (Dims{0, 2}));
  EXPECT_TRUE(std::get<bool>(*y.grad_fn()->attr("keepdim")));
  Tensor m = mean(x, {});
  EXPECT_EQ(m.grad_fn()->op, "mean");
  EXPECT_EQ(m.grad_fn()->attr_ints("dims"), (Dims{0, 1, 2}));
  Tensor v = var(x, {1}, 0);
  EXPECT_EQ(v.grad_fn()->op, "var");
  EXPECT_EQ(v.grad_fn()->attr_int("correction"), 0);
  EXPECT_EQ(max(x, -2).grad_fn()->attr_ints("dims"), (Dims{1}));
}

// ---- max / min / argmax ----------------------------------------------------------------------

TEST(Reduction, MaxMinOverDimMatchPyTorchIncludingTies) {
  for (const std::string op : {"max", "min"}) {
    for (const char* suffix : {"dim1_drop", "dim0_keep", "dim-1_keep"}) {
      const std::string c = op + "_" + suffix;
      SCOPED_TRACE(c);
      const std::int64_t dim = rs_attr(c, "dim").get<std::int64_t>();
      const bool keepdim = rs_attr(c, "keepdim").get<bool>();
      Tensor x = rs_input(c, "x");
      x.requires_grad_();
      Tensor y = op == "max" ? max(x, dim, keepdim) : min(x, dim, keepdim);
      EXPECT_TENSOR_NEAR(y, rs_output(c, "out"));
      // The gradient lands on PyTorch's index, the first extreme of each slice.
      y.backward(rs_output(c, "gout"));
      EXPECT_TENSOR_NEAR(x.grad(), rs_output(c, "grad_x"));
      if (op == "max") {
        Tensor idx = argmax(x, dim, keepdim);
        EXPECT_EQ(idx.dtype(), DType::Int64);
        EXPECT_TRUE(testing::tensors_identical(idx, rs_output(c, "indices")));
      }
    }
  }
  expect_matches_torch("max_dim1_3d", {"x"}, [](const TensorList& in) { return max(in[0], 1); });
  expect_matches_torch("min_dim1_3d", {"x"}, [](const TensorList& in) { return min(in[0], 1); });
}

TEST(Reduction, MaxMinOfAllElementsMatchPyTorch) {
  expect_matches_torch("max_all", {"x"}, [](const TensorList& in) { return max(in[0]); });
  expect_matches_torch("min_all", {"x"}, [](const TensorList& in) { return min(in[0]); });
}

TEST(Reduction, MaxOfAllElementsSendsGradientToFirstMaximum) {
  Tensor x = from_vector(std::vector<float>{1, 3, 3, 2}, {4});
  x.requires_grad_();
  max(x).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 1, 0, 0}));
  Tensor y = from_vector(std::vector<float>{2, 0, 0, 5}, {4});
  y.requires_grad_();
  min(y).backward();
  EXPECT_EQ(y.grad().to_vector(), (std::vector<float>{0, 1, 0, 0}));
}

TEST(Reduction, NanIsTheExtremeLikePyTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from_vector(std::vector<float>{1, nan, 3, nan}, {4});
  EXPECT_TRUE(std::isnan(max(x).item()));
  EXPECT_TRUE(std::isnan(min(x, 0).item()));
  EXPECT_EQ(argmax(x).item<std::int64_t>(), 1);
  EXPECT_EQ(argmax(x, 0).item<std::int64_t>(), 1);
}

TEST(Reduction, ArgmaxMatchesPyTorchAndRecordsNothing) {
  Tensor x = rs_input("argmax", "x");
  x.requires_grad_();
  Tensor a = argmax(x, 1);
  EXPECT_TRUE(testing::tensors_identical(a, rs_output("argmax", "dim1")));
  EXPECT_FALSE(a.requires_grad());
  EXPECT_EQ(a.grad_fn(), nullptr);
  EXPECT_TRUE(testing::tensors_identical(argmax(x, 0, true), rs_output("argmax", "dim0_keep")));
  Tensor flat = argmax(x);
  EXPECT_EQ(flat.shape(), Shape{});
  EXPECT_TRUE(testing::tensors_identical(flat, rs_output("argmax", "flat")));
}

TEST(Reduction, MaxMinGradcheck) {
  for (const auto& [shape, dim, keepdim] : std::vector<std::tuple<Shape, std::int64_t, bool>>{
           {{3, 5}, 1, false}, {{3, 5}, 0, true}, {{2, 3, 4}, 1, false}, {{2, 3, 4}, -1, true}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = testing::distinct_leaf(shape);
    EXPECT_TRUE(gradchecks([&](const TensorList& in) { return max(in[0], dim, keepdim); }, {x}));
    EXPECT_TRUE(gradchecks([&](const TensorList& in) { return min(in[0], dim, keepdim); }, {x}));
  }
  Tensor x = testing::distinct_leaf({3, 4}, 9);
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return max(in[0]); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return min(in[0]); }, {x}));
}

// ---- var -------------------------------------------------------------------------------------

TEST(Reduction, VarMatchesPyTorchWithGradients) {
  for (const char* name : {"last", "first_keep", "split_pop", "all", "corr2_keep", "leading"}) {
    const std::string c = std::string("var_") + name;
    const Dims dims = rs_attr(c, "dims").get<Dims>();
    const std::int64_t corr = rs_attr(c, "correction").get<std::int64_t>();
    const bool keepdim = rs_attr(c, "keepdim").get<bool>();
    expect_matches_torch(c, {"x"}, [&](const TensorList& in) { return var(in[0], dims, corr, keepdim); }, {}, 1e-6,
                         1e-5);
  }
}

TEST(Reduction, VarIsAccurateForValuesWithLargeOffset) {
  // x = 1000 + 0.01·noise: a one-pass E[x²] − E[x]² in float would lose every digit.
  EXPECT_TENSOR_NEAR(var(rs_input("var_offset", "x"), {1}), rs_output("var_offset", "out"), 0.0, 1e-4);
}

TEST(Reduction, VarCorrectionAboveCountGivesInfOrNanLikePyTorch) {
  Tensor x = rs_input("var_correction_above_count", "x");
  x.requires_grad_();
  Tensor v = var(x, {1}, 4);
  for (float e : v.to_vector()) EXPECT_TRUE(std::isinf(e) && e > 0);
  // PyTorch's backward divides by the unclamped N − correction = −1.
  v.backward(rs_output("var_correction_above_count", "gout"));
  EXPECT_TENSOR_NEAR(x.grad(), rs_output("var_correction_above_count", "grad_x"));
  EXPECT_TRUE(std::isinf(var(x, {1}, 3).to_vector()[0]));
  for (float e : var(ones({2, 3}), {1}, 3).to_vector()) EXPECT_TRUE(std::isnan(e));
}

TEST(Reduction, VarGradcheck) {
  for (const auto& [shape, dims, corr, keepdim] : std::vector<std::tuple<Shape, Dims, std::int64_t, bool>>{
           {{3, 5}, {1}, 1, false}, {{2, 3, 4}, {0, 2}, 0, true}, {{2, 3, 4}, {0, 1}, 1, false},
           {{5}, {}, 2, false}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = testing::normal_leaf(shape);
    EXPECT_TRUE(gradchecks([&](const TensorList& in) { return var(in[0], dims, corr, keepdim); }, {x}));
  }
}

// ---- errors ----------------------------------------------------------------------------------

TEST(Reduction, BadDimsAreRejectedWithClearMessages) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(error_of<IndexError>([&] { sum(x, {3}); }), "sum: expected dim in range [-3, 2], got 3");
  EXPECT_EQ(error_of<IndexError>([&] { mean(x, {0, -4}); }), "mean: expected dim in range [-3, 2], got -4");
  EXPECT_EQ(error_of<IndexError>([&] { max(x, 5); }), "max: expected dim in range [-3, 2], got 5");
  EXPECT_EQ(error_of<IndexError>([&] { argmax(x, -4); }), "argmax: expected dim in range [-3, 2], got -4");
  EXPECT_EQ(error_of<ValueError>([&] { sum(x, {0, -3}); }),
            "sum: expected distinct dims, got [0, -3] (dim 0 appears more than once)");
  EXPECT_EQ(error_of<ValueError>([&] { var(x, {1, 1}); }),
            "var: expected distinct dims, got [1, 1] (dim 1 appears more than once)");
}

TEST(Reduction, WrongDtypeAndEmptyInputsAreRejected) {
  Tensor i = zeros({3}, DType::Int64);
  EXPECT_EQ(error_of<ValueError>([&] { sum(i, {0}); }), "sum: expected a float32 tensor, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { mean(i, {0}); }), "mean: expected a float32 tensor, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { var(i, {0}); }), "var: expected a float32 tensor, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { min(i, 0); }), "min: expected a float32 tensor, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { argmax(i); }), "argmax: expected a float32 tensor, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { max(zeros({0, 2})); }),
            "max: expected a non-empty tensor, got shape [0, 2]. Hint: reduce over one dim with max(x, dim) instead");
  EXPECT_EQ(error_of<ValueError>([&] { min(zeros({0})); }),
            "min: expected a non-empty tensor, got shape [0]. Hint: reduce over one dim with min(x, dim) instead");
  EXPECT_EQ(error_of<ValueError>([&] { argmax(zeros({0})); }),
            "argmax: expected a non-empty tensor, got shape [0]. Hint: reduce over one dim with argmax(x, dim) "
            "instead");
  EXPECT_EQ(error_of<IndexError>([&] { max(zeros({2, 0}), 1); }),
            "max: expected dim 1 to have a non-zero size, got shape [2, 0]");
  EXPECT_EQ(error_of<IndexError>([&] { argmax(zeros({2, 0}), -1); }),
            "argmax: expected dim 1 to have a non-zero size, got shape [2, 0]");
}

// ---- determinism -----------------------------------------------------------------------------

TEST(Reduction, ResultsDoNotDependOnThreadCount) {
  Generator g(11);
  const Tensor wide = randn({3, 40000}, &g), tall = randn({5000, 40}, &g), nchw = randn({8, 16, 32, 33}, &g);
  const Tensor flat = randn({100000}, &g);
  testing::expect_thread_count_invariant([&] {
    Tensor w = wide.detach();
    w.requires_grad_();
    Tensor v = var(w, {1});
    v.backward(ones_like(v));
    return TensorList{sum(wide, {1}), sum(tall, {0}), mean(nchw, {0, 2, 3}), sum(nchw, {1, 3}), v, w.grad(),
                      var(tall, {0}), var(nchw, {0, 2}), max(tall, 0), min(wide, 1), argmax(tall, 0),
                      argmax(flat), max(flat), sum(flat, {0}), sum(flat), sum(nchw)};
  });
}

}  // namespace
}  // namespace shrink
