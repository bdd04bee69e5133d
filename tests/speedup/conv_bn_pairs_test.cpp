// conv_bn_pairs: every conv directly followed by its batch norm in the zoo, nothing else.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "nn/models/registry.h"
#include "speedup/conv_bn_pairs.h"

namespace shrink::speedup {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(ConvBnPairs, VggSmallPairsEachConvWithTheBatchNormAfterIt) {
  nn::ModulePtr model = models::create("vgg_small");
  EXPECT_EQ(conv_bn_pairs(*model, zeros({1, 1, 28, 28})),
            (Pairs{{"features.0", "features.1"}, {"features.3", "features.4"}, {"features.7", "features.8"},
                   {"features.10", "features.11"}, {"features.14", "features.15"}, {"features.17", "features.18"}}));
}

TEST(ConvBnPairs, Resnet20HasTheStemTheBlocksAndTheDownsampleShortcuts) {
  nn::ModulePtr model = models::create("resnet20");
  const Pairs pairs = conv_bn_pairs(*model, zeros({1, 1, 28, 28}));
  EXPECT_EQ(pairs.size(), 1u + 9u * 2u + 2u);
  EXPECT_EQ(pairs.front(), (std::pair<std::string, std::string>{"conv1", "bn1"}));
  EXPECT_NE(std::find(pairs.begin(), pairs.end(),
                      std::pair<std::string, std::string>{"layer2.0.downsample.0", "layer2.0.downsample.1"}),
            pairs.end());
}

TEST(ConvBnPairs, AModelWithoutBatchNormHasNone) {
  nn::ModulePtr model = models::create("lenet5");
  EXPECT_TRUE(conv_bn_pairs(*model, zeros({1, 1, 28, 28})).empty());
}

}  // namespace
}  // namespace shrink::speedup
