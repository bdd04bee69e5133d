// The Pruner API (compression/pruning/pruner.h): masks in the forward graph, optimizer continuity,
// unwrap, masks through HDF5, checkpoint state and misuse errors.
#include "compression/pruning/pruner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/weight_pruners.h"
#include "io/state_dict_file.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::expect_message;

std::shared_ptr<nn::Sequential> small_cnn() {
  manual_seed(7);
  return std::make_shared<nn::Sequential>(nn::Sequential{
      std::make_shared<nn::Conv2d>(1, 4, 3), std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(4 * 4 * 4, 3)});
}

ConfigList half_of_everything() { return ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"); }

std::int64_t zeros_in(const Tensor& t) {
  const Tensor f = t.to(DType::Float32);
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < f.numel(); ++i) n += f.data<float>()[i] == 0.0f;
  return n;
}

TEST(Pruner, CompressKeepsParameterObjectsAndAnOptimizerMadeBeforeKeepsTraining) {
  auto net = small_cnn();
  const auto before = net->named_parameters();
  optim::SGD opt(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  L1NormPruner pruner(net, half_of_everything());
  pruner.compress();
  const auto after = net->named_parameters();
  ASSERT_EQ(before.size(), after.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].first, after[i].first);
    EXPECT_TRUE(before[i].second.is_same(after[i].second));
  }
  const Tensor w = net->find_module("0")->param("weight");
  const Tensor mask = net->find_module("0")->buffer("weight_mask");
  EXPECT_EQ(zeros_in(mask), 2 * 9);  // 2 of 4 filters of 9 weights
  const Tensor w0 = w.detach().clone();
  Tensor x = randn({2, 1, 6, 6});
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    Tensor loss = cross_entropy((*net)(x), from_vector(std::vector<std::int64_t>{0, 2}, {2}));
    loss.backward();
    // Masked weights get exactly zero gradient.
    const Tensor g = w.grad();
    const float* gm = g.data<float>();
    for (std::int64_t i = 0; i < g.numel(); ++i)
      if (mask.data<float>()[i] == 0.0f) ASSERT_EQ(gm[i], 0.0f) << "flat index " << i;
    opt.step();
    pruner.step();
  }
  // The optimizer trained the kept weights, and the masked raw weights did not move.
  bool kept_moved = false;
  for (std::int64_t i = 0; i < w.numel(); ++i) {
    if (mask.data<float>()[i] == 0.0f) {
      EXPECT_EQ(w.data<float>()[i], w0.data<float>()[i]);
    } else {
      kept_moved = kept_moved || w.data<float>()[i] != w0.data<float>()[i];
    }
  }
  EXPECT_TRUE(kept_moved);
  // The effective weight is exactly zero where masked.
  EXPECT_EQ(zeros_in(net->find_module("0")->param_value("weight")), 2 * 9);
}

TEST(Pruner, UnwrapBakesTheMasksInAndRestoresAPlainModule) {
  auto net = small_cnn();
  L1NormPruner pruner(net, half_of_everything());
  pruner.compress();
  Tensor x = randn({2, 1, 6, 6});
  Tensor masked_out;
  {
    NoGradGuard no_grad;
    masked_out = (*net)(x);
  }
  const Tensor weight = net->find_module("0")->param("weight");
  pruner.unwrap();
  EXPECT_TRUE(net->find_module("0")->param("weight").is_same(weight));
  EXPECT_FALSE(net->find_module("0")->is_parametrized());
  EXPECT_FALSE(net->find_module("0")->has_buffer("weight_mask"));
  EXPECT_FALSE(net->find_module("0")->has_buffer("bias_mask"));
  EXPECT_EQ(zeros_in(weight), 2 * 9);
  NoGradGuard no_grad;
  EXPECT_TENSOR_NEAR((*net)(x), masked_out);
  expect_message<StateError>([&] { pruner.compress(); },
                             "L1NormPruner.compress: the pruner was unwrapped; build a new pruner");
}

TEST(Pruner, ExportWritesAPlainModelAndMasksThatLoadBack) {
  testing::TempDir dir;
  auto net = small_cnn();
  LevelPruner pruner(net, half_of_everything());
  const io::StateDict masks = pruner.compress();
  pruner.export_model(dir.file("model.h5"), dir.file("masks.h5"));
  const io::StateDict weights = io::load_state_dict(dir.file("model.h5"));
  EXPECT_EQ(weights.keys(), small_cnn()->state_dict().keys());  // no *_mask entries
  EXPECT_EQ(zeros_in(weights.at("0.weight")), zeros_in(masks.at("0.weight")));
  const io::StateDict loaded = io::load_masks(dir.file("masks.h5"));
  EXPECT_EQ(loaded.keys(), (std::vector<std::string>{"0.weight", "3.weight"}));

  // Into a fresh model and pruner: the same masks.
  auto other = small_cnn();
  manual_seed(99);
  {
    NoGradGuard no_grad;
    other->find_module("0")->param("weight").normal_(0, 1);
  }
  LevelPruner again(other, half_of_everything());
  again.compress();
  again.load_masks(dir.file("masks.h5"));
  for (const auto& [key, mask] : masks) EXPECT_EQ(again.get_masks().at(key).to_vector(), mask.to_vector()) << key;
}

