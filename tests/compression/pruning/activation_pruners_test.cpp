// ActivationAPoZRankPruner and ActivationMeanRankPruner: the statistics and masks on hand-computed
// outputs, the activation option, collection control, misuse errors, checkpoint resume and every
// zoo model.
#include "compression/pruning/activation_pruners.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "compression/pruning/registry.h"
#include "io/checkpoint.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "tests/compression/pruning/data_pruner_testing.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

// Linear(2 -> 3) without bias effect, rows r0 = [1, 0], r1 = [-1, 0], r2 = [0, 0.1].
std::shared_ptr<nn::Sequential> three_rows() {
  auto fc = std::make_shared<nn::Linear>(2, 3);
  NoGradGuard no_grad;
  fc->param("weight").copy_(from_vector(std::vector<float>{1, 0, -1, 0, 0, 0.1f}, {3, 2}));
  fc->param("bias").zero_();
  return std::make_shared<nn::Sequential>(nn::Sequential{fc});
}

// Inputs [1, -1], [2, 1], [-1, 1]. Outputs after ReLU: r0 1, 2, 0; r1 0, 0, 1; r2 0, 0.1, 0.1.
// APoZ: 1/3, 2/3, 1/3 -> r1 goes. Mean: 1, 1/3, 0.0667 -> r2 goes.
Tensor three_inputs() { return from_vector(std::vector<float>{1, -1, 2, 1, -1, 1}, {3, 2}); }

ConfigList one_of_three() { return ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.34}])"); }

TEST(ActivationAPoZRankPruner, PrunesTheChannelThatIsMostOftenZero) {
  auto net = three_rows();
  ActivationAPoZRankPruner pruner(net, one_of_three());
  pruner.compress();
  (*net)(three_inputs());
  const ChannelStatistics& s = pruner.statistics("0");
  EXPECT_EQ(s.sum.dtype(), DType::Int64);
  EXPECT_EQ(s.sum.to_vector(), (std::vector<float>{1, 2, 1}));
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.batches, 1);
  pruner.update_masks();
  EXPECT_EQ(pruner.get_masks().at("0.bias").to_vector(), (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 0, 0, 1, 1}));
}

TEST(ActivationMeanRankPruner, PrunesTheChannelWithTheLowestMeanActivation) {
  auto net = three_rows();
  ActivationMeanRankPruner pruner(net, one_of_three());
  pruner.compress();
  (*net)(three_inputs());
  EXPECT_TRUE(testing::tensors_close(pruner.statistics("0").sum, from_vector(std::vector<float>{3, 1, 0.2f}, {3})));
  pruner.update_masks();
  EXPECT_EQ(pruner.get_masks().at("0.bias").to_vector(), (std::vector<float>{1, 1, 0}));
}

// Conv2d(1 -> 2, 1x1), filters +1 and -1, no bias; one image [-1, 2, 7, 0]: channel 0 sees
// -1 2 7 0, channel 1 sees 1 -2 -7 0.
std::shared_ptr<nn::Sequential> plus_minus_conv() {
  auto conv = std::make_shared<nn::Conv2d>(1, 2, 1);
  NoGradGuard no_grad;
  conv->param("weight").copy_(from_vector(std::vector<float>{1, -1}, {2, 1, 1, 1}));
  conv->param("bias").zero_();
  return std::make_shared<nn::Sequential>(nn::Sequential{conv});
}

TEST(ActivationPruners, CountOverEverySpatialPositionAfterTheChosenActivation) {
  const Tensor image = from_vector(std::vector<float>{-1, 2, 7, 0}, {1, 1, 2, 2});
  const auto conv_config = ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])");
  struct Case {
    const char* activation;
    std::vector<float> sums;
    std::vector<float> zeros;
  };
  for (const Case& c : {Case{"relu", {9, 1}, {2, 3}}, Case{"relu6", {8, 1}, {2, 3}}, Case{"identity", {8, -8}, {1, 1}}}) {
    auto net = plus_minus_conv();
    ActivationMeanRankPruner mean(net, conv_config, {.activation = c.activation});
    mean.compress();
    auto net2 = plus_minus_conv();
    ActivationAPoZRankPruner apoz(net2, conv_config, {.activation = c.activation});
    apoz.compress();
    for (int batch = 0; batch < 2; ++batch) {
      (*net)(image);
      (*net2)(image);
    }
    std::vector<float> twice_sums = c.sums, twice_zeros = c.zeros;
    for (float& v : twice_sums) v *= 2;
    for (float& v : twice_zeros) v *= 2;
    EXPECT_EQ(mean.statistics("0").sum.to_vector(), twice_sums) << c.activation;
    EXPECT_EQ(apoz.statistics("0").sum.to_vector(), twice_zeros) << c.activation;
    EXPECT_EQ(mean.statistics("0").count, 8) << c.activation;  // 2 batches × 1 image × 2 × 2 positions
    EXPECT_EQ(apoz.statistics("0").batches, 2) << c.activation;
  }
}

