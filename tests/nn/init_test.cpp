// nn/init: fans and gains pinned to torch.nn.init, the statistics of PyTorch's default Linear and
// Conv2d init, the kaiming/xavier formulas, reproducibility from seeds, and the errors.
#include "nn/init.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "autograd/generator.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

const nlohmann::json& init_attrs() { return testing::layer_case("init").at("attrs"); }

struct Moments {
  double mean = 0, var = 0, max_abs = 0;
};

Moments moments(const Tensor& t) {
  const auto v = t.to_vector();
  Moments m;
  for (float x : v) {
    m.mean += x;
    m.max_abs = std::max(m.max_abs, double(std::abs(x)));
  }
  m.mean /= double(v.size());
  for (float x : v) m.var += (x - m.mean) * (x - m.mean);
  m.var /= double(v.size());
  return m;
}

// U(-b, b): every value within b, the range used up to b, mean 0 and variance b²/3.
void expect_uniform(const Tensor& t, double bound) {
  const Moments m = moments(t);
  EXPECT_LE(m.max_abs, bound);
  EXPECT_GT(m.max_abs, 0.98 * bound);
  EXPECT_NEAR(m.mean, 0.0, 0.02 * bound);
  EXPECT_NEAR(m.var, bound * bound / 3.0, 0.05 * bound * bound / 3.0);
}

TEST(Init, FansMatchPyTorch) {
  for (const auto& [name, c] : init_attrs().at("fans").items()) {
    SCOPED_TRACE(name);
    const auto [fan_in, fan_out] = init::fans(empty(c.at(0).get<Shape>()));
    EXPECT_EQ(fan_in, c.at(1).get<std::int64_t>());
    EXPECT_EQ(fan_out, c.at(2).get<std::int64_t>());
  }
}

TEST(Init, GainsMatchPyTorch) {
  for (const auto& [key, gain] : init_attrs().at("gains").items()) {
    SCOPED_TRACE(key);
    const auto colon = key.find(':');
    const double g = colon == std::string::npos ? init::calculate_gain(key)
                                                : init::calculate_gain(key.substr(0, colon), std::stod(key.substr(colon + 1)));
    EXPECT_NEAR(g, gain.get<double>(), 1e-12);
  }
}

TEST(Init, DefaultLinearAndConvInitUseOneOverSqrtFanIn) {
  manual_seed(1);
  const auto& bounds = init_attrs().at("bounds");
  Linear linear(400, 300);
  Conv2d conv(8, 16, 3);
  Conv2d grouped({8, 16, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 4, true});
  const std::vector<std::pair<std::string, Module*>> layers = {
      {"linear_400_300", &linear}, {"conv_8_16_3", &conv}, {"conv_8_16_3_g4", &grouped}};
  for (const auto& [name, m] : layers) {
    SCOPED_TRACE(name);
    const auto& b = bounds.at(name);
    const Tensor& w = m->param("weight");
    EXPECT_EQ(w.shape(), b.at("shape").get<Shape>());
    EXPECT_EQ(init::fans(w).first, b.at("fan_in").get<std::int64_t>());
    const double bound = b.at("bound").get<double>();
    // kaiming_uniform_(a=√5): gain √(2/6) · √(3/fan_in) = 1/√fan_in.
    EXPECT_NEAR(init::calculate_gain("leaky_relu", std::sqrt(5.0)) * std::sqrt(3.0 / b.at("fan_in").get<double>()),
                bound, 1e-12);
    if (name == "linear_400_300") {
      expect_uniform(w, bound);  // 120000 values: tight statistics
    } else {
      EXPECT_LE(moments(w).max_abs, bound);
      EXPECT_GT(moments(w).max_abs, 0.9 * bound);
    }
    EXPECT_LE(moments(m->param("bias")).max_abs, bound);
    EXPECT_GT(moments(m->param("bias")).max_abs, 0.5 * bound);
  }
}

TEST(Init, KaimingUniformBoundIsGainTimesSqrtThreeOverFanIn) {
  Generator gen(3);
  Tensor t = empty({200, 50, 2, 2});  // fan_in 200
  init::kaiming_uniform_(t, 0.0, "relu", &gen);
  expect_uniform(t, std::sqrt(2.0) * std::sqrt(3.0 / 200.0));
  init::kaiming_uniform_(t, 0.2, "leaky_relu", &gen);
  expect_uniform(t, std::sqrt(2.0 / 1.04) * std::sqrt(3.0 / 200.0));
}

