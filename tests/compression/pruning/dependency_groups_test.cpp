// coupled_prune_channels: coupled layers prune the same channels, ranked by their summed metric,
// each within its own count; pinned channels stay; uncoupled layers keep their own choice;
// inconsistent groups and element pruners are refused with pinned messages.
#include "compression/pruning/dependency_groups.h"

#include <gtest/gtest.h>

#include "compression/pruning/weight_pruners.h"
#include "nn/models/registry.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using Channels = std::vector<std::int64_t>;

Tensor values(const std::vector<float>& v) { return from_vector(v, {static_cast<std::int64_t>(v.size())}); }

DependencyGroup pair_group(std::int64_t channels) {
  DependencyGroup g;
  Channels identity(static_cast<std::size_t>(channels));
  for (std::int64_t c = 0; c < channels; ++c) identity[static_cast<std::size_t>(c)] = c;
  g.members = {{"a", "Conv2d", identity}, {"b", "Conv2d", identity}};
  g.channels = channels;
  g.pinned.assign(static_cast<std::size_t>(channels), false);
  return g;
}

TEST(DependencyGroups, CoupledLayersPruneTheChannelsWithTheLowestSummedMetric) {
  const Tensor a = values({1.0f, 5.0f, 2.0f, 4.0f}), b = values({3.0f, 0.0f, 2.5f, 1.0f});
  // Sums: 4, 5, 4.5, 5 -> channels 0 and 2 (a alone would prune 0, 2; b alone 1, 3).
  const auto out = coupled_prune_channels({pair_group(4)}, {"a", "b"}, {a, b}, {2, 2});
  ASSERT_TRUE(out[0] && out[1]);
  EXPECT_EQ(*out[0], (Channels{0, 2}));
  EXPECT_EQ(*out[1], (Channels{0, 2}));
}

TEST(DependencyGroups, ACoupledSetPrunesAsMuchAsItsLeastPrunedLayer) {
  const Tensor m = values({1.0f, 2.0f, 3.0f, 4.0f});
  const auto out = coupled_prune_channels({pair_group(4)}, {"a", "b"}, {m, m}, {3, 1});
  EXPECT_EQ(*out[0], (Channels{0}));
  EXPECT_EQ(*out[1], (Channels{0}));
}

TEST(DependencyGroups, PinnedChannelsAreNeverPruned) {
  DependencyGroup g = pair_group(3);
  g.pinned[0] = true;
  const Tensor m = values({1.0f, 2.0f, 3.0f});
  const auto out = coupled_prune_channels({g}, {"a", "b"}, {m, m}, {1, 1});
  EXPECT_EQ(*out[0], (Channels{1}));
}

TEST(DependencyGroups, LayersThatShareNoChannelKeepTheirOwnChoice) {
  DependencyGroup g;  // a cat: a -> channels 0, 1; b -> 2, 3; and a layer not being pruned
  g.members = {{"a", "Conv2d", {0, 1}}, {"b", "Conv2d", {2, 3}}, {"bn", "BatchNorm2d", {0, 1, 2, 3}}};
  g.channels = 4;
  g.pinned.assign(4, false);
  const Tensor m = values({1.0f, 2.0f});
  const auto out = coupled_prune_channels({g}, {"a", "b", "c"}, {m, m, m}, {1, 1, 1});
  EXPECT_FALSE(out[0] || out[1] || out[2]);
}

TEST(DependencyGroups, InconsistentGroupsAreValueErrors) {
  DependencyGroup g = pair_group(2);
  g.members[1].channel_map = {0, 2};
  EXPECT_EQ(error_of<ValueError>([&] { check_dependency_groups({g}); }),
            "dependency groups: group 0, member 'b': expected group channels in [0, 2), got 2");
  g = pair_group(2);
  g.pinned.pop_back();
  EXPECT_EQ(error_of<ValueError>([&] { check_dependency_groups({g}); }),
            "dependency groups: group 0: expected 2 pinned flags (one per group channel), got 1");
  const Tensor m = values({1.0f, 2.0f, 3.0f});
  EXPECT_EQ(error_of<ValueError>([&] {
              coupled_prune_channels({pair_group(2)}, {"a", "b"}, {m, m}, {1, 1});
            }),
            "dependency groups: member 'a' maps 2 channels, expected the layer's 3");
}

TEST(DependencyGroups, AnElementPrunerRefusesThem) {
  LevelPruner pruner(models::create("mlp"), ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"));
  EXPECT_EQ(error_of<StateError>([&] { pruner.set_dependency_groups({pair_group(2)}); }),
            "LevelPruner.set_dependency_groups: expected a channel pruner, got one that prunes single weights "
            "(dependency groups couple whole channels)");
}

}  // namespace
}  // namespace shrink::compression
