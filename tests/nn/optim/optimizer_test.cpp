// Optimizer base: groups, options, zero_grad, state_dict round trip and its errors.
#include "nn/optim/optimizer.h"

#include <gtest/gtest.h>

#include "nn/optim/adam.h"
#include "nn/optim/rmsprop.h"
#include "nn/optim/sgd.h"
#include "tests/support/fixtures.h"

namespace shrink::optim {
namespace {

Tensor param(std::vector<float> v) {
  return from_vector(v, {static_cast<std::int64_t>(v.size())}).requires_grad_();
}

TEST(Optimizer, GroupsOverrideDefaultsAndSetLrReachesEveryGroup) {
  Tensor a = param({1}), b = param({2});
  SGD sgd({ParamGroup{{{"a", a}}, {}}, ParamGroup{{{"b", b}}, {{"lr", 0.5}, {"momentum", 0.9}}}}, SGDConfig{.lr = 0.1});
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
    SGD sgd({ParamGroup{{{"a", a}}, {{"lrate", 0.1}}}}, SGDConfig{});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "SGD: parameter group 0 has unknown option 'lrate' (known: dampening, lr, momentum, "
                           "nesterov, weight_decay)");
  }
  try {
    SGD sgd({ParamGroup{{{"a", a}}, {}}, ParamGroup{{{"a", a}}, {}}}, SGDConfig{});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "SGD: parameter 'a' appears in more than one group (or twice in one)");
  }
  Tensor frozen = from_vector(std::vector<float>{1}, {1});
  EXPECT_THROW(SGD({frozen}, SGDConfig{}), ValueError);
  EXPECT_THROW(SGD({a}, SGDConfig{.lr = 0.1, .nesterov = true}), ValueError);
}

TEST(Optimizer, ZeroGradClearsOrZeroes) {
  Tensor a = param({1, 2});
  SGD sgd({a}, SGDConfig{});
  a.set_grad(ones({2}));
  sgd.zero_grad(/*set_to_none=*/false);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{0, 0}));
  sgd.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1});
  Adam adam({a}, AdamConfig{});
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
  Adam a({{"w", p1}}, AdamConfig{.lr = 0.01, .amsgrad = true});
  run(a, p1, 3, 0.5f);
  OptimizerState state = a.state_dict();
  EXPECT_TRUE(state.tensors.contains("w.exp_avg"));
  EXPECT_TRUE(state.tensors.contains("w.max_exp_avg_sq"));
  EXPECT_EQ(state.tensors.at("w.step").item<std::int64_t>(), 3);
  EXPECT_DOUBLE_EQ(state.groups[0]["lr"].get<double>(), 0.01);

  Tensor p2 = p1.detach().clone().requires_grad_();
  Adam b({{"w", p2}}, AdamConfig{.lr = 0.5});
  b.load_state_dict(state);
  EXPECT_DOUBLE_EQ(b.lr(), 0.01);
  run(a, p1, 2, 1.0f);
  run(b, p2, 2, 1.0f);
  EXPECT_TRUE(testing::tensors_identical(p1, p2));
}

TEST(Optimizer, LoadingAStateOfAnotherModelFailsClearly) {
  Tensor p = param({1, 2});
  SGD a({{"w", p}}, SGDConfig{.lr = 0.1, .momentum = 0.9});
  p.set_grad(ones({2}));
  a.step();
  OptimizerState state = a.state_dict();
  Tensor q = param({1, 2});
  SGD other_names({{"v", q}}, SGDConfig{.lr = 0.1, .momentum = 0.9});
  try {
    other_names.load_state_dict(state);
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "SGD.load_state_dict: group 0 holds other parameters than the saved state (different "
                           "model or group layout?)");
  }
  Tensor r = param({1, 2, 3});
  SGD other_shape({{"w", r}}, SGDConfig{.lr = 0.1, .momentum = 0.9});
  try {
    other_shape.load_state_dict(state);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "SGD.load_state_dict: state 'w.momentum_buffer' has shape [2], expected [3]");
  }
}

// The LibTorch-style chain and the designated initialiser build the same optimizer.
TEST(Optimizer, ChainableOptionsAndDesignatedInitialisersMeanTheSame) {
  Tensor a = param({1, 2}), b = param({1, 2});
  const SGD chained({{"w", a}}, SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(5e-4));
  const SGD designated({{"w", b}}, {.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 5e-4});
  EXPECT_EQ(chained.state_dict().groups, designated.state_dict().groups);
  const SGD nesterov({{"w", a}}, SGDOptions(0.1).momentum(0.9).nesterov(true));
  EXPECT_EQ(nesterov.option(0, "nesterov"), 1.0);

  const Adam adam_chained({{"w", a}}, AdamOptions(1e-2).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.1).amsgrad(true));
  const Adam adam_designated({{"w", b}},
                             {.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.1, .amsgrad = true});
  EXPECT_EQ(adam_chained.state_dict().groups, adam_designated.state_dict().groups);

  // AdamW's weight decay defaults to PyTorch's 1e-2 in both spellings; Adam's to 0.
  EXPECT_EQ(AdamW({a}, AdamWOptions(1e-3)).option(0, "weight_decay"), 1e-2);
  EXPECT_EQ(AdamW({a}, {.lr = 1e-3}).option(0, "weight_decay"), 1e-2);
  EXPECT_EQ(AdamW({a}).option(0, "weight_decay"), 1e-2);
  EXPECT_EQ(Adam({a}, AdamOptions(1e-3)).option(0, "weight_decay"), 0.0);
  EXPECT_EQ(AdamW({a}, AdamWOptions(1e-3).weight_decay(0.05)).option(0, "weight_decay"), 0.05);
}

