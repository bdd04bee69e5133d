// nn::Conv2d (nn/modules/conv.cpp): forward/backward against PyTorch, gradcheck through the
// module, PyTorch's repr and state_dict layout, default init, and its error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/node.h"
#include "nn/modules/conv.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

struct ConvCase {
  std::string name;
  Conv2dOptions options;
};

class ConvFixture : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvFixture, ForwardGradientsReprAndStateMatchPyTorch) {
  Conv2d m(GetParam().options);
  testing::expect_pytorch_layout(m, GetParam().name);
  testing::expect_forward_backward_match(m, GetParam().name, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    Conv2d, ConvFixture,
    ::testing::Values(ConvCase{"conv_3x3_pad1", {3, 4, {3, 3}, {1, 1}, {1, 1}}},
                      ConvCase{"conv_rect_stride_dil_groups_no_bias", {4, 6, {3, 2}, {2, 1}, {1, 0}, {1, 2}, 2, false}},
                      ConvCase{"conv_depthwise", {4, 4, {3, 3}, {2, 2}, {1, 1}, {1, 1}, 4, true}},
                      ConvCase{"conv_pointwise", {3, 5, {1, 1}}}),
    [](const auto& info) { return info.param.name; });

TEST(Conv2d, SquareShortcutBuildsTheSameLayerAsOptions) {
  Conv2d m(3, 4, 3, 1, 1);
  testing::expect_pytorch_layout(m, "conv_3x3_pad1");
  testing::expect_forward_backward_match(m, "conv_3x3_pad1", 1e-4);
  const Conv2dParams p = m.params();
  EXPECT_EQ(p.stride, (std::array<std::int64_t, 2>{1, 1}));
  EXPECT_EQ(p.padding, (std::array<std::int64_t, 2>{1, 1}));
  EXPECT_EQ(p.groups, 1);
  EXPECT_EQ(Conv2d(2, 3, 5, 2, 0, false).to_string(), "Conv2d(2, 3, kernel_size=(5, 5), stride=(2, 2), bias=False)");
}

TEST(Conv2d, GradcheckThroughTheModuleForInputWeightAndBias) {
  manual_seed(4);
  Conv2d plain(2, 3, 3, 1, 1);
  EXPECT_TRUE(testing::module_gradchecks(plain, randn({2, 2, 4, 4})));
  Conv2d grouped({4, 2, {2, 3}, {2, 1}, {1, 0}, {1, 2}, 2, false});
  EXPECT_TRUE(testing::module_gradchecks(grouped, randn({1, 4, 5, 6})));
  Conv2d depthwise({3, 3, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 3, true});
  EXPECT_TRUE(testing::module_gradchecks(depthwise, randn({2, 3, 3, 3})));
}

TEST(Conv2d, WeightIsOutByInOverGroupsByKernelAndTrainable) {
  Conv2d m({6, 9, {3, 2}, {1, 1}, {0, 0}, {1, 1}, 3, true});
  EXPECT_EQ(m.weight().shape(), (Shape{9, 2, 3, 2}));
  EXPECT_EQ(m.bias().shape(), (Shape{9}));
  for (const auto& p : m.parameters()) EXPECT_TRUE(p.requires_grad() && p.is_leaf());
  EXPECT_TRUE(m.named_buffers().empty());
  EXPECT_FALSE(Conv2d(2, 2, 1, 1, 0, false).bias().defined());
}

TEST(Conv2d, DefaultInitIsUniformWithinOneOverSqrtFanInAndSeeded) {
  manual_seed(21);
  Conv2d a({8, 16, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 4, true});  // fan_in = 8/4 · 3 · 3 = 18
  const double bound = 1.0 / std::sqrt(18.0);
  for (const Tensor& t : {a.weight(), a.bias()}) {
    double max_abs = 0;
    for (float x : t.to_vector()) max_abs = std::max(max_abs, double(std::abs(x)));
    EXPECT_LE(max_abs, bound);
    EXPECT_GT(max_abs, 0.8 * bound);
  }
  manual_seed(21);
  Conv2d b({8, 16, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 4, true});
  EXPECT_TRUE(testing::tensors_identical(a.weight(), b.weight()));
  EXPECT_TRUE(testing::tensors_identical(a.bias(), b.bias()));
}

TEST(Conv2d, RecordsItsSettingsOnTheGraphNode) {
  Conv2d m({4, 2, {3, 3}, {2, 1}, {1, 0}, {1, 2}, 2, true});
  Tensor y = m(randn({1, 4, 6, 7}).requires_grad_());
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, "conv2d");
  EXPECT_EQ(y.grad_fn()->attr_ints("stride"), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(y.grad_fn()->attr_ints("padding"), (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(y.grad_fn()->attr_ints("dilation"), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(y.grad_fn()->attr_int("groups"), 2);
}

TEST(Conv2d, ChannelsNotDivisibleByGroupsAreRejected) {
  EXPECT_EQ(error_of<ValueError>([] { Conv2d({4, 6, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 4, true}); }),
            "Conv2d: expected in_channels (4) and out_channels (6) divisible by groups, got groups=4");
  EXPECT_EQ(error_of<ValueError>([] { Conv2d({3, 6, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 2, true}); }),
            "Conv2d: expected in_channels (3) and out_channels (6) divisible by groups, got groups=2");
}

TEST(Conv2d, NonPositiveChannelsOrGroupsAreRejected) {
  EXPECT_EQ(error_of<ValueError>([] { Conv2d(0, 4, 3); }),
            "Conv2d: expected positive in_channels, out_channels and groups, got 0, 4 and 1");
  EXPECT_EQ(error_of<ValueError>([] { Conv2d({2, 2, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 0, true}); }),
            "Conv2d: expected positive in_channels, out_channels and groups, got 2, 2 and 0");
}

TEST(Conv2d, BadKernelStridePaddingOrDilationAreRejectedAtConstruction) {
  EXPECT_EQ(error_of<ValueError>([] { Conv2d({2, 2, {0, 3}, {1, 1}, {0, 0}, {1, 1}, 1, true}); }),
            "Conv2d: expected positive kernel_size, stride and dilation and non-negative padding, got "
            "kernel_size=(0, 3), stride=(1, 1), padding=(0, 0), dilation=(1, 1)");
  EXPECT_EQ(error_of<ValueError>([] { Conv2d(2, 2, 3, 0); }),
            "Conv2d: expected positive kernel_size, stride and dilation and non-negative padding, got "
            "kernel_size=(3, 3), stride=(0, 0), padding=(0, 0), dilation=(1, 1)");
  EXPECT_EQ(error_of<ValueError>([] { Conv2d(2, 2, 3, 1, -1); }),
            "Conv2d: expected positive kernel_size, stride and dilation and non-negative padding, got "
            "kernel_size=(3, 3), stride=(1, 1), padding=(-1, -1), dilation=(1, 1)");
  EXPECT_EQ(error_of<ValueError>([] { Conv2d({2, 2, {3, 3}, {1, 1}, {0, 0}, {1, 0}, 1, true}); }),
            "Conv2d: expected positive kernel_size, stride and dilation and non-negative padding, got "
            "kernel_size=(3, 3), stride=(1, 1), padding=(0, 0), dilation=(1, 0)");
}

TEST(Conv2d, WrongInputChannelsOrRankReachTheUserWithTheOpsMessage) {
  Conv2d m(3, 4, 3);
  EXPECT_EQ(error_of<ShapeError>([&] { m(zeros({2, 4, 5, 5})); }),
            "conv2d: expected input with 3 channels (weight [4, 3, 3, 3] with groups=1), got input [2, 4, 5, 5]. "
            "Hint: weight dim 1 is in_channels / groups");
  EXPECT_EQ(error_of<ShapeError>([&] { m(zeros({3, 5, 5})); }),
            "conv2d: expected a 4-D input [N, C, H, W], got shape [3, 5, 5]. Hint: a single image needs a batch "
            "dimension: unsqueeze(x, 0)");
}

}  // namespace
}  // namespace shrink::nn
