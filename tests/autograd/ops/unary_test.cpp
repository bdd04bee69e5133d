// Unary math ops (autograd/ops/unary.cpp): exp, log, sqrt, abs, clamp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/generator.h"
#include "autograd/node.h"
#include "tests/autograd/ops/elementwise_testing.h"

namespace shrink {
namespace {

using testing::expect_matches_torch;
using testing::gradchecks;
using testing::leaf;

constexpr float kInf = std::numeric_limits<float>::infinity();

Tensor random_leaf(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  t.requires_grad_();
  return t;
}

// Values uniform in [lo, hi).
Tensor uniform_leaf(const Shape& shape, float lo, float hi, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = rand(shape, &gen);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * p[i];
  t.requires_grad_();
  return t;
}

// Random values at least `gap` away from every point in `kinks` (moved outward), so that finite
// differences with eps = 1e-3 never straddle a kink.
Tensor away_from_kinks_leaf(const Shape& shape, std::vector<float> kinks, float gap, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    p[i] *= 1.5f;
    for (float k : kinks)
      if (std::abs(p[i] - k) < gap) p[i] = p[i] < k ? k - gap : k + gap;
  }
  t.requires_grad_();
  return t;
}

Tensor unary_fn_exp(const TensorList& x) { return exp(x[0]); }
Tensor unary_fn_log(const TensorList& x) { return log(x[0]); }
Tensor unary_fn_sqrt(const TensorList& x) { return sqrt(x[0]); }
Tensor unary_fn_abs(const TensorList& x) { return abs(x[0]); }

// ---- forward and gradients against PyTorch ----------------------------------------------------

TEST(Unary, ExpLogSqrtAbsMatchTorch) {
  expect_matches_torch("exp", {"x"}, unary_fn_exp);
  expect_matches_torch("log", {"x"}, unary_fn_log);
  expect_matches_torch("sqrt", {"x"}, unary_fn_sqrt);
  expect_matches_torch("abs", {"x"}, unary_fn_abs);  // includes x = 0, whose gradient is 0
}

TEST(Unary, ClampWithBothBoundsOnlyLoOrOnlyHiMatchesTorch) {
  expect_matches_torch("clamp_both", {"x"}, [](const TensorList& x) { return clamp(x[0], -0.5f, 0.8f); });
  expect_matches_torch("clamp_lo_only", {"x"}, [](const TensorList& x) { return clamp(x[0], 0.1f, std::nullopt); });
  expect_matches_torch("clamp_hi_only", {"x"}, [](const TensorList& x) { return clamp(x[0], std::nullopt, -0.2f); });
}

TEST(Unary, ClampWithLoAboveHiGivesHiEverywhereAndNoGradientLikeTorch) {
  expect_matches_torch("clamp_lo_above_hi", {"x"}, [](const TensorList& x) { return clamp(x[0], 1.0f, -1.0f); });
  Tensor x = leaf({-3.0f, 0.0f, 0.5f, 3.0f}, {4});
  Tensor y = clamp(x, 1.0f, -1.0f);
  EXPECT_EQ(y.to_vector(), std::vector<float>(4, -1.0f));
  y.backward(ones({4}));
  EXPECT_EQ(x.grad().to_vector(), std::vector<float>(4, 0.0f));
}

TEST(Unary, ClampPassesTheGradientOnTheBoundsLikeTorch) {
  expect_matches_torch("clamp_on_bounds", {"x"}, [](const TensorList& x) { return clamp(x[0], -1.0f, 2.0f); });
}

// ---- PyTorch's special values -------------------------------------------------------------------

TEST(Unary, LogAndSqrtOfNegativeGiveNaNAndLogOfZeroGivesMinusInfLikeTorch) {
  const auto l = log(from_vector(std::vector<float>{-1.0f, 0.0f, 1.0f}, {3})).to_vector();
  EXPECT_TRUE(std::isnan(l[0]));
  EXPECT_EQ(l[1], -kInf);
  EXPECT_EQ(l[2], 0.0f);
  const auto s = sqrt(from_vector(std::vector<float>{-1.0f, 0.0f}, {2})).to_vector();
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_EQ(s[1], 0.0f);
}

TEST(Unary, SqrtGradientAtZeroIsInfiniteLikeTorch) {
  Tensor x = leaf({0.0f, 4.0f}, {2});
  sqrt(x).backward(ones({2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{kInf, 0.25f}));
}

TEST(Unary, ExpOverflowsToInfAndUnderflowsToZero) {
  const auto e = exp(from_vector(std::vector<float>{100.0f, -200.0f}, {2})).to_vector();
  EXPECT_EQ(e[0], kInf);
  EXPECT_EQ(e[1], 0.0f);
}

TEST(Unary, ClampAndAbsPropagateNaNAndClampGivesItNoGradient) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = leaf({nan, 5.0f}, {2});
  Tensor y = clamp(x, 0.0f, 1.0f);
  EXPECT_TRUE(std::isnan(y.at({0})));
  EXPECT_EQ(y.at({1}), 1.0);
  y.backward(ones({2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0.0f, 0.0f}));
  EXPECT_TRUE(std::isnan(clamp(x.detach(), std::nullopt, 1.0f).at({0})));
  EXPECT_TRUE(std::isnan(abs(x.detach()).at({0})));
}

// ---- gradcheck ----------------------------------------------------------------------------------

TEST(Unary, ExpLogSqrtGradcheckOnSeveralShapes) {
  for (const Shape& shape : {Shape{}, Shape{7}, Shape{3, 5}, Shape{2, 1, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    EXPECT_TRUE(gradchecks(unary_fn_exp, {random_leaf(shape, 1)}));
    EXPECT_TRUE(gradchecks(unary_fn_log, {uniform_leaf(shape, 0.3f, 3.0f, 2)}));
    EXPECT_TRUE(gradchecks(unary_fn_sqrt, {uniform_leaf(shape, 0.3f, 3.0f, 3)}));
  }
}

TEST(Unary, AbsGradchecksAwayFromZero) {
  EXPECT_TRUE(gradchecks(unary_fn_abs, {away_from_kinks_leaf({4, 5}, {0.0f}, 0.05f, 4)}));
  EXPECT_TRUE(gradchecks(unary_fn_abs, {away_from_kinks_leaf({9}, {0.0f}, 0.05f, 5)}));
}

TEST(Unary, ClampGradchecksAwayFromTheBounds) {
  Tensor x = away_from_kinks_leaf({4, 5}, {-0.5f, 0.7f}, 0.05f, 6);
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return clamp(t[0], -0.5f, 0.7f); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return clamp(t[0], -0.5f, std::nullopt); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return clamp(t[0], std::nullopt, 0.7f); }, {x}));
  // Composite: the clamp feeds a broadcasting product, so its gradient is not all ones.
  Tensor w = random_leaf({5}, 7);
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return clamp(t[0], -0.5f, 0.7f) * t[1]; }, {x, w}));
}

