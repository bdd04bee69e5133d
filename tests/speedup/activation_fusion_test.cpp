// GraphModule's conv → relu and add → relu fusion under NoGradGuard: the zoo models give exactly
// the floats of the unfused model, the pairs are the ones expected (resnet20: its 9 residual adds
// before and after BatchNorm folding), and hooks, grad recording and a value with another
// consumer all keep the two steps.
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "speedup/graph_module.h"
#include "speedup/inference_fusion.h"
#include "speedup/trace.h"
#include "tests/speedup/speedup_test_util.h"
#include "tests/support/fixtures.h"

namespace shrink::speedup {
namespace {

using shrink::testing::tensors_identical;

struct ZooCase {
  std::string model;
  std::size_t pairs_before_bn_fold, pairs_after_bn_fold;
};

void PrintTo(const ZooCase& c, std::ostream* os) { *os << c.model; }

class ZooActivationFusion : public ::testing::TestWithParam<ZooCase> {};

TEST_P(ZooActivationFusion, FusedForwardGivesTheUnfusedFloats) {
  manual_seed(4);
  nn::ModulePtr model = models::create(GetParam().model);
  Generator gen(4);
  testutil::randomize_batchnorms(*model, gen);
  auto gm = testutil::traced_eval(*model);
  EXPECT_EQ(gm->fusable_activations(), GetParam().pairs_before_bn_fold);
  fuse_for_inference(*gm);
  EXPECT_EQ(gm->fusable_activations(), GetParam().pairs_after_bn_fold);
  const Tensor x = randn({3, 1, 28, 28}, &gen);
  Tensor fused, steps;
  {
    NoGradGuard no_grad;
    fused = (*gm)(x);
  }
  steps = (*gm)(x).detach();  // grad mode on: every node runs on its own
  EXPECT_TRUE(tensors_identical(fused, steps));
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooActivationFusion,
                         ::testing::Values(ZooCase{"vgg_small", 0, 6}, ZooCase{"resnet20", 9, 19},
                                           ZooCase{"mobilenet_small", 0, 9}, ZooCase{"lenet5", 2, 2},
                                           ZooCase{"inception_small", 2, 2}),
                         [](const auto& info) { return info.param.model; });

/// conv → ReLU module → conv → relu op → a second use of the last conv's value.
class ConvChain : public nn::Cloneable<ConvChain> {
 public:
  ConvChain() : Cloneable("ConvChain") {
    register_module("c1", std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1), &ConvChain::c1);
    register_module("act", std::make_shared<nn::ReLU6>(), &ConvChain::act);
    register_module("c2", std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1), &ConvChain::c2);
    register_module("c3", std::make_shared<nn::Conv2d>(4, 4, 1), &ConvChain::c3);
  }
  std::shared_ptr<nn::Conv2d> c1, c2, c3;
  std::shared_ptr<nn::ReLU6> act;

 protected:
  Tensor forward(const Tensor& x) override {
    const Tensor h = relu((*c2)((*act)((*c1)(x))));
    const Tensor y = (*c3)(h);
    return relu(y) + y;  // c3's value has two consumers: not fused
  }
};

/// `model` traced, checked to have `pairs` fusable activations and to give the model's own
/// floats without grad, on an input past relu6's upper kink.
struct Twin {
  std::shared_ptr<GraphModule> gm;
  Tensor x, expected;
};
Twin checked_twin(nn::Module& model, std::size_t pairs) {
  auto gm = testutil::traced_eval(model);
  EXPECT_EQ(gm->fusable_activations(), pairs);
  const Tensor x = randn({2, 1, 9, 9}) * 8.0f;
  NoGradGuard no_grad;
  const Tensor expected = model(x);
  EXPECT_TRUE(tensors_identical((*gm)(x), expected));
  return {gm, x, expected};
}

/// The smallest input value a forward hook on `act` sees while `gm` runs `x` without grad
/// (checked to give `expected`).
float lowest_input_seen(nn::Module& act, GraphModule& gm, const Tensor& x, const Tensor& expected) {
  NoGradGuard no_grad;
  float lowest = 0.0f;
  auto handle =
      act.register_forward_hook([&](nn::Module&, const Tensor& in, const Tensor&) { lowest = min(in).item<float>(); });
  EXPECT_TRUE(tensors_identical(gm(x), expected));
  handle.remove();
  return lowest;
}

TEST(ActivationFusion, ModuleAndOpConsumersFuseAndASharedValueDoesNot) {
  manual_seed(5);
  auto model = std::make_shared<ConvChain>();
  checked_twin(*model, 2);
}

/// Residual joins: add → ReLU module, add → relu op, and an add whose sum is also used elsewhere.
class Joins : public nn::Cloneable<Joins> {
 public:
  Joins() : Cloneable("Joins") {
    register_module("c1", std::make_shared<nn::Conv2d>(1, 1, 3, 1, 1), &Joins::c1);
    register_module("c2", std::make_shared<nn::Conv2d>(1, 1, 1), &Joins::c2);
    register_module("act", std::make_shared<nn::ReLU>(), &Joins::act);
  }
  std::shared_ptr<nn::Conv2d> c1, c2;
  std::shared_ptr<nn::ReLU> act;

 protected:
  Tensor forward(const Tensor& x) override {
    const Tensor h = (*act)((*c1)(x) + x);  // add → ReLU module: fused
    const Tensor k = relu6((*c2)(h) + h);   // add → relu6 op: fused
    const Tensor s = k + h;                 // this sum feeds the relu and the output: not fused
    return relu(s) * s;
  }
};

TEST(ActivationFusion, ResidualAddsApplyTheirActivationInPlaceUnlessTheSumIsSharedOrHooked) {
  manual_seed(8);
  auto model = std::make_shared<Joins>();
  const auto [gm, x, expected] = checked_twin(*model, 2);
  // A hook on the ReLU sees the raw sum (negative values included).
  EXPECT_LT(lowest_input_seen(*model->act, *gm, x, expected), 0.0f);
}

TEST(ActivationFusion, AHookOnEitherModuleSeesTheUnfusedValues) {
  manual_seed(6);
  auto model = std::make_shared<ConvChain>();
  auto gm = testutil::traced_eval(*model);
  const Tensor x = randn({2, 1, 9, 9}) * 8.0f;
  NoGradGuard no_grad;
  const Tensor expected = (*model)(x);
  // The ReLU6's input must be the raw conv output (negative values included).
  EXPECT_LT(lowest_input_seen(*model->act, *gm, x, expected), 0.0f);
  // A hook on the conv sees its output before the activation.
  float conv_lowest = 0.0f;
  auto conv_handle = model->c1->register_forward_hook(
      [&](nn::Module&, const Tensor&, const Tensor& out) { conv_lowest = min(out).item<float>(); });
  EXPECT_TRUE(tensors_identical((*gm)(x), expected));
  EXPECT_LT(conv_lowest, 0.0f);
  conv_handle.remove();
}

TEST(ActivationFusion, WithGradTheBackwardIsTheUnfusedOne) {
  manual_seed(7);
  auto model = std::make_shared<ConvChain>();
  auto gm = testutil::traced_eval(*model);
  const Tensor x = randn({2, 1, 9, 9}) * 8.0f;
  sum((*gm)(x)).backward();
  const Tensor fused_grad = model->c1->weight().grad().clone();
  model->c1->weight().grad().zero_();
  sum((*model)(x)).backward();
  EXPECT_TRUE(tensors_identical(fused_grad, model->c1->weight().grad()));
}

}  // namespace
}  // namespace shrink::speedup
