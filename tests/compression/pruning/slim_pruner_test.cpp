// SlimPruner: BatchNorm2d channels by |γ| with one global threshold (and per layer), the L1
// regulariser's value and gradient, config rules, misuse errors and every zoo model with BatchNorm.
#include "compression/pruning/slim_pruner.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/registry.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "nn/modules/batchnorm.h"
#include "tests/compression/pruning/data_pruner_testing.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

// conv(1 -> 4) bn(4) conv(4 -> 2) bn(2), γ of bn "1" = [0.5, -0.1, 0.9, 0.05], of bn "3" = [0.01, 0.02].
std::shared_ptr<nn::Sequential> two_batchnorms() {
  manual_seed(8);
  auto bn1 = std::make_shared<nn::BatchNorm2d>(4);
  auto bn3 = std::make_shared<nn::BatchNorm2d>(2);
  {
    NoGradGuard no_grad;
    bn1->param("weight").copy_(from_vector(std::vector<float>{0.5f, -0.1f, 0.9f, 0.05f}, {4}));
    bn1->param("bias").fill_(0.25);
    bn3->param("weight").copy_(from_vector(std::vector<float>{0.01f, 0.02f}, {2}));
  }
  return std::make_shared<nn::Sequential>(
      nn::Sequential{std::make_shared<nn::Conv2d>(1, 4, 1), bn1, std::make_shared<nn::Conv2d>(4, 2, 1), bn3});
}

std::vector<float> mask(const Pruner& p, const std::string& key) { return p.get_masks().at(key).to_vector(); }

TEST(SlimPruner, TotalSparsityRanksAllChannelsByOneThresholdOnGammaWithTheCap) {
  // 6 channels at 0.5 -> the 3 smallest |γ| overall: 0.01 (3:0), 0.02 (3:1) would follow, but the
  // cap floor(0.99 · 2) = 1 stops layer 3; then 0.05 (1:3) and 0.1 (1:1).
  auto net = two_batchnorms();
  SlimPruner pruner(net, ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "total_sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(mask(pruner, "1.weight"), (std::vector<float>{1, 0, 1, 0}));
  EXPECT_EQ(mask(pruner, "1.bias"), (std::vector<float>{1, 0, 1, 0}));
  EXPECT_EQ(mask(pruner, "3.weight"), (std::vector<float>{0, 1}));
  EXPECT_EQ(pruner.get_masks().size(), 4u);  // the convs are not touched
  // γ and β of a pruned channel are masked: the channel outputs exactly 0 (β alone would be 0.25).
  net->eval();
  const Tensor y = (*net->find_module("1"))(ones({1, 4, 1, 1}));
  EXPECT_EQ(y.at({0, 1, 0, 0}), 0.0);
  EXPECT_EQ(y.at({0, 3, 0, 0}), 0.0);
  EXPECT_NE(y.at({0, 0, 0, 0}), 0.0);
}

TEST(SlimPruner, SparsityPrunesEachLayerOnItsOwn) {
  // "default" is BatchNorm2d. floor(4 · 0.25) = 1 of layer 1 (0.05); floor(2 · 0.25) = 0 of layer 3.
  auto net = two_batchnorms();
  SlimPruner pruner(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.25}])"));
  pruner.compress();
  EXPECT_EQ(mask(pruner, "1.weight"), (std::vector<float>{1, 1, 1, 0}));
  EXPECT_EQ(mask(pruner, "3.weight"), (std::vector<float>{1, 1}));
}

TEST(SlimPruner, RegularizationIsScaleTimesTheL1NormOfGammaWithGradientScaleTimesSign) {
  auto net = two_batchnorms();
  SlimPruner pruner(net, ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "total_sparsity": 0.5}])"),
                    {.scale = 0.01});
  // Before compress(): Σ|γ| = 1.55 + 0.03.
  Tensor reg = pruner.regularization();
  EXPECT_NEAR(reg.item<float>(), 0.01 * 1.58, 1e-7);
  reg.backward();
  EXPECT_EQ(net->find_module("1")->param("weight").grad().to_vector(), (std::vector<float>{0.01f, -0.01f, 0.01f, 0.01f}));
  EXPECT_EQ(net->find_module("3")->param("weight").grad().to_vector(), (std::vector<float>{0.01f, 0.01f}));
  EXPECT_FALSE(net->find_module("0")->param("weight").grad().defined());
  // After compress(): the pruned channels (0.1, 0.05, 0.01) add nothing and get no gradient.
  pruner.compress();
  for (Tensor p : net->parameters()) p.zero_grad();
  reg = pruner.regularization();
  EXPECT_NEAR(reg.item<float>(), 0.01 * (0.5 + 0.9 + 0.02), 1e-7);
  reg.backward();
  EXPECT_EQ(net->find_module("1")->param("weight").grad().to_vector(), (std::vector<float>{0.01f, 0, 0.01f, 0}));
  EXPECT_EQ(net->find_module("3")->param("weight").grad().to_vector(), (std::vector<float>{0, 0.01f}));
}