TEST(Init, KaimingNormalStdIsGainOverSqrtFanIn) {
  Generator gen(4);
  Tensor t = empty({300, 400});
  init::kaiming_normal_(t, 0.0, "relu", &gen);
  const Moments m = moments(t);
  const double std = std::sqrt(2.0 / 400.0);
  EXPECT_NEAR(m.mean, 0.0, 0.02 * std);
  EXPECT_NEAR(std::sqrt(m.var), std, 0.02 * std);
}

TEST(Init, XavierUniformBoundUsesBothFans) {
  Generator gen(5);
  Tensor t = empty({300, 100, 2, 2});  // fan_in 400, fan_out 1200
  init::xavier_uniform_(t, 1.5, &gen);
  expect_uniform(t, 1.5 * std::sqrt(6.0 / 1600.0));
}

TEST(Init, UniformNormalAndConstantFillAsAsked) {
  Generator gen(6);
  Tensor t = empty({100000});
  init::uniform_(t, 2.0, 4.0, &gen);
  Moments m = moments(t);
  EXPECT_NEAR(m.mean, 3.0, 0.01);
  EXPECT_LE(m.max_abs, 4.0);
  init::normal_(t, -1.0, 0.5, &gen);
  m = moments(t);
  EXPECT_NEAR(m.mean, -1.0, 0.01);
  EXPECT_NEAR(std::sqrt(m.var), 0.5, 0.01);
  init::constant_(t, 0.25);
  EXPECT_TENSOR_NEAR(t, full({100000}, 0.25), 0.0, 0.0);
}

TEST(Init, WorksOnParametersThatRequireGradWithoutRecording) {
  Tensor p = empty({4, 3}).requires_grad_();
  init::kaiming_uniform_(p, std::sqrt(5.0));
  init::constant_(p, 1.0);
  EXPECT_TRUE(p.is_leaf());
  EXPECT_TRUE(p.requires_grad());
  EXPECT_FALSE(p.grad_fn());
}

TEST(Init, SameSeedSameValuesAndGeneratorsAreIndependent) {
  manual_seed(42);
  Linear a(10, 7);
  manual_seed(42);
  Linear b(10, 7);
  EXPECT_TRUE(testing::tensors_identical(a.weight(), b.weight()));
  EXPECT_TRUE(testing::tensors_identical(a.bias(), b.bias()));

  Generator g1(9), g2(9);
  Tensor t1 = empty({5, 5}), t2 = empty({5, 5});
  init::kaiming_uniform_(t1, 0.0, "leaky_relu", &g1);
  manual_seed(1234);  // the default generator does not affect an explicit one
  init::kaiming_uniform_(t2, 0.0, "leaky_relu", &g2);
  EXPECT_TRUE(testing::tensors_identical(t1, t2));
  init::kaiming_uniform_(t2, 0.0, "leaky_relu", &g2);
  EXPECT_FALSE(testing::tensors_identical(t1, t2));
}

TEST(Init, ZeroElementTensorsAreANoOp) {
  Tensor t = empty({3, 0});
  init::kaiming_uniform_(t, std::sqrt(5.0));
  init::kaiming_normal_(t);
  init::xavier_uniform_(t);
  EXPECT_EQ(t.numel(), 0);
}

TEST(Init, UnknownNonlinearityIsAValueError) {
  const std::string msg = "calculate_gain: expected one of linear, conv1d, conv2d, conv3d, conv_transpose1d, "
                          "conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu, got 'gelu'";
  EXPECT_EQ(error_of<ValueError>([] { init::calculate_gain("gelu"); }), msg);
  Tensor t = empty({2, 2});
  EXPECT_EQ(error_of<ValueError>([&] { init::kaiming_uniform_(t, 0.0, "gelu"); }), msg);
}

TEST(Init, FansNeedAtLeastTwoDims) {
  EXPECT_EQ(error_of<ValueError>([] { init::fans(empty({5})); }),
            "init.fans: expected a weight with at least 2 dims, got shape [5]");
  Tensor bias = empty({5});
  EXPECT_EQ(error_of<ValueError>([&] { init::xavier_uniform_(bias); }),
            "init.fans: expected a weight with at least 2 dims, got shape [5]");
}

}  // namespace
}  // namespace shrink::nn
