// TaylorFOWeightPruner: the per-filter score on hand-computed gradients, collection through the
// gradient hook, misuse errors, checkpoint resume and every zoo model.
#include "compression/pruning/taylor_pruner.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/registry.h"
#include "compression/pruning/weight_pruners.h"
#include "io/checkpoint.h"
#include "nn/checkpoint.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"
#include "tests/compression/pruning/data_pruner_testing.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

// Linear(2 -> 3), rows r0 = [1, 1], r1 = [2, -1], r2 = [0.5, 0.5]. With loss = Σ outputs,
// ∂L/∂W[c] = Σ_n x_n for every row c.
std::shared_ptr<nn::Sequential> three_rows() {
  auto fc = std::make_shared<nn::Linear>(2, 3);
  NoGradGuard no_grad;
  fc->param("weight").copy_(from_vector(std::vector<float>{1, 1, 2, -1, 0.5f, 0.5f}, {3, 2}));
  return std::make_shared<nn::Sequential>(nn::Sequential{fc});
}

void backward_sum(nn::Module& net, const std::vector<float>& x) {
  sum(net(from_vector(x, {1, 2}))).backward();
}

ConfigList one_of_three() { return ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.34}])"); }

TEST(TaylorFOWeightPruner, ScoresEachFilterByItsSquaredFirstOrderTermSummedOverBatches) {
  auto net = three_rows();
  TaylorFOWeightPruner pruner(net, one_of_three());
  pruner.compress();
  // Batch x = [1, 2]: Σ w·g per row = 3, 0, 1.5 -> 9, 0, 2.25.
  backward_sum(*net, {1, 2});
  EXPECT_EQ(pruner.statistics("0").sum.to_vector(), (std::vector<float>{9, 0, 2.25f}));
  // Batch x = [2, 0]: 2, 4, 1 -> 4, 16, 1; accumulated 13, 16, 3.25.
  backward_sum(*net, {2, 0});
  EXPECT_EQ(pruner.statistics("0").sum.to_vector(), (std::vector<float>{13, 16, 3.25f}));
  EXPECT_EQ(pruner.statistics("0").batches, 2);
  pruner.update_masks();
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(pruner.get_masks().at("0.bias").to_vector(), (std::vector<float>{1, 1, 0}));
}

TEST(TaylorFOWeightPruner, SquaresTheFilterSumNotEachElement) {
  // After the first batch alone r1 scores (2·1 − 1·2)² = 0 and goes, although its elements'
  // squared terms (4 + 4) exceed r2's (0.25 + 1).
  auto net = three_rows();
  TaylorFOWeightPruner pruner(net, one_of_three());
  pruner.compress();
  backward_sum(*net, {1, 2});
  pruner.update_masks();
  EXPECT_EQ(pruner.get_masks().at("0.bias").to_vector(), (std::vector<float>{1, 0, 1}));
}

TEST(TaylorFOWeightPruner, NeedsABackwardPassBeforeUpdateMasks) {
  auto net = three_rows();
  TaylorFOWeightPruner pruner(net, one_of_three());
  const io::StateDict masks = pruner.compress();
  for (const auto& [key, mask] : masks) EXPECT_EQ(testing::pruned_channels(mask), 0) << key;
  (*net)(ones({1, 2}));  // a forward pass alone brings no gradient
  expect_message<StateError>([&] { pruner.update_masks(); },
                             "TaylorFOWeightPruner.update_masks: no batch collected yet for '0' (Hint: after "
                             "compress(), run forward and backward passes over some training batches, then call "
                             "update_masks())");
}

TEST(TaylorFOWeightPruner, ResetAfterUpdateAndMaxBatchesBoundTheStatistics) {
  auto net = three_rows();
  TaylorFOWeightPruner pruner(net, one_of_three(), {.max_batches = 1, .reset_after_update = true});
  pruner.compress();
  backward_sum(*net, {1, 2});
  backward_sum(*net, {2, 0});  // beyond max_batches: ignored
  EXPECT_EQ(pruner.statistics("0").sum.to_vector(), (std::vector<float>{9, 0, 2.25f}));
  EXPECT_EQ(pruner.statistics("0").batches, 1);
  pruner.update_masks();
  EXPECT_EQ(pruner.statistics("0").batches, 0);
  EXPECT_EQ(pruner.statistics("0").sum.to_vector(), (std::vector<float>{0, 0, 0}));
  EXPECT_THROW(pruner.update_masks(), StateError);
  pruner.set_collecting(false);
  backward_sum(*net, {1, 2});
  EXPECT_EQ(pruner.statistics("0").batches, 0);
  expect_message<ValueError>([] { TaylorFOWeightPruner(three_rows(), one_of_three(), {.max_batches = -1}); },
                             "TaylorFOWeightPruner: expected max_batches >= 0 (0 = no limit), got -1");
}