// ---- graph details ------------------------------------------------------------------------------

TEST(Unary, ClampRecordsOnlyTheBoundsItHas) {
  Tensor x = leaf({1.0f, 2.0f}, {2});
  const auto both = clamp(x, -1.0f, 1.0f).grad_fn();
  EXPECT_EQ(both->op, "clamp");
  EXPECT_EQ(std::get<double>(*both->attr("min")), -1.0);
  EXPECT_EQ(std::get<double>(*both->attr("max")), 1.0);
  const auto lo = clamp(x, 0.5f, std::nullopt).grad_fn();
  EXPECT_EQ(std::get<double>(*lo->attr("min")), 0.5);
  EXPECT_EQ(lo->attr("max"), nullptr);
  const auto hi = clamp(x, std::nullopt, 1.5f).grad_fn();
  EXPECT_EQ(hi->attr("min"), nullptr);
  EXPECT_EQ(std::get<double>(*hi->attr("max")), 1.5);
}

TEST(Unary, OpsRecordTheirNamesAndDoNotRecordWithoutGrad) {
  Tensor x = leaf({1.0f, 2.0f}, {2});
  EXPECT_EQ(exp(x).grad_fn()->op, "exp");
  EXPECT_EQ(log(x).grad_fn()->op, "log");
  EXPECT_EQ(sqrt(x).grad_fn()->op, "sqrt");
  EXPECT_EQ(abs(x).grad_fn()->op, "abs");
  Tensor plain = exp(x.detach());
  EXPECT_FALSE(plain.requires_grad());
  EXPECT_EQ(plain.grad_fn(), nullptr);
}

// ---- errors -------------------------------------------------------------------------------------

TEST(Unary, NonFloatInputsThrowValueErrorNamingTheOp) {
  Tensor i = arange(3, DType::Int64);
  try {
    exp(i);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "exp: expected a float32 tensor, got int64");
  }
  try {
    clamp(from_vector(std::vector<std::int8_t>{1, -1}, {2}), 0.0f, 1.0f);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "clamp: expected a float32 tensor, got int8");
  }
  EXPECT_THROW(log(i), ValueError);
  EXPECT_THROW(sqrt(i), ValueError);
  EXPECT_THROW(abs(i), ValueError);
}

TEST(Unary, ClampWithoutAnyBoundThrowsValueError) {
  try {
    clamp(ones({2}), std::nullopt, std::nullopt);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(),
                 "clamp: expected at least one of lo and hi, got neither. Hint: pass std::nullopt for "
                 "the bound you do not need, not for both");
  }
}

// ---- determinism --------------------------------------------------------------------------------

TEST(Unary, LargeInputsGiveTheSameResultsOnOneAndTwoThreads) {
  Generator gen(11);
  const Tensor x0 = randn({400, 300}, &gen), g = randn({400, 300}, &gen);
  testing::expect_thread_count_invariant([&] {
    Tensor x = x0.clone();
    x.requires_grad_();
    Tensor y = exp(clamp(x, -2.0f, std::nullopt)) + sqrt(abs(x) + 1.0f) * log(abs(x) + 0.5f);
    y.backward(g);
    return TensorList{y, x.grad()};
  });
}

}  // namespace
}  // namespace shrink
