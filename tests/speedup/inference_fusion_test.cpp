// fuse_for_inference: every zoo model loaded from a model file computes the same logits after
// fusing, with no BatchNorm node left after a conv; models in training mode and attached pruners
// are refused; a fused traced model leaves the traced model alone.
#include "speedup/inference_fusion.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "speedup/fold_batchnorm.h"
#include "speedup/model_file.h"
#include "speedup/trace.h"
#include "tests/io/temp_dir.h"
#include "tests/speedup/speedup_test_util.h"
#include "tests/support/errors.h"

namespace shrink::speedup {
namespace {

using shrink::testing::error_of;

float max_abs_diff(const Tensor& a, const Tensor& b) {
  float d = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) d = std::max(d, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  return d;
}

float max_abs(const Tensor& a) {
  float m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data<float>()[i]));
  return m;
}

int count_type(const Graph& graph, const std::string& type) {
  return static_cast<int>(std::count_if(graph.nodes.begin(), graph.nodes.end(),
                                        [&](const GraphNode& n) { return n.module_type == type; }));
}

class ZooFusion : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooFusion, LoadedModelGivesTheSameLogitsWithoutBatchNormsAfterConvs) {
  manual_seed(3);
  nn::ModulePtr model = models::create(GetParam());
  Generator gen(3);
  testutil::randomize_batchnorms(*model, gen);
  model->eval();
  testing::TempDir dir;
  const std::string path = dir.file("model.h5");
  io::save_model(*model, zeros({1, 1, 28, 28}), path);
  const auto loaded = io::load_model(path);
  const Tensor x = randn({3, 1, 28, 28});
  NoGradGuard no_grad;
  const Tensor before = (*loaded)(x);
  const int bns = count_type(loaded->graph(), "BatchNorm2d");
  const std::size_t nodes = loaded->graph().nodes.size();
  const auto pairs = fuse_for_inference(*loaded);
  EXPECT_EQ(loaded->graph().nodes.size(), nodes - pairs.size());
  EXPECT_EQ(count_type(loaded->graph(), "BatchNorm2d"), bns - static_cast<int>(pairs.size()));
  // What is left normalises something else than a conv (inception_small's BatchNorm after a cat).
  for (const GraphNode& n : loaded->graph().nodes)
    if (n.module_type == "BatchNorm2d")
      EXPECT_NE(loaded->graph().nodes[static_cast<std::size_t>(n.inputs[0])].module_type, "Conv2d") << n.name;
  for (const auto& [conv, bn] : pairs) {
    EXPECT_EQ(loaded->find_module(bn), nullptr) << bn;
    EXPECT_FALSE(loaded->find_module(conv)->is_training()) << conv;
  }
  if (GetParam() == "vgg_small") EXPECT_EQ(pairs.size(), 6u);
  if (GetParam() == "resnet20") EXPECT_EQ(pairs.size(), 1u + 9u * 2u + 2u);
  const Tensor after = (*loaded)(x);
  ASSERT_EQ(after.shape(), before.shape());
  EXPECT_LE(max_abs_diff(before, after), 1e-5f * max_abs(before)) << max_abs(before);
  // The fused model is an ordinary GraphModule: it saves and loads again.
  io::save_model(*loaded, dir.file("fused.h5"));
  EXPECT_EQ(max_abs_diff((*io::load_model(dir.file("fused.h5")))(x), after), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooFusion, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

TEST(FuseForInference, ATracedModelFusesWithoutChangingTheModel) {
  manual_seed(4);
  nn::ModulePtr model = models::create("resnet20");  // bn1 is a typed member
  Generator gen(4);
  testutil::randomize_batchnorms(*model, gen);
  model->eval();
  const Tensor x = randn({2, 1, 28, 28});
  NoGradGuard no_grad;
  const Tensor before = (*model)(x);
  GraphModule graph_module(*model, trace(*model, zeros({1, 1, 28, 28})));
  graph_module.eval();
  EXPECT_EQ(fuse_for_inference(graph_module).front(), (std::pair<std::string, std::string>{"conv1", "bn1"}));
  EXPECT_LE(max_abs_diff(graph_module(x), before), 1e-5f * max_abs(before));
  EXPECT_EQ(model->find_module("bn1")->type_name(), "BatchNorm2d");
  EXPECT_EQ(max_abs_diff((*model)(x), before), 0.0f);
  EXPECT_TRUE(fuse_for_inference(graph_module).empty());  // nothing left to fuse
}

TEST(FuseForInference, ATrainingModelIsRefusedAndLeftAsItWas) {
  nn::ModulePtr model = models::create("vgg_small");
  GraphModule graph_module(*model, trace(*model, zeros({1, 1, 28, 28})));
  graph_module.train();
  EXPECT_EQ(error_of<StateError>([&] { fuse_for_inference(graph_module); }),
            "fuse_for_inference: expected a model in eval mode, got one in training mode. Hint: call eval() first; "
            "in training mode a BatchNorm normalises with the batch's statistics, which no conv can fold");
  graph_module.eval();
  graph_module.find_module("features.1")->train();
  const std::size_t nodes = graph_module.graph().nodes.size();
  EXPECT_EQ(error_of<StateError>([&] { fuse_for_inference(graph_module); }),
            "fuse_for_inference: expected 'features.1' in eval mode, got it in training mode. Hint: call eval() on "
            "the whole model");
  EXPECT_EQ(graph_module.graph().nodes.size(), nodes);
}

TEST(FuseForInference, AnAttachedParametrizationIsRefused) {
  nn::ModulePtr model = models::create("vgg_small");
  GraphModule graph_module(*model, trace(*model, zeros({1, 1, 28, 28})));
  graph_module.eval();
  graph_module.find_module("features.0")->register_parametrization("weight", [](const Tensor& w) { return w; });
  EXPECT_EQ(error_of<StateError>([&] { fuse_for_inference(graph_module); }),
            "fuse_for_inference: 'features.0' (Conv2d) carries a parametrization (a pruner or quantizer is attached); "
            "unwrap it first");
}

TEST(FuseForInference, FoldConvBnNeedsRunningStatisticsAndMatchingChannels) {
  nn::Conv2d conv(1, 4, 3);
  EXPECT_EQ(error_of<ValueError>([&] { fold_conv_bn(conv, nn::BatchNorm2d(3)); }),
            "fold_conv_bn: expected a BatchNorm2d of 4 features (the conv's out_channels), got 3");
  nn::BatchNormOptions no_stats{4};
  no_stats.track_running_stats = false;
  EXPECT_EQ(error_of<ValueError>([&] { fold_conv_bn(conv, nn::BatchNorm2d(no_stats)); }),
            "fold_conv_bn: expected a BatchNorm2d with running statistics, got one without "
            "(track_running_stats=false)");
}

}  // namespace
}  // namespace shrink::speedup