TEST(TaylorFOWeightPruner, UnwrapAndDestructionRemoveTheGradientHook) {
  auto net = three_rows();
  {
    TaylorFOWeightPruner pruner(net, one_of_three());
    pruner.compress();
    backward_sum(*net, {1, 2});
    pruner.update_masks();
    pruner.unwrap();
    backward_sum(*net, {2, 0});
    EXPECT_EQ(pruner.statistics("0").batches, 1);
    EXPECT_TRUE(net->find_module("0")->param("weight").impl()->hooks.empty());
    EXPECT_FALSE(net->find_module("0")->has_buffer("weight_mask"));
  }
  auto other = three_rows();
  {
    TaylorFOWeightPruner pruner(other, one_of_three());
    pruner.compress();
  }
  EXPECT_TRUE(other->find_module("0")->param("weight").impl()->hooks.empty());
  backward_sum(*other, {1, 2});  // would call into the destroyed pruner if its hook were left
}

TEST(TaylorFOWeightPruner, FrozenWeightsAndMisuseAreClearErrors) {
  auto net = three_rows();
  net->find_module("0")->param("weight").requires_grad_(false);
  TaylorFOWeightPruner pruner(net, one_of_three());
  expect_message<ValueError>([&] { pruner.compress(); },
                             "TaylorFOWeightPruner.compress: '0.weight' does not require grad, so no gradient will "
                             "reach it (Hint: exclude frozen layers from the config_list)");
  TaylorFOWeightPruner unused(three_rows(), one_of_three());
  expect_message<IndexError>([&] { unused.statistics("0"); },
                             "TaylorFOWeightPruner.statistics: expected one of the pruned layers (none before "
                             "compress()), got '0'");
}

std::shared_ptr<nn::Sequential> small_cnn() {
  manual_seed(3);
  return std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::Conv2d>(1, 4, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(4 * 4 * 4, 3)});
}

void train_batch(nn::Module& net, optim::SGD& sgd, int batch) {
  manual_seed(100 + static_cast<std::uint64_t>(batch));
  sgd.zero_grad();
  cross_entropy(net(randn({2, 1, 6, 6})), from_vector(std::vector<std::int64_t>{batch % 3, 2}, {2})).backward();
  sgd.step();
}

ConfigList half() { return ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"); }

TEST(TaylorFOWeightPruner, ACheckpointedRunResumesWithTheSameStatistics) {
  // Uninterrupted: 3 batches, then masks.
  auto net = small_cnn();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  TaylorFOWeightPruner pruner(net, half());
  pruner.compress();
  for (int b = 0; b < 3; ++b) train_batch(*net, sgd, b);
  pruner.update_masks();
  // Interrupted after 2 batches, checkpointed to a file, resumed in a fresh model and pruner.
  auto first = small_cnn();
  optim::SGD sgd1(first->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  TaylorFOWeightPruner p1(first, half());
  p1.compress();
  for (int b = 0; b < 2; ++b) train_batch(*first, sgd1, b);
  io::Checkpoint ckpt = nn::make_checkpoint(*first, &sgd1, nullptr, 0);
  ckpt.compressor_tensors = p1.state_dict();
  EXPECT_TRUE(ckpt.compressor_tensors.contains("stat:0.sum"));
  EXPECT_TRUE(ckpt.compressor_tensors.contains("stat:3.batches"));
  testing::TempDir dir;
  io::save_checkpoint(ckpt, dir.file("run.ckpt.h5"));

  manual_seed(99);  // another initialisation: everything must come from the checkpoint
  auto resumed = std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::Conv2d>(1, 4, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(4 * 4 * 4, 3)});
  optim::SGD sgd2(resumed->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  TaylorFOWeightPruner p2(resumed, half());
  p2.compress();
  const io::Checkpoint loaded = io::load_checkpoint(dir.file("run.ckpt.h5"));
  nn::restore_checkpoint(loaded, *resumed, &sgd2, nullptr, nullptr);
  p2.load_state_dict(loaded.compressor_tensors);
  EXPECT_EQ(p2.statistics("0").batches, 2);
  train_batch(*resumed, sgd2, 2);
  p2.update_masks();
  for (const char* layer : {"0", "3"}) {
    EXPECT_EQ(p2.statistics(layer).sum.to_vector(), pruner.statistics(layer).sum.to_vector()) << layer;
    EXPECT_EQ(p2.statistics(layer).batches, 3);
  }
  for (const auto& [key, mask] : pruner.get_masks()) EXPECT_EQ(p2.get_masks().at(key).to_vector(), mask.to_vector()) << key;
}

TEST(TaylorFOWeightPruner, TheFirstUpdateEpochComputesTheMasksInAPlainTrainingLoop) {
  auto net = small_cnn();
  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.05));
  TaylorFOWeightPruner pruner(net, half());
  pruner.compress();
  pruner.update_epoch(0);  // the start-of-training call of loops that call it before each epoch
  EXPECT_FALSE(pruner.masks_computed());
  expect_message<StateError>([&] { pruner.update_epoch(1); },
                             "TaylorFOWeightPruner.update_epoch: no batch collected yet for '0' (Hint: after "
                             "compress(), run forward and backward passes over some training batches, then call "
                             "update_masks())");
  net->eval();  // an evaluation backward pass is not a batch
  cross_entropy((*net)(randn({2, 1, 6, 6})), from_vector(std::vector<std::int64_t>{0, 1}, {2})).backward();
  EXPECT_EQ(pruner.statistics("0").batches, 0);
  net->train();
  for (int b = 0; b < 2; ++b) train_batch(*net, sgd, b);
  pruner.update_epoch(1);
  EXPECT_TRUE(pruner.masks_computed());
  testing::expect_channel_sparsity(pruner, 0.5);
  const io::StateDict first = pruner.get_masks();
  for (int b = 2; b < 6; ++b) train_batch(*net, sgd, b);
  pruner.update_epoch(2);  // one-shot: the masks stay
  for (const auto& [key, mask] : first) EXPECT_EQ(pruner.get_masks().at(key).to_vector(), mask.to_vector()) << key;
  // The flag travels with the checkpoint state: a resumed run does not recompute either.
  auto other = small_cnn();
  TaylorFOWeightPruner resumed(other, half());
  resumed.compress();
  resumed.load_state_dict(pruner.state_dict());
  EXPECT_TRUE(resumed.masks_computed());
  resumed.update_epoch(3);
  for (const auto& [key, mask] : first) EXPECT_EQ(resumed.get_masks().at(key).to_vector(), mask.to_vector()) << key;
}