TEST(Pruner, LoadMasksRejectsAnotherModelsMasksAndChangesNothing) {
  auto net = small_cnn();
  LevelPruner pruner(net, half_of_everything());
  pruner.compress();
  const io::StateDict before = pruner.get_masks();
  io::StateDict wrong;
  wrong.insert("0.weight", ones({4, 1, 3, 3}));
  wrong.insert("fc.weight", ones({3, 64}));
  expect_message<ValueError>([&] { pruner.load_masks(wrong); },
                             "LevelPruner.load_masks: expected masks for the pruned tensors of this model, got missing "
                             "keys: 3.weight; unexpected keys: fc.weight (Hint: masks load into the model and "
                             "config_list they were made with)");
  io::StateDict bad_value;
  bad_value.insert("0.weight", full({4, 1, 3, 3}, 0.5));
  bad_value.insert("3.weight", ones({3, 64}));
  expect_message<ValueError>([&] { pruner.load_masks(bad_value); },
                             "LevelPruner.load_masks: mask '0.weight' holds 0.5 at flat index 0, expected only 0 and 1");
  for (const auto& [key, mask] : before) EXPECT_EQ(pruner.get_masks().at(key).to_vector(), mask.to_vector());
}

TEST(Pruner, CheckpointStateRestoresTheMasks) {
  auto net = small_cnn();
  L2NormPruner pruner(net, half_of_everything());
  pruner.compress();
  const io::StateDict state = pruner.state_dict();
  EXPECT_EQ(state.keys(), (std::vector<std::string>{"mask:0.weight", "mask:0.bias", "mask:3.weight", "mask:3.bias"}));
  auto other = small_cnn();
  L2NormPruner resumed(other, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.1}])"));
  resumed.compress();
  resumed.load_state_dict(state);
  for (const auto& [key, mask] : pruner.get_masks()) EXPECT_EQ(resumed.get_masks().at(key).to_vector(), mask.to_vector());
}

TEST(Pruner, MisuseIsAClearError) {
  auto net = small_cnn();
  L1NormPruner pruner(net, half_of_everything());
  expect_message<StateError>([&] { pruner.step(); }, "L1NormPruner.step: call compress() first");
  expect_message<StateError>([&] { pruner.update_epoch(0); }, "L1NormPruner.update_epoch: call compress() first");
  expect_message<StateError>([&] { pruner.export_model("a", "b"); },
                             "L1NormPruner.export_model: call compress() first");
  pruner.compress();
  expect_message<StateError>([&] { pruner.compress(); },
                             "L1NormPruner.compress: already compressed (call it once per pruner)");
  LevelPruner second(net, half_of_everything());
  expect_message<ValueError>([&] { second.compress(); },
                             "LevelPruner.compress: '0' already has a weight_mask: another pruner is attached to it "
                             "(Hint: unwrap() that pruner first)");
}

TEST(Pruner, ABadConfigListLeavesTheModelUntouched) {
  auto net = small_cnn();
  const auto buffers = net->named_buffers().size();
  L1NormPruner pruner(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5},
                                                  {"op_names": ["1"], "sparsity": 0.5}])"));
  expect_message<ValueError>([&] { pruner.compress(); },
                             "L1NormPruner: config_list[1]['op_names']: '1' is a ReLU, which L1NormPruner cannot "
                             "compress (it compresses: Linear, Conv2d)");
  EXPECT_EQ(net->named_buffers().size(), buffers);
  EXPECT_FALSE(net->find_module("0")->is_parametrized());
  EXPECT_FALSE(pruner.is_compressed());
}

TEST(Pruner, KeepPrunedMakesLaterMasksSubsetsOfEarlierOnes) {
  auto net = small_cnn();
  LevelPruner pruner(net, half_of_everything());
  pruner.set_target_transform([](double s) { return s / 2; });
  pruner.compress();
  const Tensor first = pruner.get_masks().at("0.weight");
  EXPECT_EQ(zeros_in(first), 9);  // floor(36 * 0.25)
  // Train the pruned weights away from zero in the raw tensor: without keep_pruned they could come back.
  {
    NoGradGuard no_grad;
    net->find_module("0")->param("weight").add_(10.0f);
  }
  pruner.set_keep_pruned(true);
  pruner.set_target_transform(nullptr);
  pruner.update_masks();
  const Tensor second = pruner.get_masks().at("0.weight");
  EXPECT_EQ(zeros_in(second), 18);
  for (std::int64_t i = 0; i < first.numel(); ++i)
    if (first.data<float>()[i] == 0.0f) EXPECT_EQ(second.data<float>()[i], 0.0f);
}

}  // namespace
}  // namespace shrink::compression
