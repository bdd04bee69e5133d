// nn::BatchNorm1d / BatchNorm2d (nn/modules/batchnorm.cpp): two training steps and an eval step
// against PyTorch (outputs, gradients, running statistics, num_batches_tracked), gradcheck
// through the module, PyTorch's repr and state_dict layout, and the error messages.
#include <gtest/gtest.h>

#include <memory>

#include "autograd/generator.h"
#include "nn/modules/batchnorm.h"
#include "tests/nn/modules/layer_testing.h"

namespace shrink::nn {
namespace {

using testing::error_of;
using testing::layer_tensor;

struct BatchNormCase {
  std::string name;
  bool two_d;
  BatchNormOptions options;
};

std::shared_ptr<BatchNormBase> make(const BatchNormCase& c) {
  if (c.two_d) return std::make_shared<BatchNorm2d>(c.options);
  return std::make_shared<BatchNorm1d>(c.options);
}

class BatchNormFixture : public ::testing::TestWithParam<BatchNormCase> {};

// PyTorch ran: load state, train, out1 = m(x1) with backward, out2 = m(x2), eval, m(x3).
TEST_P(BatchNormFixture, TwoTrainingStepsThenEvalMatchPyTorch) {
  const std::string& c = GetParam().name;
  auto m = make(GetParam());
  testing::expect_pytorch_layout(*m, c);
  testing::load_fixture_state(*m, c);
  m->train();
  Tensor x1 = layer_tensor(c, "inputs", "x1").requires_grad_();
  Tensor out1 = (*m)(x1);
  EXPECT_TENSOR_NEAR(out1, layer_tensor(c, "outputs", "out1"), 1e-5, 1e-4);
  out1.backward(layer_tensor(c, "inputs", "grad_out"));
  EXPECT_TENSOR_NEAR(x1.grad(), layer_tensor(c, "outputs", "grad_x"), 1e-5, 1e-4);
  for (const auto& [name, p] : m->named_parameters()) {
    SCOPED_TRACE("gradient of " + name);
    EXPECT_TENSOR_NEAR(p.grad(), layer_tensor(c, "outputs", "grad_" + name), 1e-5, 1e-4);
  }
  testing::expect_state(*m, c, "state1");
  EXPECT_TENSOR_NEAR((*m)(layer_tensor(c, "inputs", "x2")), layer_tensor(c, "outputs", "out2"), 1e-5, 1e-4);
  testing::expect_state(*m, c, "state2");
  m->eval();
  EXPECT_TENSOR_NEAR((*m)(layer_tensor(c, "inputs", "x3")), layer_tensor(c, "outputs", "out_eval"), 1e-5, 1e-4);
  testing::expect_state(*m, c, "state2");  // eval leaves the statistics alone
}

INSTANTIATE_TEST_SUITE_P(
    BatchNorm, BatchNormFixture,
    ::testing::Values(BatchNormCase{"bn2d", true, {3}}, BatchNormCase{"bn2d_eps_momentum", true, {2, 1e-3f, 0.25f}},
                      BatchNormCase{"bn1d_nc", false, {4}}, BatchNormCase{"bn1d_ncl", false, {3, 1e-5f, 0.3f}},
                      BatchNormCase{"bn1d_no_affine", false, {3, 1e-5f, 0.1f, false, true}},
                      BatchNormCase{"bn2d_no_running_stats", true, {2, 1e-5f, 0.1f, true, false}},
                      BatchNormCase{"bn2d_no_affine_no_running_stats", true, {2, 1e-5f, 0.1f, false, false}}),
    [](const auto& info) { return info.param.name; });

TEST(BatchNorm2d, EvalModeUsesLoadedRunningStatisticsLikePyTorch) {
  BatchNorm2d m(3);
  testing::expect_pytorch_layout(m, "bn2d_eval");
  testing::expect_forward_backward_match(m, "bn2d_eval");
  EXPECT_EQ(m.buffer("num_batches_tracked").item<std::int64_t>(), 7);  // loaded, not counted in eval
}

TEST(BatchNorm2d, StateDictHasPyTorchsFiveEntriesWithAnInt64Counter) {
  BatchNorm2d m(4);
  EXPECT_EQ(m.state_dict().keys(),
            (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  const Tensor counter = m.state_dict().at("num_batches_tracked");  // a handle: the StateDict is a temporary
  EXPECT_EQ(counter.dtype(), DType::Int64);
  EXPECT_EQ(counter.shape(), Shape{});
  EXPECT_EQ(counter.item<std::int64_t>(), 0);
  // Parameters are trainable, buffers are not; initial values are PyTorch's.
  EXPECT_EQ(m.named_parameters().size(), 2u);
  for (const auto& p : m.parameters()) EXPECT_TRUE(p.requires_grad());
  for (const auto& b : m.buffers()) EXPECT_FALSE(b.requires_grad());
  EXPECT_TENSOR_NEAR(m.weight(), ones({4}));
  EXPECT_TENSOR_NEAR(m.bias(), zeros({4}));
  EXPECT_TENSOR_NEAR(m.running_mean(), zeros({4}));
  EXPECT_TENSOR_NEAR(m.running_var(), ones({4}));
}

TEST(BatchNorm2d, OptionsDecideWhichTensorsExist) {
  BatchNorm2d plain({3, 1e-5f, 0.1f, false, false});
  EXPECT_TRUE(plain.state_dict().empty());
  EXPECT_FALSE(plain.weight().defined());
  EXPECT_FALSE(plain.running_mean().defined());
  BatchNorm1d stats_only({3, 1e-5f, 0.1f, false, true});
  EXPECT_EQ(stats_only.state_dict().keys(),
            (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_TRUE(stats_only.parameters().empty());
}

TEST(BatchNorm, CounterAdvancesOncePerTrainingForwardOnly) {
  manual_seed(2);
  BatchNorm1d m(3);
  for (int i = 0; i < 3; ++i) m(randn({4, 3}));
  EXPECT_EQ(m.buffer("num_batches_tracked").item<std::int64_t>(), 3);
  m.eval();
  m(randn({4, 3}));
  EXPECT_EQ(m.buffer("num_batches_tracked").item<std::int64_t>(), 3);
}

TEST(BatchNorm, GradcheckThroughTheModuleInTrainingAndEval) {
  manual_seed(5);
  BatchNorm2d bn2(2);
  testing::load_fixture_state(bn2, "bn2d_eps_momentum");  // non-trivial weight and bias
  EXPECT_TRUE(testing::module_gradchecks(bn2, randn({3, 2, 2, 2})));
  BatchNorm1d bn1(3);
  EXPECT_TRUE(testing::module_gradchecks(bn1, randn({4, 3, 2}) * 2.0f + 1.0f));
  BatchNorm1d no_affine({3, 1e-5f, 0.1f, false, true});
  EXPECT_TRUE(testing::module_gradchecks(no_affine, randn({5, 3})));
  BatchNorm2d evaluated(3);
  testing::load_fixture_state(evaluated, "bn2d_eval");
  evaluated.eval();
  EXPECT_TRUE(testing::module_gradchecks(evaluated, randn({2, 3, 2, 2})));
}

TEST(BatchNorm, CloneCopiesRunningStatisticsIndependently) {
  BatchNorm2d m(3);
  testing::load_fixture_state(m, "bn2d_eval");
  auto copy = m.clone();
  EXPECT_EQ(copy->type_name(), "BatchNorm2d");
  ASSERT_NE(copy->as<BatchNorm2d>(), nullptr);
  copy->train();
  (*copy)(randn({2, 3, 2, 2}));
  EXPECT_EQ(copy->buffer("num_batches_tracked").item<std::int64_t>(), 8);
  EXPECT_EQ(m.buffer("num_batches_tracked").item<std::int64_t>(), 7);
  testing::expect_state(m, "bn2d_eval", "state");
}

TEST(BatchNorm, WrongChannelsAreAShapeError) {
  BatchNorm2d bn2(3);
  EXPECT_EQ(error_of<ShapeError>([&] { bn2(zeros({2, 4, 5, 5})); }),
            "BatchNorm2d: expected input of shape [N, C, H, W] with C = 3, got [2, 4, 5, 5]");
  BatchNorm1d bn1(4);
  EXPECT_EQ(error_of<ShapeError>([&] { bn1(zeros({2, 3})); }),
            "BatchNorm1d: expected input of shape [N, C] or [N, C, L] with C = 4, got [2, 3]");
}

TEST(BatchNorm, WrongRankIsAShapeErrorSuggestingTheOtherBatchNorm) {
  BatchNorm2d bn2(3);
  EXPECT_EQ(error_of<ShapeError>([&] { bn2(zeros({2, 3})); }),
            "BatchNorm2d: expected input of shape [N, C, H, W] with C = 3, got [2, 3]. Hint: use BatchNorm1d for "
            "[N, C] or [N, C, L]");
  EXPECT_EQ(error_of<ShapeError>([&] { bn2(zeros({3})); }),
            "BatchNorm2d: expected input of shape [N, C, H, W] with C = 3, got [3]");
  BatchNorm1d bn1(3);
  EXPECT_EQ(error_of<ShapeError>([&] { bn1(zeros({2, 3, 4, 5})); }),
            "BatchNorm1d: expected input of shape [N, C] or [N, C, L] with C = 3, got [2, 3, 4, 5]. Hint: use "
            "BatchNorm2d for [N, C, H, W]");
  EXPECT_EQ(error_of<ShapeError>([&] { bn1(scalar_tensor(1.0)); }),
            "BatchNorm1d: expected input of shape [N, C] or [N, C, L] with C = 3, got []");
}

TEST(BatchNorm, SingleValuePerChannelInTrainingIsRejectedWithoutTouchingTheState) {
  BatchNorm1d m(3);
  EXPECT_EQ(error_of<ValueError>([&] { m(ones({1, 3})); }),
            "batch_norm: expected more than 1 value per channel when training, got input of shape [1, 3]. Hint: "
            "use a batch of at least 2 samples or call eval()");
  EXPECT_EQ(m.buffer("num_batches_tracked").item<std::int64_t>(), 0);
  EXPECT_TENSOR_NEAR(m.running_mean(), zeros({3}));
  m.eval();
  EXPECT_EQ(m(ones({1, 3})).shape(), (Shape{1, 3}));  // eval normalises a single sample fine
}

TEST(BatchNorm, NonPositiveNumFeaturesIsRejected) {
  EXPECT_EQ(error_of<ValueError>([] { BatchNorm2d(0); }), "BatchNorm2d: expected positive num_features, got 0");
  EXPECT_EQ(error_of<ValueError>([] { BatchNorm1d(-2); }), "BatchNorm1d: expected positive num_features, got -2");
}

}  // namespace
}  // namespace shrink::nn
