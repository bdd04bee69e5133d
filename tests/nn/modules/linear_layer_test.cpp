// nn::Linear (nn/modules/linear.cpp): forward/backward against PyTorch, gradcheck through the
// module, PyTorch's repr and state_dict layout, default init, and its error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "nn/modules/linear.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

struct LinearCase {
  std::string name;
  std::int64_t in, out;
  bool bias;
};

class LinearFixture : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearFixture, ForwardGradientsReprAndStateMatchPyTorch) {
  const LinearCase& c = GetParam();
  Linear m(c.in, c.out, c.bias);
  testing::expect_pytorch_layout(m, c.name);
  testing::expect_forward_backward_match(m, c.name);
}

INSTANTIATE_TEST_SUITE_P(Linear, LinearFixture,
                         ::testing::Values(LinearCase{"linear_2d", 4, 3, true}, LinearCase{"linear_3d_no_bias", 5, 2, false},
                                           LinearCase{"linear_1d", 3, 4, true}),
                         [](const auto& info) { return info.param.name; });

TEST(Linear, GradcheckThroughTheModuleForInputWeightAndBias) {
  manual_seed(3);
  Linear m(4, 3);
  EXPECT_TRUE(testing::module_gradchecks(m, randn({2, 4})));
  Linear no_bias(3, 2, false);
  EXPECT_TRUE(testing::module_gradchecks(no_bias, randn({2, 3, 3})));
  Linear vec(5, 2);
  EXPECT_TRUE(testing::module_gradchecks(vec, randn({5})));
}

TEST(Linear, ParametersAreTrainableLeavesWithPyTorchLayout) {
  Linear m(6, 2);
  ASSERT_EQ(m.named_parameters().size(), 2u);
  EXPECT_EQ(m.weight().shape(), (Shape{2, 6}));
  EXPECT_EQ(m.bias().shape(), (Shape{2}));
  for (const auto& p : m.parameters()) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.is_leaf());
  }
  EXPECT_TRUE(m.named_buffers().empty());
  EXPECT_EQ(m.in_features(), 6);
  EXPECT_EQ(m.out_features(), 2);
  Linear no_bias(6, 2, false);
  EXPECT_FALSE(no_bias.bias().defined());
  EXPECT_EQ(no_bias.to_string(), "Linear(in_features=6, out_features=2, bias=False)");
}

TEST(Linear, DefaultInitIsUniformWithinOneOverSqrtFanInAndSeeded) {
  manual_seed(11);
  Linear a(50, 40);
  const double bound = 1.0 / std::sqrt(50.0);
  for (const Tensor& t : {a.weight(), a.bias()}) {
    const auto v = t.to_vector();
    double max_abs = 0;
    for (float x : v) max_abs = std::max(max_abs, double(std::abs(x)));
    EXPECT_LE(max_abs, bound);
    EXPECT_GT(max_abs, 0.8 * bound);  // the whole range is used, not a narrower one
  }
  manual_seed(11);
  Linear b(50, 40);
  EXPECT_TRUE(testing::tensors_identical(a.weight(), b.weight()));
  EXPECT_TRUE(testing::tensors_identical(a.bias(), b.bias()));
  Linear c(50, 40);
  EXPECT_FALSE(testing::tensors_identical(a.weight(), c.weight()));
}

TEST(Linear, ComputesXTimesWeightTransposedPlusBias) {
  Linear m(2, 2);
  io::StateDict sd;
  sd.insert("weight", from_vector(std::vector<float>{1.f, 2.f, 3.f, 4.f}, {2, 2}));
  sd.insert("bias", from_vector(std::vector<float>{0.5f, -1.f}, {2}));
  m.load_state_dict(sd);
  // [1, 1] · Wᵀ = [1+2, 3+4] = [3, 7]; plus bias.
  EXPECT_TENSOR_NEAR(m(from_vector(std::vector<float>{1.f, 1.f}, {1, 2})), from_vector(std::vector<float>{3.5f, 6.f}, {1, 2}));
}

TEST(Linear, WrongInputWidthIsAShapeErrorNamingInFeatures) {
  Linear m(4, 3);
  EXPECT_EQ(error_of<ShapeError>([&] { m(zeros({2, 5})); }),
            "Linear: expected input with last dim 4 (in_features), got shape [2, 5]");
  EXPECT_EQ(error_of<ShapeError>([&] { m(zeros({2, 1, 2, 2})); }),
            "Linear: expected input with last dim 4 (in_features), got shape [2, 1, 2, 2]. Hint: flatten conv "
            "features first (nn::Flatten)");
  EXPECT_EQ(error_of<ShapeError>([&] { m(scalar_tensor(1.0)); }),
            "Linear: expected input with last dim 4 (in_features), got shape []");
}

TEST(Linear, NonPositiveFeaturesAreRejected) {
  EXPECT_EQ(error_of<ValueError>([] { Linear(0, 3); }),
            "Linear: expected positive in_features and out_features, got 0 and 3");
  EXPECT_EQ(error_of<ValueError>([] { Linear(2, -1); }),
            "Linear: expected positive in_features and out_features, got 2 and -1");
}

}  // namespace
}  // namespace shrink::nn