TEST(ActivationPruners, CollectOnEveryTrainingModeCallUntilPausedOrBounded) {
  auto net = three_rows();
  ActivationAPoZRankPruner pruner(net, one_of_three(), {.max_batches = 2});
  pruner.compress();
  net->eval();
  {
    NoGradGuard no_grad;  // an evaluation pass is not a batch
    (*net)(three_inputs());
  }
  EXPECT_EQ(pruner.statistics("0").batches, 0);
  net->train();
  (*net)(three_inputs());
  pruner.set_collecting(false);
  (*net)(three_inputs());
  EXPECT_EQ(pruner.statistics("0").batches, 1);
  pruner.set_collecting(true);
  for (int i = 0; i < 3; ++i) (*net)(three_inputs());
  EXPECT_EQ(pruner.statistics("0").batches, 2);
  EXPECT_EQ(pruner.statistics("0").count, 6);
}

TEST(ActivationPruners, MisuseIsAClearError) {
  auto net = three_rows();
  ActivationMeanRankPruner pruner(net, one_of_three());
  pruner.compress();
  expect_message<StateError>([&] { pruner.update_masks(); },
                             "ActivationMeanRankPruner.update_masks: no batch collected yet for '0' (Hint: after "
                             "compress(), run the model on some batches, then call update_masks())");
  expect_message<ValueError>(
      [] { ActivationAPoZRankPruner(three_rows(), one_of_three(), {.activation = "gelu"}); },
      "ActivationAPoZRankPruner: expected activation 'relu', 'relu6' or 'identity', got 'gelu'");
  expect_message<IndexError>([&] { pruner.statistics("1"); },
                             "ActivationMeanRankPruner.statistics: expected one of the pruned layers ('0'), got '1'");
}

TEST(ActivationPruners, UnwrapRemovesTheForwardHooks) {
  auto net = three_rows();
  ActivationAPoZRankPruner pruner(net, one_of_three(), {.reset_after_update = true});
  pruner.compress();
  (*net)(three_inputs());
  pruner.update_masks();
  EXPECT_EQ(pruner.statistics("0").batches, 0);  // reset_after_update
  pruner.unwrap();
  (*net)(three_inputs());
  EXPECT_EQ(pruner.statistics("0").batches, 0);
}

std::shared_ptr<nn::Sequential> small_cnn() {
  return std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::Conv2d>(1, 4, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(4 * 4 * 4, 3)});
}

