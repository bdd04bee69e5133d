// Level (and N:M), L1Norm, L2Norm, FPGM: the mask each chooses on hand-computed cases, and the
// global allocation with its per-layer cap.
#include "compression/pruning/weight_pruners.h"

#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

std::shared_ptr<nn::Sequential> two_linears(const std::vector<float>& w0, const std::vector<float>& w1) {
  auto a = std::make_shared<nn::Linear>(4, 2);
  auto b = std::make_shared<nn::Linear>(2, 2);
  NoGradGuard no_grad;
  a->param("weight").copy_(from_vector(w0, {2, 4}));
  b->param("weight").copy_(from_vector(w1, {2, 2}));
  return std::make_shared<nn::Sequential>(nn::Sequential{a, b});
}

std::vector<float> mask(const Pruner& p, const std::string& key) { return p.get_masks().at(key).to_vector(); }

TEST(LevelPruner, PrunesTheSmallestMagnitudesWithTiesByIndex) {
  // |w| of layer 0: 0.5 0.1 0.3 0.1 | 0.9 0.2 0.1 0.7 — 8 weights at 0.5: floor(4) pruned.
  // The three 0.1s go first (indices 1, 3, 6), then 0.2 (index 5).
  auto net = two_linears({0.5f, -0.1f, 0.3f, 0.1f, -0.9f, 0.2f, 0.1f, 0.7f}, {1, 2, 3, 4});
  LevelPruner pruner(net, ConfigList::parse(R"([{"op_names": ["0"], "sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(mask(pruner, "0.weight"), (std::vector<float>{1, 0, 1, 0, 1, 0, 0, 1}));
  EXPECT_FALSE(pruner.get_masks().contains("0.bias"));  // element pruners leave the bias alone
  // floor(8 * 0.3) = 2: only the first two 0.1s.
  auto net2 = two_linears({0.5f, -0.1f, 0.3f, 0.1f, -0.9f, 0.2f, 0.1f, 0.7f}, {1, 2, 3, 4});
  LevelPruner p2(net2, ConfigList::parse(R"([{"op_names": ["0"], "sparsity": 0.3}])"));
  p2.compress();
  EXPECT_EQ(mask(p2, "0.weight"), (std::vector<float>{1, 0, 1, 0, 1, 1, 1, 1}));
}

TEST(LevelPruner, BalancedTwoOfFourPrunesTwoInEveryBlockOfFour) {
  auto net = two_linears({4, 1, 3, 2, 0.5f, 0.6f, -0.7f, 0.1f}, {1, 2, 3, 4});
  LevelPruner pruner(net, ConfigList::parse(R"([{"op_names": ["0"], "sparsity": 0.5}])"), {.balance_block = 4});
  pruner.compress();
  EXPECT_EQ(mask(pruner, "0.weight"), (std::vector<float>{1, 0, 1, 0, 0, 1, 1, 0}));
}

TEST(LevelPruner, BalancedBlocksRunAlongTheInputChannelsOfAConv) {
  // Conv weight [1, 4, 1, 2]: blocks are (c0..c3) at kernel position 0 and at position 1.
  auto conv = std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in_channels = 4, .out_channels = 1,
                                                             .kernel_size = {1, 2}});
  {
    NoGradGuard no_grad;
    // (c, k): (0,0)=1 (0,1)=8 (1,0)=2 (1,1)=7 (2,0)=3 (2,1)=6 (3,0)=4 (3,1)=5
    conv->param("weight").copy_(from_vector(std::vector<float>{1, 8, 2, 7, 3, 6, 4, 5}, {1, 4, 1, 2}));
  }
  auto net = std::make_shared<nn::Sequential>(nn::Sequential{conv});
  LevelPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"), {.balance_block = 4});
  pruner.compress();
  // Position 0 keeps c2, c3 (3, 4); position 1 keeps c0, c1 (8, 7).
  EXPECT_EQ(mask(pruner, "0.weight"), (std::vector<float>{0, 1, 0, 1, 1, 0, 1, 0}));
}

TEST(LevelPruner, BalancedNeedsAnInputDimensionDivisibleByTheBlock) {
  auto net = two_linears({1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3, 4});
  LevelPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"), {.balance_block = 4});
  expect_message<ValueError>([&] { pruner.compress(); },
                             "LevelPruner: balanced pruning of '1' needs an input dimension (dim 1) divisible by the "
                             "block 4, got weight [2, 2]");
}

