// GraphModule's no-grad inference in micro-batches: every zoo model gives the floats of the whole
// batch at once; graphs that mix samples or run in training mode are not split.
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "speedup/graph_module.h"
#include "speedup/inference_fusion.h"
#include "speedup/per_sample.h"
#include "speedup/trace.h"
#include "tests/speedup/speedup_test_util.h"
#include "tests/support/fixtures.h"

namespace shrink::speedup {
namespace {

using shrink::testing::tensors_identical;

std::vector<nn::ModulePtr> modules_of(GraphModule& gm) {
  std::vector<nn::ModulePtr> modules;
  for (const GraphNode& n : gm.graph().nodes)
    modules.push_back(n.kind == NodeKind::Module ? gm.find_module(n.target) : nullptr);
  return modules;
}

class ZooMicroBatch : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooMicroBatch, SlicesGiveTheWholeBatchsFloats) {
  manual_seed(8);
  nn::ModulePtr model = models::create(GetParam());
  Generator gen(8);
  testutil::randomize_batchnorms(*model, gen);
  auto gm = testutil::traced_eval(*model);
  fuse_for_inference(*gm);
  EXPECT_TRUE(runs_per_sample(gm->graph(), modules_of(*gm)));
  const Tensor x = randn({53, 1, 28, 28}, &gen);  // slices of 16: three full ones and a tail of 5
  NoGradGuard no_grad;
  gm->set_micro_batch(1000);
  const Tensor whole = (*gm)(x);
  gm->set_micro_batch(16);
  const Tensor sliced = (*gm)(x);
  EXPECT_TRUE(tensors_identical(sliced, whole));
  gm->set_micro_batch(0);  // the default slice size from the traced shapes
  EXPECT_EQ(gm->micro_batch() % 16, 0);
  EXPECT_TRUE(tensors_identical((*gm)(x), whole));
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooMicroBatch,
                         ::testing::Values("mlp", "naive", "lenet5", "vgg_small", "resnet20", "mobilenet_small",
                                           "inception_small"));

/// Normalises each sample by the batch mean: samples are not independent.
class BatchMean : public nn::Cloneable<BatchMean> {
 public:
  BatchMean() : Cloneable("BatchMean") { register_module("fc", std::make_shared<nn::Linear>(4, 3), &BatchMean::fc); }
  std::shared_ptr<nn::Linear> fc;

 protected:
  Tensor forward(const Tensor& x) override {
    const Tensor h = (*fc)(x);
    return h - mean(h, {0}, /*keepdim=*/true);
  }
};

/// Flattens the batch into one row.
class BatchFlatten : public nn::Cloneable<BatchFlatten> {
 public:
  BatchFlatten() : Cloneable("BatchFlatten") {
    register_module("act", std::make_shared<nn::ReLU>(), &BatchFlatten::act);
  }
  std::shared_ptr<nn::ReLU> act;

 protected:
  Tensor forward(const Tensor& x) override { return flatten((*act)(x), 0, -1); }
};

TEST(MicroBatch, GraphsThatMixSamplesOrTrainAreNotSplit) {
  manual_seed(9);
  auto mixing = std::make_shared<BatchMean>();
  mixing->eval();
  GraphModule mean_graph(*mixing, trace(*mixing, zeros({2, 4})));
  EXPECT_FALSE(runs_per_sample(mean_graph.graph(), modules_of(mean_graph)));
  // And the forward is still the whole batch's: a slice's mean would differ.
  const Tensor x = randn({40, 4});
  NoGradGuard no_grad;
  mean_graph.set_micro_batch(4);
  EXPECT_TRUE(tensors_identical(mean_graph(x), (*mixing)(x)));

  auto flat = std::make_shared<BatchFlatten>();
  GraphModule flat_graph(*flat, trace(*flat, zeros({2, 3})));
  EXPECT_FALSE(runs_per_sample(flat_graph.graph(), modules_of(flat_graph)));

  nn::ModulePtr lenet = models::create("lenet5");
  lenet->eval();
  GraphModule lenet_graph(*lenet, trace(*lenet, zeros({1, 1, 28, 28})));
  EXPECT_TRUE(runs_per_sample(lenet_graph.graph(), modules_of(lenet_graph)));
  lenet_graph.train();  // batch statistics, dropout: per-sample no more
  EXPECT_FALSE(runs_per_sample(lenet_graph.graph(), modules_of(lenet_graph)));
  lenet_graph.eval();

  // A pruning mask is a pure function of the weight; another parametrization may keep state.
  auto fc1 = lenet_graph.find_module("fc1");
  auto mask = fc1->register_parametrization(
      "weight", [](const Tensor& w) { return w; }, "prune");
  EXPECT_TRUE(runs_per_sample(lenet_graph.graph(), modules_of(lenet_graph)));
  auto observer = fc1->register_parametrization(
      "weight", [](const Tensor& w) { return w; }, "quant");
  EXPECT_FALSE(runs_per_sample(lenet_graph.graph(), modules_of(lenet_graph)));
  observer.remove();
  mask.remove();
}

TEST(MicroBatch, AHookSeesTheWholeBatch) {
  manual_seed(10);
  nn::ModulePtr lenet = models::create("lenet5");
  lenet->eval();
  GraphModule graph(*lenet, trace(*lenet, zeros({1, 1, 28, 28})));
  graph.eval();
  graph.set_micro_batch(16);
  std::vector<std::int64_t> batches;
  auto handle = graph.find_module("fc1")->register_forward_hook(
      [&](nn::Module&, const Tensor& in, const Tensor&) { batches.push_back(in.size(0)); });
  NoGradGuard no_grad;
  graph(randn({40, 1, 28, 28}));
  EXPECT_EQ(batches, std::vector<std::int64_t>{40});
  handle.remove();
}

}  // namespace
}  // namespace shrink::speedup
