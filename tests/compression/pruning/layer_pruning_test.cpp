// filter_pruning / level_pruning (compression/pruning/layer_pruning.h) zero what the pruners would
// mask, and plug into analyze_sensitivity.
#include "compression/pruning/layer_pruning.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/layers.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

std::shared_ptr<nn::Sequential> net() {
  manual_seed(5);
  return std::make_shared<nn::Sequential>(
      nn::Sequential{std::make_shared<nn::Linear>(6, 10), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(10, 3)});
}

std::vector<float> zero_pattern(const Tensor& t) {
  std::vector<float> out;
  for (float v : t.to_vector()) out.push_back(v == 0.0f ? 0.0f : 1.0f);
  return out;
}

TEST(LayerPruning, FilterPruningZeroesWhatL1NormPrunerMasks) {
  auto a = net();
  filter_pruning(1)(*a, "0", 0.4);
  auto b = net();
  L1NormPruner pruner(b, ConfigList::parse(R"([{"op_names": ["0"], "sparsity": 0.4}])"));
  pruner.compress();
  EXPECT_EQ(zero_pattern(a->find_module("0")->param("weight")), pruner.get_masks().at("0.weight").to_vector());
  EXPECT_EQ(zero_pattern(a->find_module("0")->param("bias")), pruner.get_masks().at("0.bias").to_vector());
}

TEST(LayerPruning, LevelPruningZeroesWhatLevelPrunerMasks) {
  auto a = net();
  level_pruning()(*a, "2", 0.5);
  auto b = net();
  LevelPruner pruner(b, ConfigList::parse(R"([{"op_names": ["2"], "sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(zero_pattern(a->find_module("2")->param("weight")), pruner.get_masks().at("2.weight").to_vector());
}

TEST(LayerPruning, DrivesSensitivityAnalysisAndTheWeightsComeBack) {
  auto model = net();
  const std::vector<float> before = model->find_module("0")->param("weight").to_vector();
  const Tensor x = randn({4, 6});
  // The metric: 1 + the mean output; pruning rows of layer 0 changes it.
  const auto sens = analyze_sensitivity(
      *model, {"0", "2"},
      [&](nn::Module& m) {
        NoGradGuard no_grad;
        return 10.0 + m(x).mean().item<float>();
      },
      filter_pruning(1), {.ratios = {0.2, 0.5}});
  EXPECT_EQ(sens.losses.at("0").size(), 2u);
  EXPECT_NE(sens.metrics.at("0")[1], sens.baseline);
  EXPECT_EQ(model->find_module("0")->param("weight").to_vector(), before);
}

TEST(LayerPruning, ALayerWithoutWeightIsAnError) {
  auto model = net();
  expect_message<ValueError>([&] { filter_pruning(1)(*model, "1", 0.5); },
                             "filter_pruning: '1' (ReLU) has no weight to prune");
  expect_message<ValueError>([&] { level_pruning()(*model, "9", 0.5); },
                             "level_pruning: expected a module named '9', got none");
}

}  // namespace
}  // namespace shrink::compression