ConfigList half() { return ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"); }

Tensor batch(int b) {
  Generator gen(static_cast<std::uint64_t>(500 + b));
  return randn({2, 1, 6, 6}, &gen);
}

// An uninterrupted run of 3 batches against one checkpointed to a file after 2 and resumed in a
// fresh model and pruner: the same statistics and masks.
template <typename P>
void expect_resume_after_two_of_three_batches() {
  manual_seed(4);
  auto net = small_cnn();
  P pruner(net, half());
  pruner.compress();
  for (int b = 0; b < 3; ++b) (*net)(batch(b));
  pruner.update_masks();

  manual_seed(4);
  auto first = small_cnn();
  P p1(first, half());
  p1.compress();
  for (int b = 0; b < 2; ++b) (*first)(batch(b));
  io::Checkpoint ckpt;
  ckpt.model = first->state_dict();
  ckpt.compressor_tensors = p1.state_dict();
  testing::TempDir dir;
  io::save_checkpoint(ckpt, dir.file("run.ckpt.h5"));

  manual_seed(5);
  auto resumed = small_cnn();
  P p2(resumed, half());
  p2.compress();
  const io::Checkpoint loaded = io::load_checkpoint(dir.file("run.ckpt.h5"));
  resumed->load_state_dict(loaded.model);
  p2.load_state_dict(loaded.compressor_tensors);
  EXPECT_EQ(p2.statistics("0").batches, 2);
  (*resumed)(batch(2));
  p2.update_masks();
  for (const char* layer : {"0", "3"}) {
    EXPECT_EQ(p2.statistics(layer).sum.dtype(), pruner.statistics(layer).sum.dtype()) << layer;
    EXPECT_EQ(p2.statistics(layer).sum.to_vector(), pruner.statistics(layer).sum.to_vector()) << layer;
    EXPECT_EQ(p2.statistics(layer).count, pruner.statistics(layer).count) << layer;
    EXPECT_EQ(p2.statistics(layer).batches, 3) << layer;
  }
  for (const auto& [key, mask] : pruner.get_masks()) EXPECT_EQ(p2.get_masks().at(key).to_vector(), mask.to_vector()) << key;
}

TEST(ActivationPruners, ACheckpointedRunResumesWithTheSameStatistics) {
  expect_resume_after_two_of_three_batches<ActivationAPoZRankPruner>();
  expect_resume_after_two_of_three_batches<ActivationMeanRankPruner>();
}

TEST(ActivationPruners, LoadStateDictRejectsStatisticsOfAnotherShape) {
  manual_seed(4);
  auto net = small_cnn();
  ActivationAPoZRankPruner pruner(net, half());
  pruner.compress();
  io::StateDict state = pruner.state_dict();
  state.set("stat:0.sum", zeros({4}));  // a Mean pruner's float sums
  expect_message<ValueError>([&] { pruner.load_state_dict(state); },
                             "ActivationAPoZRankPruner.load_state_dict: expected the statistics of this pruner's "
                             "layers, got shape/dtype mismatch: stat:0.sum (expected [4] int64, got [4] float32) "
                             "(Hint: a state_dict loads into the same pruner class on the same model and config_list)");
  state = pruner.state_dict();
  state.set("stat:masks_computed", from_vector(std::vector<std::int64_t>{2}, {1}));
  expect_message<ValueError>([&] { pruner.load_state_dict(state); },
                             "ActivationAPoZRankPruner.load_state_dict: expected stat:masks_computed 0 or 1, got 2");
  state = pruner.state_dict();
  state.set("stat:3.count", from_vector(std::vector<std::int64_t>{-1}, {1}));
  expect_message<ValueError>([&] { pruner.load_state_dict(state); },
                             "ActivationAPoZRankPruner.load_state_dict: expected counts >= 0 for '3', got count -1 and "
                             "batches 0");
}

TEST(ActivationPruners, MakePrunerBuildsThemByNameWithTheirOptions) {
  auto apoz = make_pruner("apoz", three_rows(), one_of_three(), {{"activation", "relu6"}, {"max_batches", 3}});
  ASSERT_EQ(apoz->name(), "ActivationAPoZRankPruner");
  EXPECT_EQ(dynamic_cast<ActivationPruner&>(*apoz).activation(), ActivationPruner::Activation::ReLU6);
  auto mean = make_pruner("mean_activation", three_rows(), one_of_three());
  ASSERT_EQ(mean->name(), "ActivationMeanRankPruner");
  EXPECT_EQ(dynamic_cast<ActivationPruner&>(*mean).activation(), ActivationPruner::Activation::ReLU);
  expect_message<ValueError>([] { make_pruner("apoz", three_rows(), one_of_three(), {{"activation", 6}}); },
                             "make_pruner(apoz): option 'activation': expected a string, got 6");
}

class ActivationOnZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(ActivationOnZoo, BothPrunersPruneHalfOfEveryLayerAndTheModelStillTrains) {
  manual_seed(12);
  auto model = models::create(GetParam());
  ActivationAPoZRankPruner apoz(model, half());
  apoz.compress();
  (*model)(testing::zoo_input());
  apoz.update_masks();
  testing::expect_channel_sparsity(apoz, 0.5);
  testing::expect_finite_training_step(*model);
  apoz.unwrap();
  ActivationMeanRankPruner mean(model, half());
  mean.compress();
  (*model)(testing::zoo_input());
  mean.update_masks();
  testing::expect_channel_sparsity(mean, 0.5);
  testing::expect_finite_training_step(*model);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ActivationOnZoo, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace shrink::compression