TEST(TaylorFOWeightPruner, LoadStateDictNeedsTheStatisticsAndChangesNothingWithoutThem) {
  auto net = small_cnn();
  TaylorFOWeightPruner pruner(net, half());
  pruner.compress();
  auto other = small_cnn();
  L1NormPruner l1(other, half());
  l1.compress();
  const io::StateDict before = pruner.get_masks();
  expect_message<ValueError>([&] { pruner.load_state_dict(l1.state_dict()); },
                             "TaylorFOWeightPruner.load_state_dict: expected the statistics of this pruner's layers, "
                             "got missing keys: stat:0.sum, stat:0.count, stat:0.batches, stat:3.sum, stat:3.count, "
                             "stat:3.batches, stat:masks_computed (Hint: a state_dict loads into the same pruner class on the same model "
                             "and config_list)");
  for (const auto& [key, mask] : before) EXPECT_EQ(pruner.get_masks().at(key).to_vector(), mask.to_vector());
}

TEST(TaylorFOWeightPruner, MakePrunerBuildsItByNameWithItsOptions) {
  auto net = three_rows();
  auto pruner = make_pruner("taylorfo", net, one_of_three(), {{"max_batches", 1}, {"reset_after_update", true}});
  EXPECT_EQ(pruner->name(), "TaylorFOWeightPruner");
  pruner->compress();
  backward_sum(*net, {1, 2});
  backward_sum(*net, {2, 0});
  auto& taylor = dynamic_cast<TaylorFOWeightPruner&>(*pruner);
  EXPECT_EQ(taylor.statistics("0").batches, 1);
  pruner->update_masks();
  EXPECT_EQ(taylor.statistics("0").batches, 0);
  expect_message<ValueError>([] { make_pruner("taylorfo", three_rows(), one_of_three(), {{"reset_after_update", 1}}); },
                             "make_pruner(taylorfo): option 'reset_after_update': expected true or false, got 1");
}

class TaylorOnZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(TaylorOnZoo, PrunesHalfOfEveryLayerAndStillTrains) {
  manual_seed(11);
  auto model = models::create(GetParam());
  TaylorFOWeightPruner pruner(model, half());
  pruner.compress();
  cross_entropy((*model)(testing::zoo_input()), testing::zoo_targets()).backward();
  pruner.update_masks();
  testing::expect_channel_sparsity(pruner, 0.5);
  testing::expect_finite_training_step(*model);
}

INSTANTIATE_TEST_SUITE_P(Zoo, TaylorOnZoo, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace shrink::compression