TEST(Optimizer, OptionsHaveLibTorchGetters) {
  const SGDOptions sgd = SGDOptions(0.05).momentum(0.9).weight_decay(5e-4).nesterov(true);
  EXPECT_EQ(sgd.lr(), 0.05);
  EXPECT_EQ(sgd.momentum(), 0.9);
  EXPECT_EQ(sgd.dampening(), 0.0);
  EXPECT_EQ(sgd.weight_decay(), 5e-4);
  EXPECT_TRUE(sgd.nesterov());
  EXPECT_EQ(SGDOptions().lr(), SGDConfig{}.lr);
  const AdamOptions adam = AdamOptions(1e-3).betas({0.8, 0.99}).eps(1e-7).amsgrad(true);
  EXPECT_EQ(adam.lr(), 1e-3);
  EXPECT_EQ(adam.betas(), std::make_pair(0.8, 0.99));
  EXPECT_EQ(adam.eps(), 1e-7);
  EXPECT_EQ(adam.weight_decay(), 0.0);
  EXPECT_TRUE(adam.amsgrad());
  EXPECT_EQ(AdamWOptions().weight_decay(), 1e-2);
  // From a designated-initialiser config and back.
  EXPECT_EQ(SGDOptions(SGDConfig{.lr = 0.3}).lr(), 0.3);
  EXPECT_EQ(AdamOptions(AdamConfig{.beta2 = 0.9}).config().beta2, 0.9);
}

TEST(RMSprop, StateDictResumesExactlyWithEverySlot) {
  auto run = [](RMSprop& opt, Tensor& p, int steps, float g) {
    for (int i = 0; i < steps; ++i) {
      p.set_grad(full(p.shape(), g - static_cast<float>(i)));
      opt.step();
    }
  };
  const RMSpropConfig config{.lr = 0.01, .alpha = 0.9, .weight_decay = 1e-3, .momentum = 0.8, .centered = true};
  Tensor p1 = param({1, -2, 3});
  RMSprop a({{"w", p1}}, config);
  run(a, p1, 3, 0.5f);
  const OptimizerState state = a.state_dict();
  for (const char* slot : {"w.square_avg", "w.grad_avg", "w.momentum_buffer"})
    EXPECT_TRUE(state.tensors.contains(slot)) << slot;
  EXPECT_EQ(state.tensors.at("w.step").item<std::int64_t>(), 3);
  EXPECT_DOUBLE_EQ(state.groups[0]["alpha"].get<double>(), 0.9);

  Tensor p2 = p1.detach().clone().requires_grad_();
  RMSprop b({{"w", p2}}, RMSpropConfig{});
  b.load_state_dict(state);
  EXPECT_DOUBLE_EQ(b.option(0, "centered"), 1.0);
  run(a, p1, 2, 1.0f);
  run(b, p2, 2, 1.0f);
  EXPECT_TRUE(testing::tensors_identical(p1, p2));
  // Without momentum and centering only square_avg is kept.
  Tensor p3 = param({1});
  RMSprop plain({{"v", p3}}, RMSpropConfig{});
  run(plain, p3, 1, 1.0f);
  EXPECT_FALSE(plain.state_dict().tensors.contains("v.momentum_buffer"));
  EXPECT_FALSE(plain.state_dict().tensors.contains("v.grad_avg"));
}

TEST(RMSprop, OptionsHaveLibTorchGettersAndAreChecked) {
  const RMSpropOptions o = RMSpropOptions(1e-3).alpha(0.9).eps(1e-6).weight_decay(1e-4).momentum(0.5).centered(true);
  EXPECT_EQ(o.lr(), 1e-3);
  EXPECT_EQ(o.alpha(), 0.9);
  EXPECT_EQ(o.eps(), 1e-6);
  EXPECT_EQ(o.weight_decay(), 1e-4);
  EXPECT_EQ(o.momentum(), 0.5);
  EXPECT_TRUE(o.centered());
  EXPECT_EQ(RMSpropOptions().alpha(), 0.99);  // PyTorch's defaults
  EXPECT_EQ(RMSpropOptions().lr(), 1e-2);
  Tensor a = param({1, 2}), b = param({1, 2});
  EXPECT_EQ(RMSprop({{"w", a}}, o).state_dict().groups,
            RMSprop({{"w", b}}, {.lr = 1e-3, .alpha = 0.9, .eps = 1e-6, .weight_decay = 1e-4, .momentum = 0.5,
                                 .centered = true})
                .state_dict()
                .groups);
  try {
    RMSprop({a}, RMSpropConfig{.alpha = -0.1});
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "RMSprop: expected alpha >= 0, got -0.1");
  }
  EXPECT_THROW(RMSprop({a}, RMSpropConfig{.lr = -1}), ValueError);
  EXPECT_THROW(RMSprop({a}, RMSpropConfig{.eps = -1}), ValueError);
  EXPECT_THROW(RMSprop({a}, RMSpropConfig{.weight_decay = -1}), ValueError);
  EXPECT_THROW(RMSprop({a}, RMSpropConfig{.momentum = -1}), ValueError);
}

}  // namespace
}  // namespace shrink::optim
