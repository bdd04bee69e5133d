// Activations (autograd/ops/activation.cpp): relu, relu6, leaky_relu, gelu (erf and tanh forms),
// sigmoid, tanh.
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

Tensor random_leaf(const Shape& shape, float scale, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] *= scale;
  t.requires_grad_();
  return t;
}

// Random values (normal, mean `shift`, std `scale`) at least `gap` away from every kink, so that
// finite differences with eps = 1e-3 never straddle one.
Tensor away_from_kinks_leaf(const Shape& shape, std::vector<float> kinks, float scale, float shift,
                            std::uint64_t seed) {
  const float gap = 0.05f;
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    p[i] = p[i] * scale + shift;
    for (float k : kinks)
      if (std::abs(p[i] - k) < gap) p[i] = p[i] < k ? k - gap : k + gap;
  }
  t.requires_grad_();
  return t;
}

Tensor fn_relu(const TensorList& x) { return relu(x[0]); }
Tensor fn_relu6(const TensorList& x) { return relu6(x[0]); }
Tensor fn_gelu(const TensorList& x) { return gelu(x[0]); }
Tensor fn_gelu_tanh(const TensorList& x) { return gelu(x[0], /*tanh_approximation=*/true); }
Tensor fn_sigmoid(const TensorList& x) { return sigmoid(x[0]); }
Tensor fn_tanh(const TensorList& x) { return tanh(x[0]); }

// ---- forward and gradients against PyTorch ----------------------------------------------------

TEST(Activation, ReluMatchesTorchIncludingZeroGradientAtTheKink) {
  expect_matches_torch("relu", {"x"}, fn_relu);
  expect_matches_torch("relu_kinks", {"x"}, fn_relu);
}

TEST(Activation, Relu6MatchesTorchIncludingZeroGradientAtZeroAndSix) {
  expect_matches_torch("relu6", {"x"}, fn_relu6);
  expect_matches_torch("relu6_kinks", {"x"}, fn_relu6);
}

TEST(Activation, LeakyReluMatchesTorchWithDefaultAndCustomSlopes) {
  expect_matches_torch("leaky_relu_default", {"x"}, [](const TensorList& x) { return leaky_relu(x[0]); });
  expect_matches_torch("leaky_relu_slope_0_2", {"x"}, [](const TensorList& x) { return leaky_relu(x[0], 0.2f); });
  // At 0 the gradient is the slope.
  expect_matches_torch("leaky_relu_kinks", {"x"}, [](const TensorList& x) { return leaky_relu(x[0], 0.3f); });
}

TEST(Activation, GeluMatchesTorchInBothModes) {
  expect_matches_torch("gelu_erf", {"x"}, fn_gelu);
  expect_matches_torch("gelu_tanh", {"x"}, fn_gelu_tanh);
}

TEST(Activation, SigmoidAndTanhMatchTorchIncludingSaturation) {
  expect_matches_torch("sigmoid", {"x"}, fn_sigmoid);
  expect_matches_torch("tanh", {"x"}, fn_tanh);
}

TEST(Activation, GeluModesDifferSlightly) {
  const Tensor x = testing::elementwise_input("gelu_erf", "x");
  const auto exact = gelu(x).to_vector(), approx = gelu(x, true).to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) worst = std::max(worst, double(std::abs(exact[i] - approx[i])));
  EXPECT_GT(worst, 1e-5);
  EXPECT_LT(worst, 1e-3);
}

// ---- NaN and special values ---------------------------------------------------------------------

TEST(Activation, NaNInputsStayNaNLikeTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = from_vector(std::vector<float>{nan}, {1});
  EXPECT_TRUE(std::isnan(relu(x).item()));
  EXPECT_TRUE(std::isnan(relu6(x).item()));
  EXPECT_TRUE(std::isnan(leaky_relu(x).item()));
  EXPECT_TRUE(std::isnan(gelu(x).item()));
  EXPECT_TRUE(std::isnan(gelu(x, true).item()));
  EXPECT_TRUE(std::isnan(sigmoid(x).item()));
  EXPECT_TRUE(std::isnan(tanh(x).item()));
}

TEST(Activation, ReluFamilyGradientsMaskOnTheInput) {
  Tensor x = leaf({-1.0f, 0.0f, 3.0f, 6.0f, 8.0f}, {5});
  const Tensor g = from_vector(std::vector<float>{2, 2, 2, 2, 2}, {5});
  relu(x).backward(g);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 0, 2, 2, 2}));
  x.zero_grad();
  relu6(x).backward(g);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 0, 2, 0, 0}));
  x.zero_grad();
  leaky_relu(x, 0.25f).backward(g);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0.5f, 0.5f, 2, 2, 2}));
}

