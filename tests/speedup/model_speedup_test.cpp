// ModelSpeedup on every zoo model (group masks at two sparsities, L1Norm masks) and on the
// test-only structures: the shrunk model computes the masked model's outputs, layers have the
// planned channels, params and MACs go down; union vs intersection, round_to, empty layers,
// constant folds (exact and reported), grouped convs, fine-grained masks, every error pinned.
#include "speedup/model_speedup.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "autograd/warning.h"
#include "compression/pruning/weight_pruners.h"
#include "io/state_dict_file.h"
#include "nn/models/registry.h"
#include "tests/speedup/speedup_models.h"
#include "tests/speedup/speedup_test_util.h"
#include "tests/support/errors.h"

namespace shrink::speedup {
namespace {

using testing::error_of;
using namespace testutil;

const Shape kMnist{1, 1, 28, 28};
const Shape kSmall{1, 1, 8, 8};

SpeedupOptions quick() {
  SpeedupOptions o;
  o.latency_repeats = 1;
  return o;
}

std::int64_t out_channels(const nn::Module& model, const std::string& name) {
  nn::ModulePtr m = model.find_module(name);
  if (auto* c = m->as<nn::Conv2d>()) return c->options().out_channels;
  if (auto* l = m->as<nn::Linear>()) return l->out_features();
  return m->as<nn::BatchNormBase>()->num_features();
}

const LayerShrink& row_of(const SpeedupReport& r, const std::string& name) {
  for (const auto& l : r.layers)
    if (l.name == name) return l;
  ADD_FAILURE() << "no row " << name;
  return r.layers.front();
}

struct ZooCase {
  std::string model;
  double sparsity;
};

class ZooSpeedup : public ::testing::TestWithParam<ZooCase> {};

TEST_P(ZooSpeedup, GroupMasksShrinkEveryGroupAndTheShrunkModelMatchesTheMaskedOne) {
  Generator gen(11);
  manual_seed(5);
  nn::ModulePtr model = models::create(GetParam().model);
  randomize_batchnorms(*model, gen);
  std::map<std::string, std::int64_t> left;
  const io::StateDict masks = group_masks(*model, zeros(kMnist), GetParam().sparsity, gen, &left);
  model->train();
  const SpeedupReport r = ModelSpeedup(*model, zeros(kMnist), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_LE(r.max_abs_diff, 1e-5 * r.max_abs_output);
  EXPECT_GT(r.max_abs_output, 0.0);
  EXPECT_TRUE(r.inexact.empty()) << r.to_string();
  EXPECT_LT(r.params_after, r.params_before);
  EXPECT_LT(r.macs_after, r.macs_before);
  for (const auto& [name, channels] : left) EXPECT_EQ(out_channels(*model, name), channels) << name;
  EXPECT_TRUE(model->is_training());
  // The user's own forward runs the smaller layers at another batch size.
  NoGradGuard no_grad;
  EXPECT_EQ((*model)(randn({3, 1, 28, 28})).shape(), (Shape{3, 10}));
}

std::vector<ZooCase> zoo_cases() {
  std::vector<ZooCase> cases;
  for (const std::string& name : models::names())
    for (double s : {0.3, 0.6}) cases.push_back({name, s});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooSpeedup, ::testing::ValuesIn(zoo_cases()), [](const auto& info) {
  return info.param.model + "_" + std::to_string(static_cast<int>(info.param.sparsity * 100));
});

class ZooL1Norm : public ::testing::TestWithParam<std::string> {
 protected:
  /// L1Norm 50% on every Conv2d and Linear, unwrapped, then speedup; BatchNorms as initialised
  /// (shift 0) or with random statistics (`trained_batchnorms`).
  SpeedupReport l1norm_speedup(bool trained_batchnorms) {
    manual_seed(2);
    Generator gen(4);
    model = models::create(GetParam());
    if (trained_batchnorms) randomize_batchnorms(*model, gen);
    compression::L1NormPruner pruner(
        model, compression::ConfigList::parse(R"([{"op_types": ["Conv2d", "Linear"], "sparsity": 0.5}])"));
    pruner.compress();
    const io::StateDict masks = pruner.get_masks();
    pruner.unwrap();
    return ModelSpeedup(*model, zeros(kMnist), masks, quick()).speedup_model();
  }
  nn::ModulePtr model;
};

TEST_P(ZooL1Norm, L1NormMasksOnAFreshModelShrinkExactly) {
  const SpeedupReport r = l1norm_speedup(false);
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_LT(r.macs_after, r.macs_before) << r.to_string();
}

TEST_P(ZooL1Norm, L1NormMasksWithTrainedBatchNormsReportEveryInexactFold) {
  const SpeedupReport r = l1norm_speedup(true);
  EXPECT_LT(r.params_after, r.params_before);
  // Exact unless a BatchNorm shift of a removed channel reaches a padded conv, which is named.
  if (!r.verified) EXPECT_FALSE(r.inexact.empty()) << r.to_string();
  // In vgg_small every conv after the first is padded and reads a BatchNorm's output.
  if (GetParam() == "vgg_small") EXPECT_FALSE(r.inexact.empty()) << r.to_string();
  for (const auto& f : r.inexact) {
    const auto* conv = model->find_module(f.layer)->as<nn::Conv2d>();
    ASSERT_NE(conv, nullptr) << f.layer;
    EXPECT_GT(conv->options().padding[0], 0) << f.layer << ": " << f.reason;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooL1Norm, ::testing::ValuesIn(models::names()));

TEST(ModelSpeedup, ATensorUsedTwiceShrinksBothReadersInputs) {
  testmodels::UsedTwice model;
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {1, 4, 6});
  add_channel_masks(masks, model, "bn", {1, 4, 6});
  add_channel_masks(masks, model, "b", {0, 5});
  add_channel_masks(masks, model, "c", {0, 2, 5});
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_EQ(model.find_module("b")->as<nn::Conv2d>()->options().in_channels, 5);
  EXPECT_EQ(model.find_module("c")->as<nn::Conv2d>()->options().in_channels, 5);
  // Joined by the add: channels 0 and 5 go (both prune them), 2 stays (b keeps it).
  EXPECT_EQ(out_channels(model, "b"), 4);
  EXPECT_EQ(out_channels(model, "c"), 4);
  EXPECT_EQ(model.find_module("fc")->as<nn::Linear>()->in_features(), 4);
}

TEST(ModelSpeedup, CatOfATensorWithItselfRemovesTheChannelFromBothCopies) {
  testmodels::CatSelf model;
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {0, 3});
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_EQ(out_channels(model, "a"), 4);
  EXPECT_EQ(model.find_module("b")->as<nn::Conv2d>()->options().in_channels, 8);
}

TEST(ModelSpeedup, AConvWithOneOutputChannelKeepsItAndItsInputsShrink) {
  testmodels::OneChannel model;
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {2, 3, 7});
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  const auto& b = model.find_module("b")->as<nn::Conv2d>()->options();
  EXPECT_EQ(b.in_channels, 5);
  EXPECT_EQ(b.out_channels, 1);
  EXPECT_EQ(b.groups, 1);
}

TEST(ModelSpeedup, FlattenBetweenConvAndLinearRemovesEachChannelsBlockOfColumns) {
  testmodels::FlattenLinear model;
  io::StateDict masks;
  masks.set("conv.weight", row_mask({4, 1, 3, 3}, {1}));  // the bias stays: a constant channel
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_EQ(model.find_module("fc")->as<nn::Linear>()->in_features(), 108);
  EXPECT_TRUE(row_of(r, "fc").folded);
  EXPECT_TRUE(r.inexact.empty());
}

TEST(ModelSpeedup, ALayerPrunedToEmptyKeepsOneChannelWithAWarning) {
  testmodels::FlattenLinear model;
  io::StateDict masks;
  add_channel_masks(masks, model, "conv", {0, 1, 2, 3});
  WarningCollector warnings;
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_EQ(out_channels(model, "conv"), 1);
  ASSERT_EQ(warnings.messages().size(), 1u);
  EXPECT_EQ(warnings.messages()[0],
            "ModelSpeedup: every output channel of 'conv' (Conv2d) is pruned; keeping channel 0 so that the layer is "
            "not empty");
  EXPECT_EQ(r.warnings, warnings.messages());
}

TEST(ModelSpeedup, UnionKeepsWhatAnyLayerKeepsAndIntersectionRemovesWhatAnyPrunes) {
  for (const Resolve mode : {Resolve::Union, Resolve::Intersection}) {
    manual_seed(1);
    testmodels::Residual model;
    io::StateDict masks;
    add_channel_masks(masks, model, "a", {0, 1, 2});
    add_channel_masks(masks, model, "b", {1, 2, 3});
    SpeedupOptions o = quick();
    o.resolve = mode;
    const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, o).speedup_model();
    if (mode == Resolve::Union) {
      EXPECT_EQ(out_channels(model, "a"), 6);
      EXPECT_EQ(out_channels(model, "bn_b"), 6);
      EXPECT_TRUE(r.verified) << r.to_string();
    } else {
      EXPECT_EQ(out_channels(model, "a"), 4);
      EXPECT_EQ(out_channels(model, "bn_a"), 4);
      EXPECT_EQ(model.find_module("head")->as<nn::Conv2d>()->options().in_channels, 4);
      // Channels 0 and 3 were alive in one branch: the model changed, and the report says so.
      EXPECT_FALSE(r.verified);
      ASSERT_EQ(r.inexact.size(), 1u);
      EXPECT_EQ(r.inexact[0].layer, "head");
    }
  }
}

