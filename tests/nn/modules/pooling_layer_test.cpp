// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (nn/modules/pooling.cpp) against PyTorch (values,
// gradients, repr), gradcheck through each module, and the errors users meet.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "autograd/node.h"
#include "nn/modules/pooling.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;

Pool2dParams params(std::array<std::int64_t, 2> kernel, std::array<std::int64_t, 2> stride,
                    std::array<std::int64_t, 2> padding, std::array<std::int64_t, 2> dilation = {1, 1},
                    bool ceil_mode = false, bool count_include_pad = true) {
  Pool2dParams p;
  p.kernel = kernel;
  p.stride = stride;
  p.padding = padding;
  p.dilation = dilation;
  p.ceil_mode = ceil_mode;
  p.count_include_pad = count_include_pad;
  return p;
}

struct PoolCase {
  std::string name;
  std::function<ModulePtr()> make;
};

const std::vector<PoolCase>& cases() {
  static const std::vector<PoolCase> all = {
      {"max_pool_2", [] { return std::make_shared<MaxPool2d>(2); }},
      {"max_pool_3_s2_p1", [] { return std::make_shared<MaxPool2d>(3, 2, 1); }},
      {"max_pool_rect_ceil", [] { return std::make_shared<MaxPool2d>(params({3, 2}, {2, 1}, {1, 0}, {1, 1}, true)); }},
      {"max_pool_dilation", [] { return std::make_shared<MaxPool2d>(params({2, 2}, {1, 1}, {0, 0}, {2, 2})); }},
      {"avg_pool_2", [] { return std::make_shared<AvgPool2d>(2); }},
      {"avg_pool_3_s2_p1", [] { return std::make_shared<AvgPool2d>(3, 2, 1); }},
      {"avg_pool_rect_exclude_pad",
       [] { return std::make_shared<AvgPool2d>(params({2, 3}, {1, 2}, {1, 1}, {1, 1}, false, false)); }},
      {"adaptive_avg_pool_1", [] { return std::make_shared<AdaptiveAvgPool2d>(1); }},
      {"adaptive_avg_pool_3x2",
       [] { return std::make_shared<AdaptiveAvgPool2d>(std::array<std::int64_t, 2>{3, 2}); }},
  };
  return all;
}

class PoolFixture : public ::testing::TestWithParam<PoolCase> {};

TEST_P(PoolFixture, ForwardGradientReprAndEmptyStateMatchPyTorch) {
  ModulePtr m = GetParam().make();
  testing::expect_pytorch_layout(*m, GetParam().name);
  testing::expect_forward_backward_match(*m, GetParam().name);
}

// The max-pool inputs are a shuffled ramp with steps of 0.05: no ties within gradcheck's step.
TEST_P(PoolFixture, GradcheckThroughTheModule) {
  ModulePtr m = GetParam().make();
  EXPECT_TRUE(testing::module_gradchecks(*m, testing::layer_tensor(GetParam().name, "inputs", "x")));
}

INSTANTIATE_TEST_SUITE_P(Pooling, PoolFixture, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(MaxPool2d, DefaultStrideIsTheKernelSize) {
  MaxPool2d m(3);
  EXPECT_EQ(m.to_string(), "MaxPool2d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)");
  EXPECT_EQ(m(zeros({1, 1, 9, 7})).shape(), (Shape{1, 1, 3, 2}));
  AvgPool2d a(params({2, 3}, {0, 0}, {0, 0}));
  EXPECT_EQ(a.to_string(), "AvgPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0)");
  EXPECT_EQ(a(zeros({1, 1, 4, 6})).shape(), (Shape{1, 1, 2, 2}));
}

TEST(Pooling, RecordsTheirOpsWithSettings) {
  MaxPool2d m(params({3, 2}, {2, 1}, {1, 0}));
  Tensor y = m(randn({1, 1, 6, 5}).requires_grad_());
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, "max_pool2d");
  EXPECT_EQ(y.grad_fn()->attr_ints("stride"), (std::vector<std::int64_t>{2, 1}));
  AdaptiveAvgPool2d a(std::array<std::int64_t, 2>{2, 1});
  EXPECT_EQ(a(randn({1, 1, 4, 4}).requires_grad_()).grad_fn()->op, "adaptive_avg_pool2d");
  EXPECT_EQ(a.output_size(), (std::array<std::int64_t, 2>{2, 1}));
}

TEST(Pooling, CloneKeepsTheSettings) {
  MaxPool2d m(params({3, 2}, {2, 1}, {1, 0}, {1, 1}, true));
  EXPECT_EQ(m.clone()->to_string(), m.to_string());
  AdaptiveAvgPool2d a(4);
  EXPECT_EQ(a.clone()->to_string(), "AdaptiveAvgPool2d(output_size=4)");
}

TEST(AdaptiveAvgPool2d, NonPositiveOutputSizeIsRejectedAtConstruction) {
  EXPECT_EQ(error_of<ValueError>([] { AdaptiveAvgPool2d(0); }),
            "AdaptiveAvgPool2d: expected a positive output size, got (0, 0)");
  EXPECT_EQ(error_of<ValueError>([] { AdaptiveAvgPool2d(std::array<std::int64_t, 2>{2, -1}); }),
            "AdaptiveAvgPool2d: expected a positive output size, got (2, -1)");
}

TEST(Pooling, BadInputsAndSettingsReachTheUserWithTheOpsMessages) {
  MaxPool2d too_much_padding(2, 2, 2);
  EXPECT_EQ(error_of<ValueError>([&] { too_much_padding(zeros({1, 1, 4, 4})); }),
            "max_pool2d: expected padding at most half the kernel ([1, 1] for kernel [2, 2]), got [2, 2]");
  AvgPool2d avg(2);
  EXPECT_EQ(error_of<ShapeError>([&] { avg(zeros({3, 4, 4})); }),
            "avg_pool2d: expected a 4-D input [N, C, H, W], got shape [3, 4, 4]. Hint: a single image needs a batch "
            "dimension: unsqueeze(x, 0)");
  MaxPool2d big(5);
  EXPECT_EQ(error_of<ShapeError>([&] { big(zeros({1, 1, 4, 4})); }),
            "max_pool2d: output size would be 0 or negative: 0x0 (input [1, 1, 4, 4], kernel [5, 5], stride [5, 5], "
            "padding [0, 0], dilation [1, 1])");
}

}  // namespace
}  // namespace shrink::nn
