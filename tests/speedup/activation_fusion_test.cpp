// GraphModule's conv → relu fusion under NoGradGuard: the zoo models give exactly the floats of
// the unfused model, the pairs are the ones expected, and hooks, grad recording and a conv value
// with another consumer all keep the two steps.
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
                         ::testing::Values(ZooCase{"vgg_small", 0, 6}, ZooCase{"resnet20", 0, 10},
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

TEST(ActivationFusion, ModuleAndOpConsumersFuseAndASharedValueDoesNot) {
  manual_seed(5);
  auto model = std::make_shared<ConvChain>();
  auto gm = testutil::traced_eval(*model);
  EXPECT_EQ(gm->fusable_activations(), 2u);
  const Tensor x = randn({2, 1, 9, 9}) * 8.0f;  // past relu6's upper kink too
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical((*gm)(x), (*model)(x)));
}

TEST(ActivationFusion, AHookOnEitherModuleSeesTheUnfusedValues) {
  manual_seed(6);
  auto model = std::make_shared<ConvChain>();
  auto gm = testutil::traced_eval(*model);
  const Tensor x = randn({2, 1, 9, 9}) * 8.0f;
  NoGradGuard no_grad;
  const Tensor expected = (*model)(x);
  // The ReLU6's input must be the raw conv output (negative values included).
  float lowest = 0.0f;
  auto handle = model->act->register_forward_hook(
      [&](nn::Module&, const Tensor& in, const Tensor&) { lowest = min(in).item<float>(); });
  EXPECT_TRUE(tensors_identical((*gm)(x), expected));
  EXPECT_LT(lowest, 0.0f);
  handle.remove();
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