TEST(ModelSpeedup, RoundToKeepsMultiplesOfTheChannelCount) {
  nn::ModulePtr model = models::create("mlp");
  io::StateDict masks;
  add_channel_masks(masks, *model, "fc1", pick(300, 190, *std::make_unique<Generator>(3)));
  add_channel_masks(masks, *model, "fc2", pick(100, 97, *std::make_unique<Generator>(4)));
  SpeedupOptions o = quick();
  o.round_to = 8;
  const SpeedupReport r = ModelSpeedup(*model, zeros(kMnist), masks, o).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_EQ(out_channels(*model, "fc1"), 112);  // 110 kept -> 112
  EXPECT_EQ(out_channels(*model, "fc2"), 8);    // 3 kept -> 8
  EXPECT_EQ(out_channels(*model, "fc3"), 10);   // the output: never shrunk
}

TEST(ModelSpeedup, ConstantsFoldExactlyIntoLinearAndOneByOneConvsAndAreReportedForAPaddedConv) {
  Generator gen(9);
  testmodels::UsedTwice model;
  randomize_batchnorms(model, gen);
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {2, 5});  // bn's shift of channels 2, 5 stays: x carries constants
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  ASSERT_EQ(r.inexact.size(), 1u) << r.to_string();
  EXPECT_EQ(r.inexact[0].layer, "b");
  EXPECT_EQ(r.inexact[0].reason,
            "padded conv (padding [1, 1]): the folded constants of removed input channels reach the border outputs "
            "through fewer taps");
  EXPECT_TRUE(row_of(r, "b").folded);
  EXPECT_TRUE(row_of(r, "c").folded);
  EXPECT_GT(r.max_abs_diff, 0.0);
  EXPECT_NE(r.to_string().find("inexact: b: padded conv"), std::string::npos) << r.to_string();

  // Without the padded reader, the same constants fold exactly into the 1x1 conv.
  testmodels::Residual residual;
  randomize_batchnorms(residual, gen);
  io::StateDict m2;
  add_channel_masks(m2, residual, "a", {0, 3});
  add_channel_masks(m2, residual, "b", {0, 3});
  SpeedupOptions no_fold = quick();
  no_fold.fold_constants = false;
  testmodels::Residual copy;
  copy.load_state_dict(residual.state_dict());
  const SpeedupReport exact = ModelSpeedup(residual, zeros(kSmall), m2, quick()).speedup_model();
  EXPECT_TRUE(exact.verified) << exact.to_string();
  EXPECT_TRUE(row_of(exact, "head").folded);
  EXPECT_TRUE(exact.inexact.empty());
  const SpeedupReport dropped = ModelSpeedup(copy, zeros(kSmall), m2, no_fold).speedup_model();
  EXPECT_FALSE(dropped.verified) << "the dropped constants must show";
}

