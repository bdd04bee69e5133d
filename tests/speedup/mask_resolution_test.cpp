// resolve_masks: who votes (masked layers; unmasked Conv2d/Linear keep under union unless they
// feed only a masked BatchNorm), union vs intersection, pinned classes, and the fixed point of
// one-channel-per-layer, round_to and even groups.
#include "speedup/mask_resolution.h"

#include <gtest/gtest.h>

#include "autograd/warning.h"
#include "speedup/trace.h"
#include "tests/speedup/speedup_models.h"
#include "tests/speedup/speedup_test_util.h"

namespace shrink::speedup {
namespace {

using testutil::add_channel_masks;
using Channels = std::vector<std::int64_t>;

Channels kept(nn::Module& model, const io::StateDict& masks, const std::string& layer, Resolve mode = Resolve::Union,
              std::int64_t round_to = 1) {
  const ChannelGroups groups(trace(model, zeros({1, 1, 8, 8})), model);
  const KeepPlan plan = resolve_masks(groups, masks, mode, round_to);
  return plan.kept_indices(groups.layer(layer).out_classes);
}

TEST(MaskResolution, AMaskedBatchNormSpeaksForTheUnmaskedConvThatFeedsOnlyIt) {
  testmodels::Residual model;
  io::StateDict masks;
  add_channel_masks(masks, model, "bn_a", {0, 1});
  // b is unmasked and feeds an unmasked BatchNorm: its channels are alive, union keeps them.
  EXPECT_EQ(kept(model, masks, "a").size(), 8u);
  add_channel_masks(masks, model, "bn_b", {0, 1, 2});
  EXPECT_EQ(kept(model, masks, "a"), (Channels{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(kept(model, masks, "a", Resolve::Intersection), (Channels{3, 4, 5, 6, 7}));
}

TEST(MaskResolution, AnUnmaskedConvVotesKeepUnderUnionOnly) {
  testmodels::UsedTwice model;  // b and c are joined by an add; b feeds a relu, not a BatchNorm
  io::StateDict masks;
  add_channel_masks(masks, model, "c", {0, 1});
  EXPECT_EQ(kept(model, masks, "b").size(), 6u);
  EXPECT_EQ(kept(model, masks, "b", Resolve::Intersection), (Channels{2, 3, 4, 5}));
}

TEST(MaskResolution, PinnedClassesStayWhateverTheMasks) {
  testmodels::Grouped model;
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {0, 1, 2});
  add_channel_masks(masks, model, "fc", {0});
  EXPECT_EQ(kept(model, masks, "a").size(), 8u);   // read by a grouped conv
  EXPECT_EQ(kept(model, masks, "fc").size(), 3u);  // the model output
}

TEST(MaskResolution, RoundToAndEvenGroupsBringBackTheLowestIndicesFirst) {
  testmodels::Grouped model;
  io::StateDict masks;
  add_channel_masks(masks, model, "g", {0, 1, 2, 4, 5});  // group 0 keeps {3}, group 1 keeps {6, 7}
  EXPECT_EQ(kept(model, masks, "g"), (Channels{0, 3, 6, 7}));
  EXPECT_EQ(kept(model, masks, "g", Resolve::Union, 3), (Channels{0, 1, 3, 4, 6, 7}));
}

TEST(MaskResolution, AnEmptyLayerKeepsChannelZeroWithAWarning) {
  testmodels::UsedTwice model;
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {0, 1, 2, 3, 4, 5, 6, 7});
  WarningCollector warnings;
  const ChannelGroups groups(trace(model, zeros({1, 1, 8, 8})), model);
  const KeepPlan plan = resolve_masks(groups, masks, Resolve::Union, 1);
  EXPECT_EQ(plan.kept_indices(groups.layer("a").out_classes), (Channels{0}));
  EXPECT_EQ(plan.warnings, warnings.messages());
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_EQ(plan.warnings[0],
            "ModelSpeedup: every output channel of 'a' (Conv2d) is pruned; keeping channel 0 so that the layer is not "
            "empty");
}

}  // namespace
}  // namespace shrink::speedup
