// channel_groups: the coupling rules on the zoo's residual, depthwise, cat and flatten
// structures and on the test-only models; pinned classes; dependency groups; the errors for an
// op and a module without a rule.
#include "speedup/channel_groups.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/registry.h"
#include "nn/models/registry.h"
#include "speedup/model_speedup.h"
#include "speedup/trace.h"
#include "tests/speedup/speedup_models.h"
#include "tests/support/errors.h"

namespace shrink::speedup {
namespace {

using testing::error_of;

ChannelGroups groups_of(nn::Module& model, const Shape& input = {1, 1, 28, 28}) {
  return ChannelGroups(trace(model, zeros(input)), model);
}

TEST(ChannelGroups, Resnet20ResidualAddsJoinTheStemAndEveryBlocksSecondConvOfAStage) {
  nn::ModulePtr model = models::create("resnet20");
  const ChannelGroups g = groups_of(*model);
  const auto& stem = g.layer("conv1").out_classes;
  EXPECT_EQ(g.layer("bn1").out_classes, stem);
  for (const char* name : {"layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2", "layer1.2.bn2"})
    EXPECT_EQ(g.layer(name).out_classes, stem) << name;
  EXPECT_EQ(g.layer("layer1.0.conv1").in_classes, stem);
  // The downsample shortcut starts the next stage's class set; conv1 of a block is on its own.
  EXPECT_EQ(g.layer("layer2.0.downsample.0").out_classes, g.layer("layer2.2.conv2").out_classes);
  const auto& inner = g.layer("layer2.1.conv1").out_classes;
  EXPECT_EQ(g.layer("layer2.1.bn1").out_classes, inner);
  EXPECT_EQ(std::set<int>(inner.begin(), inner.end()).size(), 32u);
  EXPECT_EQ(std::set<int>(stem.begin(), stem.end()).count(inner[0]), 0u);
  for (int cls : stem) EXPECT_FALSE(g.pinned(cls));
  // fc's output is the model output: pinned.
  for (int cls : g.layer("fc").out_classes) EXPECT_TRUE(g.pinned(cls));
  EXPECT_EQ(g.layer("fc").in_classes, g.layer("layer3.0.downsample.0").out_classes);
}

TEST(ChannelGroups, Resnet20DependencyGroups) {
  nn::ModulePtr model = models::create("resnet20");
  const compression::DependencyGroups groups = groups_of(*model).dependency_groups();
  // stem + the layer1 blocks' second convs; 9 block-inner pairs; layer2; layer3; fc.
  ASSERT_EQ(groups.size(), 13u);
  std::vector<std::string> first;
  for (const auto& m : groups[0].members) first.push_back(m.layer);
  EXPECT_EQ(first, (std::vector<std::string>{"conv1", "bn1", "layer1.0.conv2", "layer1.0.bn2", "layer1.1.conv2",
                                             "layer1.1.bn2", "layer1.2.conv2", "layer1.2.bn2"}));
  EXPECT_EQ(groups[0].channels, 16);
  for (const auto& m : groups[0].members) {
    ASSERT_EQ(m.channel_map.size(), 16u);
    for (std::int64_t c = 0; c < 16; ++c) EXPECT_EQ(m.channel_map[c], c);
  }
  EXPECT_EQ(groups.back().members.size(), 1u);
  EXPECT_EQ(groups.back().members[0].layer, "fc");
  EXPECT_EQ(groups.back().pinned, std::vector<bool>(10, true));
}

TEST(ChannelGroups, MobilenetDepthwiseConvTiesItsInputToItsOutput) {
  nn::ModulePtr model = models::create("mobilenet_small");
  const ChannelGroups g = groups_of(*model);
  const ChannelLayer& dw = g.layer("blocks.0.dw");
  EXPECT_TRUE(dw.depthwise);
  EXPECT_FALSE(dw.produces());
  EXPECT_EQ(dw.out_classes, dw.in_classes);
  EXPECT_EQ(dw.in_classes, g.layer("stem").out_classes);
  EXPECT_EQ(g.layer("blocks.1.dw").out_classes, g.layer("blocks.0.pw").out_classes);
}

TEST(ChannelGroups, InceptionCatPlacesTheBranchesAtTheirOffsets) {
  nn::ModulePtr model = models::create("inception_small");
  const ChannelGroups g = groups_of(*model);
  const auto& bn = g.layer("block1.bn").out_classes;
  std::vector<int> branches;
  for (const char* b : {"block1.b1", "block1.b3", "block1.b5"})
    for (int cls : g.layer(b).out_classes) branches.push_back(cls);
  EXPECT_EQ(bn, branches);
  EXPECT_EQ(g.layer("block2.b3").in_classes, bn);
  const compression::DependencyGroups groups = g.dependency_groups();
  const auto it =
      std::find_if(groups.begin(), groups.end(), [](const auto& grp) { return grp.members[0].layer == "block1.b1"; });
  ASSERT_NE(it, groups.end());
  EXPECT_EQ(it->channels, 48);
  EXPECT_EQ(it->members[1].layer, "block1.b3");
  EXPECT_EQ(it->members[1].channel_map[0], 16);
}

TEST(ChannelGroups, FlattenMapsEachChannelToItsBlockOfColumns) {
  nn::ModulePtr model = models::create("vgg_small");
  const ChannelGroups g = groups_of(*model);
  const auto& conv = g.layer("features.17").out_classes;  // the last conv (128 channels, 3x3 after the pool)
  const auto& cols = g.layer("classifier").in_classes;
  ASSERT_EQ(cols.size(), 128u * 9u);
  for (std::size_t c = 0; c < 128; ++c)
    for (std::size_t k = 0; k < 9; ++k) ASSERT_EQ(cols[c * 9 + k], conv[c]) << c << " " << k;
  testmodels::FlattenLinear small;
  const ChannelGroups f = groups_of(small, {1, 1, 8, 8});
  EXPECT_EQ(f.layer("fc").in_classes[36 * 2 + 5], f.layer("conv").out_classes[2]);
}

TEST(ChannelGroups, CatOfATensorWithItselfJoinsBothCopies) {
  testmodels::CatSelf model;
  const ChannelGroups g = groups_of(model, {1, 1, 8, 8});
  const auto& a = g.layer("a").out_classes;
  const auto& b_in = g.layer("b").in_classes;
  ASSERT_EQ(b_in.size(), 12u);
  for (std::size_t c = 0; c < 6; ++c) {
    EXPECT_EQ(b_in[c], a[c]);
    EXPECT_EQ(b_in[c + 6], a[c]);
  }
}

TEST(ChannelGroups, ATensorUsedTwiceCouplesNothingElse) {
  testmodels::UsedTwice model;
  const ChannelGroups g = groups_of(model, {1, 1, 8, 8});
  EXPECT_EQ(g.layer("b").in_classes, g.layer("a").out_classes);
  EXPECT_EQ(g.layer("c").in_classes, g.layer("a").out_classes);
  EXPECT_EQ(g.layer("b").out_classes, g.layer("c").out_classes);  // joined by the add
  EXPECT_NE(g.layer("b").out_classes, g.layer("a").out_classes);
}

TEST(ChannelGroups, AConvWithOneOutputChannelIsNotDepthwise) {
  testmodels::OneChannel model;
  const ChannelGroups g = groups_of(model, {1, 1, 8, 8});
  const ChannelLayer& b = g.layer("b");
  EXPECT_FALSE(b.depthwise);
  EXPECT_TRUE(b.produces());
  ASSERT_EQ(b.out_classes.size(), 1u);
  EXPECT_EQ(std::count(g.layer("a").out_classes.begin(), g.layer("a").out_classes.end(), b.out_classes[0]), 0);
}

TEST(ChannelGroups, AGroupedConvPinsItsInputChannels) {
  testmodels::Grouped model;
  const ChannelGroups g = groups_of(model, {1, 1, 8, 8});
  EXPECT_EQ(g.layer("g").groups, 2);
  EXPECT_FALSE(g.layer("g").depthwise);
  for (int cls : g.layer("a").out_classes) EXPECT_TRUE(g.pinned(cls));
  for (int cls : g.layer("g").out_classes) EXPECT_FALSE(g.pinned(cls));
  for (int cls : g.layer("a").in_classes) EXPECT_TRUE(g.pinned(cls));  // the model input
}

TEST(ChannelGroups, AnOpWithoutARuleIsAnErrorNamingTheOpAndModule) {
  testmodels::Transposer model;
  const Graph graph = trace(model, zeros({1, 1, 8, 8}));
  EXPECT_EQ(error_of<ValueError>([&] { ChannelGroups(graph, model); }),
            "channel_groups: node 'transpose' (op 'transpose' at top level): expected an op with a channel rule, got "
            "none; ops with rules: adaptive_avg_pool2d, add, add_scalar, avg_pool2d, cat, clamp, div, div_scalar, exp, "
            "flatten, gelu, identity, leaky_relu, max_pool2d, mean, mul, mul_scalar, narrow, neg, pow_scalar, relu, "
            "relu6, reshape, sigmoid, slice, sub, sub_scalar, sum, tanh, unsqueeze. Hint: speedup cannot tell which "
            "channels this op couples; express it with supported ops or leave the model unshrunk");
}

TEST(ChannelGroups, AModuleWithoutARuleIsAnErrorNamingTheModule) {
  testmodels::CustomLeaf model;
  const Graph graph = trace(model, zeros({1, 1, 8, 8}));
  EXPECT_EQ(error_of<ValueError>([&] { ChannelGroups(graph, model); }),
            "channel_groups: node 'scale' (module 'scale', Scale): expected a module type with a channel rule, got "
            "none; module types with rules: AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, "
            "Flatten, GELU, Identity, LeakyReLU, Linear, MaxPool2d, ReLU, ReLU6, Sigmoid, Tanh. Hint: speedup cannot "
            "tell which channels this module couples; express it with supported ops or leave the model unshrunk");
}

/// conv(1->4, 3x3) then `tail` (a functional expression) then a Linear(`features`, 2).
class ConvThen : public nn::Cloneable<ConvThen> {
 public:
  ConvThen(std::function<Tensor(const Tensor&)> tail, std::int64_t features)
      : Cloneable("ConvThen"), tail_(std::move(tail)) {
    register_module("conv", std::make_shared<nn::Conv2d>(1, 4, 3));
    register_module("fc", std::make_shared<nn::Linear>(features, 2));
  }