TEST(ModelSpeedup, AGroupedConvKeepsAsManyChannelsInEveryGroup) {
  testmodels::Grouped model;
  io::StateDict masks;
  add_channel_masks(masks, model, "g", {0, 1, 2, 5});  // group 0 keeps 1, group 1 keeps 3
  add_channel_masks(masks, model, "a", {0, 1});        // pinned: the grouped conv reads every channel
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  const auto& g = model.find_module("g")->as<nn::Conv2d>()->options();
  EXPECT_EQ(g.out_channels, 6);
  EXPECT_EQ(g.groups, 2);
  EXPECT_EQ(g.in_channels, 8);
  EXPECT_EQ(out_channels(model, "a"), 8);
}

TEST(ModelSpeedup, FineGrainedMasksShrinkOnlyWholeZeroFilters) {
  manual_seed(3);
  nn::ModulePtr model = models::create("lenet5");
  io::StateDict masks;
  Generator gen(1);
  Tensor m = rand({6, 1, 5, 5}, &gen);
  for (std::int64_t i = 0; i < m.numel(); ++i) m.data<float>()[i] = m.data<float>()[i] > 0.5f ? 1.0f : 0.0f;
  m.data<float>()[60] = 1.0f;  // no other filter is entirely zero
  for (std::int64_t f = 2; f < 6; ++f) m.data<float>()[f * 25] = 1.0f;
  std::fill(m.data<float>(), m.data<float>() + 25, 0.0f);  // filter 0 entirely
  m.data<float>()[25] = 1.0f;                              // filter 1 not entirely
  std::fill(m.data<float>() + 26, m.data<float>() + 50, 0.0f);
  masks.set("conv1.weight", m);
  const SpeedupReport r = ModelSpeedup(*model, zeros(kMnist), masks, quick()).speedup_model();
  EXPECT_TRUE(r.verified) << r.to_string();
  EXPECT_EQ(out_channels(*model, "conv1"), 5);
}