TEST(LevelPruner, GlobalAllocationUsesOneThresholdAndTheCap) {
  // 12 weights at total_sparsity 0.5: the 6 smallest overall, layer 1 capped at floor(4 * 0.5) = 2.
  auto net = two_linears({0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, 1.2f}, {0.1f, 0.2f, 0.3f, 0.4f});
  LevelPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "total_sparsity": 0.5,
                                                  "max_sparsity_per_layer": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(mask(pruner, "1.weight"), (std::vector<float>{0, 0, 1, 1}));
  EXPECT_EQ(mask(pruner, "0.weight"), (std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1}));
  // Without the cap (default 0.99 -> floor(3.96) = 3 of layer 1).
  auto net2 = two_linears({0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.1f, 1.2f}, {0.1f, 0.2f, 0.3f, 0.4f});
  LevelPruner p2(net2, ConfigList::parse(R"([{"op_types": ["Linear"], "total_sparsity": 0.5}])"));
  p2.compress();
  EXPECT_EQ(mask(p2, "1.weight"), (std::vector<float>{0, 0, 0, 1}));
  EXPECT_EQ(mask(p2, "0.weight"), (std::vector<float>{0, 0, 0, 1, 1, 1, 1, 1}));
}

TEST(NormPruners, L1AndL2RankFiltersByTheirNormAndMaskTheBias) {
  // Rows [2, 1], [1.5, 1.5], [0.2, 2.9]: L1 norms 3, 3, 3.1; L2 norms 2.236, 2.121, 2.907 — the
  // two criteria disagree on which row goes.
  auto fc = std::make_shared<nn::Linear>(2, 3);
  {
    NoGradGuard no_grad;
    fc->param("weight").copy_(from_vector(std::vector<float>{2, 1, 1.5f, 1.5f, 0.2f, 2.9f}, {3, 2}));
  }
  auto net = std::make_shared<nn::Sequential>(nn::Sequential{fc});
  // floor(3 * 0.4) = 1 filter. L1: 3, 3, 3.1 -> tie between rows 0 and 1, the lower index (0) goes.
  L1NormPruner l1(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.4}])"));
  l1.compress();
  EXPECT_EQ(mask(l1, "0.weight"), (std::vector<float>{0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(mask(l1, "0.bias"), (std::vector<float>{0, 1, 1}));
  l1.unwrap();
  // L2: 2.236, 2.121, 2.907 -> row 1 goes.
  auto net2 = std::make_shared<nn::Sequential>(nn::Sequential{fc});
  {
    NoGradGuard no_grad;
    fc->param("weight").copy_(from_vector(std::vector<float>{2, 1, 1.5f, 1.5f, 0.2f, 2.9f}, {3, 2}));
  }
  L2NormPruner l2(net2, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.4}])"));
  l2.compress();
  EXPECT_EQ(mask(l2, "0.weight"), (std::vector<float>{1, 1, 0, 0, 1, 1}));
  EXPECT_EQ(mask(l2, "0.bias"), (std::vector<float>{1, 0, 1}));
}

TEST(FPGMPruner, PrunesTheFilterClosestToTheOthers) {
  // Filters (as points): a = (0, 0), b = (1, 0), c = (3, 0). Distance sums: a 1 + 3 = 4,
  // b 1 + 2 = 3, c 3 + 2 = 5 -> b, the one nearest the geometric median, is pruned.
  auto conv = std::make_shared<nn::Conv2d>(1, 3, 1);
  {
    NoGradGuard no_grad;
    conv->param("weight").copy_(from_vector(std::vector<float>{0, 1, 3}, {3, 1, 1, 1}));
  }
  auto net = std::make_shared<nn::Sequential>(nn::Sequential{conv});
  FPGMPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.34}])"));
  pruner.compress();
  EXPECT_EQ(mask(pruner, "0.weight"), (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(mask(pruner, "0.bias"), (std::vector<float>{1, 0, 1}));
}

TEST(NormPruners, GlobalChannelBudgetCountsWeightsPerFilter) {
  // Layer 0: 2 rows of 4 weights (L1 4 and 40); layer 1: 2 rows of 2 (L1 2 and 20). 12 weights at
  // total 0.5 -> budget 6: row 1.0 (2 weights, L1 2) then row 0.0 (4 weights, L1 4): exactly 6.
  auto net = two_linears({1, 1, 1, 1, 10, 10, 10, 10}, {1, 1, 10, 10});
  L1NormPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "total_sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(mask(pruner, "0.weight"), (std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(mask(pruner, "1.weight"), (std::vector<float>{0, 0, 1, 1}));
}

}  // namespace
}  // namespace shrink::compression