TEST(SlimPruner, ConfigAndOptionsAreChecked) {
  auto net = two_batchnorms();
  SlimPruner conv(net, ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
  const char* const conv_message =
      "SlimPruner: config_list[0]['op_types']: SlimPruner cannot compress 'Conv2d' (it compresses: BatchNorm2d)";
  expect_message<ValueError>([&] { conv.compress(); }, conv_message);
  expect_message<ValueError>([&] { conv.regularization(); }, conv_message);  // checked as compress() would
  expect_message<ValueError>([&] { SlimPruner(two_batchnorms(), ConfigList::parse("[]"), {.scale = -1}); },
                             "SlimPruner: expected scale >= 0 (λ of the L1 penalty on BatchNorm γ), got -1");
  auto plain = std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::BatchNorm2d>(nn::BatchNormOptions{.num_features = 2, .affine = false})});
  SlimPruner no_gamma(plain, ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "sparsity": 0.5}])"));
  expect_message<ValueError>([&] { no_gamma.regularization(); },
                             "SlimPruner.regularization: '0' (BatchNorm2d) has no weight (Hint: a BatchNorm2d built "
                             "with affine=false has no γ to regularise)");
}

TEST(SlimPruner, CheckpointStateHoldsTheMasks) {
  auto net = two_batchnorms();
  SlimPruner pruner(net, ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "total_sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(pruner.state_dict().keys(),
            (std::vector<std::string>{"mask:1.weight", "mask:1.bias", "mask:3.weight", "mask:3.bias"}));
  auto other = two_batchnorms();
  SlimPruner resumed(other, ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "sparsity": 0.1}])"));
  resumed.compress();
  resumed.load_state_dict(pruner.state_dict());
  for (const auto& [key, m] : pruner.get_masks()) EXPECT_EQ(resumed.get_masks().at(key).to_vector(), m.to_vector());
}

TEST(SlimPruner, MakePrunerBuildsItByNameWithItsScale) {
  auto pruner = make_pruner("slim", two_batchnorms(), ConfigList::parse(R"([{"sparsity": 0.5, "op_types": ["default"]}])"),
                            {{"scale", 0.5}});
  ASSERT_NE(dynamic_cast<SlimPruner*>(pruner.get()), nullptr);
  EXPECT_EQ(dynamic_cast<SlimPruner&>(*pruner).scale(), 0.5);
  EXPECT_EQ(dynamic_cast<SlimPruner&>(*make_pruner("slim", two_batchnorms(), ConfigList())).scale(), 1e-4);
  expect_message<ValueError>([] { make_pruner("slim", two_batchnorms(), ConfigList(), {{"scale", "big"}}); },
                             "make_pruner(slim): option 'scale': expected a number, got \"big\"");
}

class SlimOnZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(SlimOnZoo, PrunesHalfOfEveryBatchNormAndTrainsWithTheRegularizer) {
  manual_seed(13);
  auto model = models::create(GetParam());
  SlimPruner pruner(model, ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "sparsity": 0.5}])"));
  testing::expect_finite_training_step(*model, [&] { return pruner.regularization(); });
  pruner.compress();
  ASSERT_FALSE(pruner.layers().empty());
  testing::expect_channel_sparsity(pruner, 0.5);
  testing::expect_finite_training_step(*model, [&] { return pruner.regularization(); });
}

// The zoo models with BatchNorm2d; the others have nothing Slim can prune.
INSTANTIATE_TEST_SUITE_P(Zoo, SlimOnZoo, ::testing::Values("vgg_small", "resnet20", "mobilenet_small", "inception_small"),
                         [](const auto& info) { return info.param; });

TEST(SlimPruner, AModelWithoutBatchNormIsAClearError) {
  SlimPruner pruner(models::create("lenet5"), ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  expect_message<ValueError>([&] { pruner.compress(); },
                             "SlimPruner: Nothing is configured to compress, please check your model and config_list "
                             "(the model's compressible modules: none)");
}

}  // namespace
}  // namespace shrink::compression