// ---- gradcheck ----------------------------------------------------------------------------------

TEST(Activation, PiecewiseLinearActivationsGradcheckAwayFromTheirKinks) {
  for (const Shape& shape : {Shape{7}, Shape{3, 5}, Shape{2, 1, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    EXPECT_TRUE(gradchecks(fn_relu, {away_from_kinks_leaf(shape, {0.0f}, 1.5f, 0.0f, 1)}));
    EXPECT_TRUE(gradchecks(fn_relu6, {away_from_kinks_leaf(shape, {0.0f, 6.0f}, 4.0f, 3.0f, 2)}));
    Tensor x = away_from_kinks_leaf(shape, {0.0f}, 1.5f, 0.0f, 3);
    EXPECT_TRUE(gradchecks([](const TensorList& t) { return leaky_relu(t[0]); }, {x}));
    EXPECT_TRUE(gradchecks([](const TensorList& t) { return leaky_relu(t[0], 0.2f); }, {x}));
    EXPECT_TRUE(gradchecks([](const TensorList& t) { return leaky_relu(t[0], -0.5f); }, {x}));
  }
}

TEST(Activation, SmoothActivationsGradcheck) {
  for (const Shape& shape : {Shape{}, Shape{9}, Shape{3, 4}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = random_leaf(shape, 1.5f, 4);
    EXPECT_TRUE(gradchecks(fn_gelu, {x}));
    EXPECT_TRUE(gradchecks(fn_gelu_tanh, {x}));
    EXPECT_TRUE(gradchecks(fn_sigmoid, {x}));
    EXPECT_TRUE(gradchecks(fn_tanh, {x}));
  }
  // In a composite with broadcasting, so the incoming gradient is not uniform.
  Tensor a = random_leaf({2, 3}, 1.0f, 5), b = random_leaf({3}, 1.0f, 6);
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return tanh(gelu(t[0] * t[1], true)) + sigmoid(t[1]); }, {a, b}));
}

// ---- graph details ------------------------------------------------------------------------------

TEST(Activation, NodesRecordOpNamesAndAttributes) {
  Tensor x = leaf({1.0f, -2.0f}, {2});
  EXPECT_EQ(relu(x).grad_fn()->op, "relu");
  EXPECT_EQ(relu6(x).grad_fn()->op, "relu6");
  EXPECT_EQ(sigmoid(x).grad_fn()->op, "sigmoid");
  EXPECT_EQ(tanh(x).grad_fn()->op, "tanh");
  const auto lr = leaky_relu(x, 0.2f).grad_fn();
  EXPECT_EQ(lr->op, "leaky_relu");
  EXPECT_DOUBLE_EQ(std::get<double>(*lr->attr("negative_slope")), double(0.2f));
  const auto g_exact = gelu(x).grad_fn(), g_tanh = gelu(x, true).grad_fn();
  EXPECT_EQ(g_exact->op, "gelu");
  EXPECT_EQ(std::get<std::string>(*g_exact->attr("approximate")), "none");
  EXPECT_EQ(std::get<std::string>(*g_tanh->attr("approximate")), "tanh");
}

// ---- errors -------------------------------------------------------------------------------------

TEST(Activation, NonFloatInputsThrowValueErrorNamingTheOp) {
  Tensor i = arange(3, DType::Int64);
  try {
    relu(i);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "relu: expected a float32 tensor, got int64");
  }
  try {
    gelu(from_vector(std::vector<std::uint8_t>{1}, {1}), true);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "gelu: expected a float32 tensor, got uint8");
  }
  EXPECT_THROW(relu6(i), ValueError);
  EXPECT_THROW(leaky_relu(i), ValueError);
  EXPECT_THROW(sigmoid(i), ValueError);
  EXPECT_THROW(tanh(i), ValueError);
}

// ---- determinism --------------------------------------------------------------------------------

TEST(Activation, LargeInputsGiveTheSameResultsOnOneAndTwoThreads) {
  Generator gen(12);
  const Tensor x0 = randn({500, 300}, &gen), g = randn({500, 300}, &gen);
  testing::expect_thread_count_invariant([&] {
    Tensor x = x0.clone();
    x.requires_grad_();
    Tensor y = relu(x) + relu6(x * 4.0f) + leaky_relu(x, 0.1f) + gelu(x) + gelu(x, true) + sigmoid(x) + tanh(x);
    y.backward(g);
    return TensorList{y, x.grad()};
  });
}

}  // namespace
}  // namespace shrink
