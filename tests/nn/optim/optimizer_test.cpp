// Optimizer base: groups, options, zero_grad, state_dict round trip and its errors.
#include "nn/optim/optimizer.h"

#include <gtest/gtest.h>

#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"
#include "tests/support/fixtures.h"

namespace shrink::optim {
namespace {

Tensor param(std::vector<float> v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size())}).requires_grad_();
}

TEST(Optimizer, GroupsOverrideDefaultsAndSetLrReachesEveryGroup) {
  Tensor a = param({1}), b = param({2});
  SGD sgd({ParamGroup{{{"a", a}}, {}}, ParamGroup{{{"b", b}}, {{"lr", 0.5}, {"momentum", 0.9}}}}, SGDOptions{.lr = 0.1});
  EXPECT_DOUBLE_EQ(sgd.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(sgd.lr(1), 0.5);
  EXPECT_DOUBLE_EQ(sgd.option(1, "momentum"), 0.9);
  EXPECT_DOUBLE_EQ(sgd.option(0, "momentum"), 0.0);
  sgd.set_lr(0.01);
  EXPECT_DOUBLE_EQ(sgd.lr(1), 0.01);
  a.set_grad(ones({1}));
  b.set_grad(ones({1}));
  sgd.step();
  EXPECT_FLOAT_EQ(a.at({0}), 0.99f);
  EXPECT_FLOAT_EQ(b.at({0}), 1.99f);
}

TEST(Optimizer, UnknownGroupOptionAndSharedParametersAreRejected) {
  Tensor a = param({1});
  try {
    SGD sgd({ParamGroup{{{"a", a}}, {{"lrate", 0.1}}}}, SGDOptions{});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "SGD: parameter group 0 has unknown option 'lrate' (known: dampening, lr, momentum, "
                           "nesterov, weight_decay)");
  }
  try {
    SGD sgd({ParamGroup{{{"a", a}}, {}}, ParamGroup{{{"a", a}}, {}}}, SGDOptions{});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "SGD: parameter 'a' appears in more than one group (or twice in one)");
  }
  Tensor frozen = from_vector(std::vector<float>{1}, {1});
  EXPECT_THROW(SGD({frozen}, SGDOptions{}), ValueError);
  EXPECT_THROW(SGD({a}, SGDOptions{.lr = 0.1, .nesterov = true}), ValueError);
}

TEST(Optimizer, ZeroGradClearsOrZeroes) {
  Tensor a = param({1, 2});
  SGD sgd({a}, SGDOptions{});
  a.set_grad(ones({2}));
  sgd.zero_grad(/*set_to_none=*/false);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{0, 0}));
  sgd.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1});
  Adam adam({a}, AdamOptions{});
  adam.step();
  EXPECT_EQ(a.at({0}), 1.0);
  EXPECT_TRUE(adam.state_dict().tensors.empty());
}

TEST(Optimizer, StateDictResumesExactly) {
  auto run = [](Adam& opt, Tensor& p, int steps, float g) {
    for (int i = 0; i < steps; ++i) {
      p.set_grad(full(p.shape(), g + i));
      opt.step();
    }
  };
  Tensor p1 = param({1, -2, 3});
  Adam a({{"w", p1}}, AdamOptions{.lr = 0.01, .amsgrad = true});
  run(a, p1, 3, 0.5f);
  OptimizerState state = a.state_dict();
  EXPECT_TRUE(state.tensors.contains("w.exp_avg"));
  EXPECT_TRUE(state.tensors.contains("w.max_exp_avg_sq"));
  EXPECT_EQ(state.tensors.at("w.step").item<std::int64_t>(), 3);
  EXPECT_DOUBLE_EQ(state.groups[0]["lr"].get<double>(), 0.01);

  Tensor p2 = p1.detach().clone().requires_grad_();
  Adam b({{"w", p2}}, AdamOptions{.lr = 0.5});
  b.load_state_dict(state);
  EXPECT_DOUBLE_EQ(b.lr(), 0.01);
  run(a, p1, 2, 1.0f);
  run(b, p2, 2, 1.0f);
  EXPECT_TRUE(testing::tensors_identical(p1, p2));
}

TEST(Optimizer, LoadingAStateOfAnotherModelFailsClearly) {
  Tensor p = param({1, 2});
  SGD a({{"w", p}}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  p.set_grad(ones({2}));
  a.step();
  OptimizerState state = a.state_dict();
  Tensor q = param({1, 2});
  SGD other_names({{"v", q}}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  try {
    other_names.load_state_dict(state);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "SGD.load_state_dict: group 0 holds other parameters than the saved state (different "
                           "model or group layout?)");
  }
  Tensor r = param({1, 2, 3});
  SGD other_shape({{"w", r}}, SGDOptions{.lr = 0.1, .momentum = 0.9});
  try {
    other_shape.load_state_dict(state);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "SGD.load_state_dict: state 'w.momentum_buffer' has shape [2], expected [3]");
  }
}

}  // namespace
}  // namespace shrink::optim
