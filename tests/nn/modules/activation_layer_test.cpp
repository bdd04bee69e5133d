// The activation layers (nn/modules/activation.cpp): ReLU, ReLU6, LeakyReLU, GELU, Sigmoid, Tanh
// against PyTorch (values, gradients, repr), gradcheck through each module, and GELU's error.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "autograd/node.h"
#include "nn/modules/activation.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

struct ActivationCase {
  std::string name;
  std::function<ModulePtr()> make;
  std::string op;  ///< the autograd op the layer records
};

const std::vector<ActivationCase>& cases() {
  static const std::vector<ActivationCase> all = {
      {"relu", [] { return std::make_shared<ReLU>(); }, "relu"},
      {"relu6", [] { return std::make_shared<ReLU6>(); }, "relu6"},
      {"leaky_relu_default", [] { return std::make_shared<LeakyReLU>(); }, "leaky_relu"},
      {"leaky_relu_0_2", [] { return std::make_shared<LeakyReLU>(0.2f); }, "leaky_relu"},
      {"gelu", [] { return std::make_shared<GELU>(); }, "gelu"},
      {"gelu_tanh", [] { return std::make_shared<GELU>("tanh"); }, "gelu"},
      {"sigmoid", [] { return std::make_shared<Sigmoid>(); }, "sigmoid"},
      {"tanh", [] { return std::make_shared<Tanh>(); }, "tanh"},
  };
  return all;
}

class ActivationFixture : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ActivationFixture, ForwardGradientReprAndEmptyStateMatchPyTorch) {
  ModulePtr m = GetParam().make();
  testing::expect_pytorch_layout(*m, GetParam().name);
  testing::expect_forward_backward_match(*m, GetParam().name);
  EXPECT_TRUE(m->parameters().empty());
}

// The fixture's input keeps every value at least 0.1 away from the kinks at 0 and 6.
TEST_P(ActivationFixture, GradcheckThroughTheModule) {
  ModulePtr m = GetParam().make();
  EXPECT_TRUE(testing::module_gradchecks(*m, testing::layer_tensor(GetParam().name, "inputs", "x")));
}

TEST_P(ActivationFixture, RecordsItsOp) {
  ModulePtr m = GetParam().make();
  Tensor y = (*m)(testing::layer_tensor(GetParam().name, "inputs", "x").requires_grad_());
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, GetParam().op);
}

INSTANTIATE_TEST_SUITE_P(Activations, ActivationFixture, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(LeakyReLU, KeepsItsSlope) {
  EXPECT_FLOAT_EQ(LeakyReLU().negative_slope(), 0.01f);
  EXPECT_FLOAT_EQ(LeakyReLU(0.3f).negative_slope(), 0.3f);
  EXPECT_EQ(LeakyReLU(0.3f).to_string(), "LeakyReLU(negative_slope=0.3)");
}

TEST(Activations, CloneKeepsTheSettings) {
  LeakyReLU leaky(0.2f);
  EXPECT_EQ(leaky.clone()->to_string(), "LeakyReLU(negative_slope=0.2)");
  GELU gelu("tanh");
  EXPECT_EQ(gelu.clone()->to_string(), "GELU(approximate='tanh')");
}

TEST(GELU, UnknownApproximationIsAValueError) {
  EXPECT_EQ(error_of<ValueError>([] { GELU("erf"); }),
            "GELU: expected approximate to be 'none' or 'tanh', got 'erf'");
  EXPECT_EQ(error_of<ValueError>([] { GELU(""); }), "GELU: expected approximate to be 'none' or 'tanh', got ''");
}

}  // namespace
}  // namespace shrink::nn
