// Parametrizations (nn/parametrize.cpp): the seam where masks and fake-quant enter the forward
// graph of Linear/Conv2d/BatchNorm without changing parameter objects, names or optimizers.
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::nn {
namespace {

using testing::expect_message;

/// The mask parametrization a pruner attaches: reads the owner's `<param>_mask` buffer, so a
/// clone reads its own mask.
ParametrizationFn mask_of(const std::string& param) {
  return [param](Module& owner, const Tensor& w) { return w * owner.buffer(param + "_mask"); };
}

/// Masks the first `rows` rows of a Linear's weight (and the matching bias entries).
void prune_rows(Linear& fc, std::int64_t rows) {
  Tensor mask = ones(fc.weight().shape());
  Tensor bias_mask = ones({fc.out_features()});
  for (std::int64_t r = 0; r < rows; ++r) {
    bias_mask.set({r}, 0);
    for (std::int64_t c = 0; c < fc.in_features(); ++c) mask.set({r, c}, 0);
  }
  fc.register_buffer("weight_mask", mask);
  fc.register_buffer("bias_mask", bias_mask);
  fc.register_parametrization("weight", mask_of("weight"), "mask");
  fc.register_parametrization("bias", mask_of("bias"), "mask");
}

TEST(Parametrize, WithoutParametrizationsParamValueIsTheParameterItselfAndAddsNoNode) {
  Linear fc(3, 2);
  EXPECT_EQ(fc.param_value("weight").impl(), fc.weight().impl());
  EXPECT_FALSE(fc.is_parametrized());
  Tensor y = fc(ones({1, 3}));
  // linear's weight edge goes straight to the weight's accumulator: nothing in between.
  ASSERT_EQ(y.grad_fn()->op, "linear");
  EXPECT_EQ(y.grad_fn()->next[1]->op, "AccumulateGrad");
}

TEST(Parametrize, MaskedWeightsComputeTheMaskedFunctionAndGetZeroGradient) {
  manual_seed(3);
  Linear fc(4, 3);
  prune_rows(fc, 1);
  Tensor x = randn({5, 4});
  Tensor expected =
      linear(x, fc.weight().detach() * fc.buffer("weight_mask"), fc.bias().detach() * fc.buffer("bias_mask"));
  Tensor y = fc(x);
  EXPECT_TENSOR_NEAR(y, expected);
  for (std::int64_t n = 0; n < 5; ++n) EXPECT_EQ(y.at({n, 0}), 0.0);  // the pruned output is exactly 0
  y.sum().backward();
  for (std::int64_t c = 0; c < 4; ++c) EXPECT_EQ(fc.weight().grad().at({0, c}), 0.0);
  EXPECT_EQ(fc.bias().grad().at({0}), 0.0);
  EXPECT_NE(fc.weight().grad().at({1, 0}), 0.0);
}

TEST(Parametrize, NamesStateDictKeysAndAnOptimizerMadeBeforeStayValid) {
  manual_seed(4);
  auto fc = std::make_shared<Linear>(4, 3);
  optim::SGD sgd(fc->named_parameters(), {.lr = 0.1});
  const auto* weight_impl = fc->weight().impl();
  prune_rows(*fc, 2);
  EXPECT_EQ(fc->state_dict().keys(), (std::vector<std::string>{"weight", "bias", "weight_mask", "bias_mask"}));
  EXPECT_EQ(fc->named_parameters().size(), 2u);
  EXPECT_EQ(fc->weight().impl(), weight_impl);
  const Tensor before = fc->weight().detach().clone();
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    pow((*fc)(randn({8, 4})), 2.0f).sum().backward();
    sgd.step();
  }
  // The pruned rows got no gradient (their raw values are unchanged); the others trained.
  for (std::int64_t c = 0; c < 4; ++c) {
    EXPECT_EQ(fc->weight().at({0, c}), before.at({0, c}));
    EXPECT_EQ(fc->weight().at({1, c}), before.at({1, c}));
    EXPECT_NE(fc->weight().at({2, c}), before.at({2, c}));
  }
}

TEST(Parametrize, SeveralStackInRegistrationOrderAndHandlesRemoveOne) {
  Linear fc(2, 2, /*bias=*/false);
  {
    NoGradGuard no_grad;
    fc.weight().fill_(1.0);
  }
  HookHandle twice = fc.register_parametrization(
      "weight", [](const Tensor& w) { return w * 2.0f; }, "twice");
  fc.register_parametrization(
      "weight", [](const Tensor& w) { return w + 1.0f; }, "plus_one");
  EXPECT_EQ(fc.parametrization_kinds("weight"), (std::vector<std::string>{"twice", "plus_one"}));
  EXPECT_EQ(fc.param_value("weight").at({0, 0}), 3.0);  // (1 * 2) + 1, not (1 + 1) * 2
  twice.remove();
  EXPECT_EQ(fc.param_value("weight").at({0, 0}), 2.0);
  EXPECT_EQ(fc.parametrization_kinds("weight"), (std::vector<std::string>{"plus_one"}));
  twice.remove();  // a second remove is a no-op
  EXPECT_TRUE(fc.is_parametrized("weight"));
}

TEST(Parametrize, RemoveLeavesTheTransformedOrTheRawValueInTheSameTensor) {
  manual_seed(5);
  Linear fc(4, 3);
  const auto* weight_impl = fc.weight().impl();
  const Tensor raw = fc.weight().detach().clone();
  prune_rows(fc, 1);
  fc.remove_parametrizations("weight", /*leave_parametrized=*/false);
  EXPECT_TRUE(testing::tensors_identical(fc.weight(), raw));
  fc.register_parametrization("weight", mask_of("weight"), "mask");
  fc.remove_parametrizations("weight");  // leave_parametrized: the mask is baked in
  EXPECT_EQ(fc.weight().impl(), weight_impl);
  EXPECT_TRUE(fc.weight().requires_grad());
  EXPECT_EQ(fc.weight().at({0, 1}), 0.0);
  EXPECT_EQ(fc.weight().at({1, 1}), raw.at({1, 1}));
  EXPECT_FALSE(fc.is_parametrized("weight"));
  EXPECT_TRUE(fc.is_parametrized("bias"));
  fc.remove_buffer("weight_mask");
  EXPECT_FALSE(fc.has_buffer("weight_mask"));
}

TEST(Parametrize, CloneKeepsParametrizationsThatReadTheClonesOwnBuffers) {
  manual_seed(6);
  auto fc = std::make_shared<Linear>(4, 3);
  prune_rows(*fc, 1);
  auto copy = std::dynamic_pointer_cast<Linear>(fc->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->parametrization_kinds("weight"), (std::vector<std::string>{"mask"}));
  copy->buffer("weight_mask").fill_(0.0);  // prune everything in the copy only
  copy->buffer("bias_mask").fill_(0.0);
  Tensor x = randn({2, 4});
  EXPECT_TENSOR_NEAR((*copy)(x), zeros({2, 3}));
  EXPECT_NE((*fc)(x).at({0, 1}), 0.0);
}

TEST(Parametrize, Conv2dAndBatchNormReadParametrizedValues) {
  manual_seed(7);
  Conv2d conv(2, 3, 3, 1, 1);
  conv.register_parametrization(
      "weight", [](const Tensor& w) { return w * 0.0f; }, "zero");
  Tensor x = randn({1, 2, 5, 5});
  Tensor y = conv(x);
  for (std::int64_t c = 0; c < 3; ++c) EXPECT_NEAR(y.at({0, c, 2, 2}), conv.bias().at({c}), 1e-6);

  BatchNorm2d bn(3);
  bn.eval();
  bn.register_parametrization(
      "weight", [](const Tensor& g) { return g * 2.0f; }, "double_gamma");
  Tensor z = bn(ones({1, 3, 2, 2}));
  // eval: (1 - 0) / sqrt(1 + eps) * (2 * 1) + 0
  EXPECT_NEAR(z.at({0, 1, 0, 0}), 2.0 / std::sqrt(1.0 + 1e-5), 1e-6);
}

TEST(Parametrize, GradientsFlowThroughTheTransformToTheRawParameter) {
  manual_seed(8);
  Tensor w = randn({3, 4}).requires_grad_();
  Tensor x = randn({2, 4});
  Tensor mask = from_vector(std::vector<float>{1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0}, {3, 4});
  auto f = [&](const TensorList& in) {
    Linear fc(4, 3, /*bias=*/false);
    {
      NoGradGuard no_grad;
      fc.weight().copy_(in[0]);
    }
    fc.register_buffer("weight_mask", mask);
    fc.register_parametrization("weight", mask_of("weight"), "mask");
    // Differentiate with respect to the input through the masked layer.
    return fc(in[1]) * fc.param_value("weight").sum();
  };
  EXPECT_TRUE(gradcheck(f, {w.detach(), x.requires_grad_()}));
  // And with respect to the raw weight (the function of w is masked_w @ x).
  auto g = [&](const TensorList& in) { return linear(x.detach(), in[0] * mask); };
  EXPECT_TRUE(gradcheck(g, {w}));
}

TEST(Parametrize, ErrorsNameTheModuleTheParameterAndWhatIsExpected) {
  Linear fc(4, 3);
  expect_message<IndexError>([&] { fc.register_parametrization("wieght", [](const Tensor& w) { return w; }); },
                             "Linear.register_parametrization: no parameter 'wieght' to parametrize (parameters: "
                             "weight, bias)");
  expect_message<ValueError>([&] { fc.register_parametrization("weight", ParametrizationFn()); },
                             "Linear.register_parametrization: expected a callable for 'weight', got an empty "
                             "function");
  expect_message<IndexError>([&] { fc.remove_parametrizations("bias"); },
                             "Linear.remove_parametrizations: parameter 'bias' has no parametrization");
  fc.register_parametrization(
      "weight", [](const Tensor& w) { return w.sum(); }, "collapse");
  expect_message<ShapeError>(
      [&] {
        fc(ones({1, 4}));
      },
      "Linear: parametrization 'collapse' of 'weight' must keep the parameter's shape [3, 4] "
      "and dtype float32, got [] float32");
  expect_message<IndexError>([&] { fc.remove_buffer("weight_mask"); },
                             "Linear.remove_buffer: no buffer 'weight_mask' (buffers: none)");
}

}  // namespace
}  // namespace shrink::nn