TEST(ModelSpeedup, MasksFromAFileAndTheReportTable) {
  testmodels::FlattenLinear model;
  io::StateDict masks;
  add_channel_masks(masks, model, "conv", {3});
  const std::string path = (std::filesystem::temp_directory_path() / "speedup_test.masks.h5").string();
  io::save_masks(masks, path);
  const SpeedupReport r = ModelSpeedup(model, zeros(kSmall), path, quick()).speedup_model();
  std::filesystem::remove(path);
  EXPECT_TRUE(r.verified);
  const std::string table = r.to_string();
  EXPECT_NE(table.find("conv                         Conv2d                  1->1            4->3\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("params:  " + std::to_string(r.params_before) + " -> " + std::to_string(r.params_after)),
            std::string::npos);
  EXPECT_NE(table.find(": ok"), std::string::npos);
}

TEST(ModelSpeedup, AnOpWithoutARuleStopsBeforeAnythingChanges) {
  testmodels::Transposer model;
  io::StateDict masks;
  add_channel_masks(masks, model, "conv", {0});
  const Tensor before = model.find_module("conv")->param("weight").clone();
  const std::string message =
      error_of<ValueError>([&] { ModelSpeedup(model, zeros(kSmall), masks, quick()).speedup_model(); });
  EXPECT_EQ(message.rfind("channel_groups: node 'transpose' (op 'transpose' at top level): expected an op with a "
                          "channel rule, got none; ",
                          0),
            0u)
      << message;
  const Tensor after = model.find_module("conv")->param("weight");
  EXPECT_TRUE(std::equal(before.data<float>(), before.data<float>() + before.numel(), after.data<float>()));
}

TEST(ModelSpeedup, ErrorsArePinned) {
  nn::ModulePtr model = models::create("mlp");
  const auto run = [&](const io::StateDict& masks, SpeedupOptions o = quick()) {
    ModelSpeedup(*model, zeros(kMnist), masks, o).speedup_model();
  };
  io::StateDict unknown;
  unknown.set("fc9.weight", ones({2}));
  EXPECT_EQ(error_of<ValueError>([&] { run(unknown); }),
            "ModelSpeedup: mask 'fc9.weight': expected the name of a parameter of the model, got none by that name "
            "(e.g. 'fc1.weight')");
  io::StateDict shape;
  shape.set("fc1.weight", ones({300}));
  EXPECT_EQ(error_of<ValueError>([&] { run(shape); }),
            "ModelSpeedup: mask 'fc1.weight': expected shape [300, 784] (the parameter's), got [300]");
  io::StateDict values;
  values.set("fc2.bias", full({100}, 0.5));
  EXPECT_EQ(error_of<ValueError>([&] { run(values); }),
            "ModelSpeedup: mask 'fc2.bias': expected 0/1 values, got 0.5 at flat index 0");
  EXPECT_EQ(error_of<ValueError>([&] { ModelSpeedup(*model, zeros({784}), io::StateDict{}); }),
            "ModelSpeedup: dummy_input: expected a float32 batch [N, ...] of rank >= 2, got float32 [784]");
  SpeedupOptions bad = quick();
  bad.round_to = 0;
  EXPECT_EQ(error_of<ValueError>([&] { ModelSpeedup(*model, zeros(kMnist), io::StateDict{}, bad); }),
            "ModelSpeedup: round_to: expected >= 1, got 0");
  bad = quick();
  bad.verify_batch = 0;
  EXPECT_EQ(error_of<ValueError>([&] { ModelSpeedup(*model, zeros(kMnist), io::StateDict{}, bad); }),
            "ModelSpeedup: verify_batch: expected >= 1, got 0");

  compression::L1NormPruner pruner(model,
                                   compression::ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"));
  pruner.compress();
  EXPECT_EQ(error_of<StateError>([&] { run(pruner.get_masks()); }),
            "ModelSpeedup: expected a model without parametrizations, got 'fc1.weight' parametrized (prune). Hint: "
            "masks = pruner.get_masks(); pruner.unwrap(); then speed up with the masks");
  const io::StateDict masks = pruner.get_masks();
  pruner.unwrap();
  ModelSpeedup once(*model, zeros(kMnist), masks, quick());
  once.speedup_model();
  EXPECT_EQ(error_of<StateError>([&] { once.speedup_model(); }),
            "ModelSpeedup.speedup_model: already done (the model is shrunk); build a new ModelSpeedup for another "
            "model");
}

TEST(ModelSpeedup, StrictVerificationFailureIsAStateErrorNamingTheInexactLayers) {
  Generator gen(9);
  testmodels::UsedTwice model;
  randomize_batchnorms(model, gen);
  io::StateDict masks;
  add_channel_masks(masks, model, "a", {2, 5});
  SpeedupOptions o = quick();
  o.strict = true;
  const std::string message =
      error_of<StateError>([&] { ModelSpeedup(model, zeros(kSmall), masks, o).speedup_model(); });
  EXPECT_EQ(
      message.rfind("ModelSpeedup: verification failed: expected max |masked - shrunk| <= 1e-05 x max |masked| = ", 0),
      0u)
      << message;
  EXPECT_NE(message.find(" (inexact folds; 'b': padded conv (padding [1, 1]): "), std::string::npos) << message;
}

}  // namespace
}  // namespace shrink::speedup