 protected:
  Tensor forward(const Tensor& x) override { return (*child("fc"))(tail_((*child("conv"))(x))); }

 private:
  std::function<Tensor(const Tensor&)> tail_;
};

std::string groups_error(std::function<Tensor(const Tensor&)> tail, std::int64_t features) {
  ConvThen model(std::move(tail), features);
  const Graph graph = trace(model, zeros({1, 1, 8, 8}));
  return error_of<ValueError>([&] { ChannelGroups(graph, model); });
}

TEST(ChannelGroups, OpsThatMixChannelsAreErrorsNamingTheNode) {
  EXPECT_EQ(groups_error([](const Tensor& h) { return flatten(mean(h, {1}), 1); }, 36),
            "channel_groups: node 'mean' (op 'mean' at top level): expected a reduction over spatial dims (2 and "
            "later) only, got one over the batch or channel dim, which has no channel rule");
  EXPECT_EQ(groups_error([](const Tensor& h) { return flatten(h, 2); }, 36),
            "channel_groups: node 'fc' (module 'fc', Linear): expected a Linear on [N, features], got input [1, 4, 36] "
            "(features are not dim 1). Hint: flatten to [N, F] first");
  EXPECT_EQ(groups_error(
                [](const Tensor& h) {
                  return reshape(flatten(h, 0, 1), {1, 144});
                },
                144),
            "channel_groups: node 'flatten' (op 'flatten' at top level): expected flatten from dim 1 or later, got "
            "start_dim 0 (the batch dim would be merged)");
}

TEST(ChannelGroups, LookupsOfUnknownLayersAndElementsAreIndexErrors) {
  testmodels::FlattenLinear model;
  const ChannelGroups g = groups_of(model, {1, 1, 8, 8});
  EXPECT_EQ(error_of<IndexError>([&] { g.layer("conv9"); }),
            "ChannelGroups::layer: expected a Conv2d, Linear or BatchNorm the graph calls, got 'conv9'");
  EXPECT_EQ(error_of<IndexError>([&] { g.class_of(1, 4); }),
            "ChannelGroups::class_of: expected a value in [0, 5) and one of its channels, got (1, 4)");
}

TEST(ChannelGroups, EveryZooModelHasRulesForAllItsOps) {
  for (const std::string& name : models::names()) {
    nn::ModulePtr model = models::create(name);
    const ChannelGroups g = groups_of(*model);
    EXPECT_FALSE(g.layers().empty()) << name;
    EXPECT_FALSE(g.to_string().empty());
  }
}

/// Output channels (dim 0) of `mask` that are entirely zero.
std::vector<std::int64_t> zero_rows(const Tensor& mask) {
  const std::int64_t rows = mask.size(0), per = mask.numel() / rows;
  std::vector<std::int64_t> out;
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* p = mask.data<float>() + r * per;
    if (std::all_of(p, p + per, [](float v) { return v == 0.0f; })) out.push_back(r);
  }
  return out;
}

class DependencyAwarePruning : public ::testing::TestWithParam<std::string> {};

TEST_P(DependencyAwarePruning, Resnet20CoupledLayersGetIdenticalChannelMasksAndShrinkFurther) {
  const std::string name = GetParam();
  const bool slim = name == "slim";
  manual_seed(7);
  nn::ModulePtr model = models::create("resnet20");
  const compression::DependencyGroups groups = dependency_groups(trace(*model, zeros({1, 1, 28, 28})), *model);
  const std::string config =
      std::string(R"([{"op_types": [")") + (slim ? "BatchNorm2d" : "Conv2d") + R"("], "sparsity": 0.5}])";
  auto pruner = compression::make_pruner(name, model, compression::ConfigList::parse(config));
  pruner->set_dependency_groups(groups);
  pruner->compress();
  if (name == "taylorfo" || name == "apoz" || name == "mean_activation") {
    // The batches below update the BatchNorm statistics; put them back afterwards, so that a
    // removed channel's BatchNorm shift stays 0 and speedup is exact (a nonzero shift through a
    // padded conv is reported, not exact: ModelSpeedup tests).
    io::StateDict statistics;
    for (const auto& [key, t] : model->state_dict())
      if (key.find("running_") != std::string::npos) statistics.insert(key, t.clone());
    model->train();
    for (int b = 0; b < 2; ++b) {
      Tensor loss = cross_entropy((*model)(randn({2, 1, 28, 28})), from_vector(std::vector<std::int64_t>{1, 4}, {2}));
      loss.backward();
    }
    pruner->update_masks();
    NoGradGuard no_grad;
    for (const auto& [key, t] : model->state_dict())
      if (statistics.contains(key)) Tensor(t).copy_(statistics.at(key));
  }
  const io::StateDict masks = pruner->get_masks();
  // Every group with two or more pruned layers: all of them prune the same channels.
  int coupled = 0;
  for (const auto& group : groups) {
    std::vector<std::vector<std::int64_t>> rows;
    for (const auto& m : group.members)
      if (masks.contains(m.layer + ".weight")) rows.push_back(zero_rows(masks.at(m.layer + ".weight")));
    if (rows.size() < 2) continue;
    ++coupled;
    for (const auto& r : rows) EXPECT_EQ(r, rows[0]) << group.members[0].layer;
    EXPECT_EQ(rows[0].size(), group.channels / 2) << group.members[0].layer;
  }
  EXPECT_EQ(coupled, 3);  // the 3 residual stages (a block's conv1 and bn1 are one pruned layer each)
  pruner->unwrap();
  SpeedupOptions o;
  o.latency_repeats = 0;
  const SpeedupReport r = ModelSpeedup(*model, zeros({1, 1, 28, 28}), masks, o).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  // Each residual stage lost half its channels: every conv is at half width (its inputs too).
  EXPECT_EQ(model->find_module("layer2.1.conv2")->as<nn::Conv2d>()->options().out_channels, 16);
  EXPECT_EQ(model->find_module("layer2.1.conv2")->as<nn::Conv2d>()->options().in_channels, 16);
  EXPECT_LT(r.macs_after * 3, r.macs_before) << r.to_string();
}

INSTANTIATE_TEST_SUITE_P(Pruners, DependencyAwarePruning,
                         ::testing::Values("l1norm", "l2norm", "fpgm", "slim", "taylorfo", "apoz", "mean_activation"));

}  // namespace
}  // namespace shrink::speedup
