// Level, L1Norm, L2Norm and FPGM on every zoo model (depthwise convs of mobilenet_small, the
// branches of inception_small, the residuals of resnet20): every selected layer gets exactly
// floor(s · units) pruned units, and a training step on the masked model stays finite and keeps
// the pruned weights at zero.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"

namespace shrink::compression {
namespace {

std::int64_t zeros_in(const Tensor& t) {
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) n += t.data<float>()[i] == 0.0f;
  return n;
}

std::unique_ptr<Pruner> make(const std::string& kind, nn::ModulePtr model, ConfigList config) {
  if (kind == "level") return std::make_unique<LevelPruner>(model, config);
  if (kind == "l1norm") return std::make_unique<L1NormPruner>(model, config);
  if (kind == "l2norm") return std::make_unique<L2NormPruner>(model, config);
  return std::make_unique<FPGMPruner>(model, config);
}

class ZooWeightPruners : public ::testing::TestWithParam<std::string> {};

TEST_P(ZooWeightPruners, EveryPrunerMasksExactlyTheConfiguredShareOfEveryLayer) {
  for (const std::string kind : {"level", "l1norm", "l2norm", "fpgm"}) {
    SCOPED_TRACE(kind);
    manual_seed(1);
    nn::ModulePtr model = models::create(GetParam());
    optim::SGD opt(model->parameters(), optim::SGDOptions(0.01).momentum(0.9));
    auto pruner = make(kind, model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
    pruner->compress();
    ASSERT_FALSE(pruner->layers().empty());
    for (const auto& layer : pruner->layers()) {
      const Tensor mask = layer.module->buffer("weight_mask");
      const std::int64_t units = kind == "level" ? mask.numel() : mask.size(0);
      const std::int64_t per_unit = mask.numel() / units;
      EXPECT_EQ(zeros_in(mask), (units / 2) * per_unit) << layer.name;
    }
    const Tensor x = randn({2, 1, 28, 28});
    opt.zero_grad();
    Tensor out = (*model)(x);
    cross_entropy(out, from_vector(std::vector<std::int64_t>{3, 7}, {2})).backward();
    opt.step();
    pruner->step();
    for (float v : out.to_vector()) ASSERT_TRUE(std::isfinite(v));
    for (const auto& layer : pruner->layers())
      EXPECT_EQ(zeros_in(layer.module->param_value("weight").detach()), zeros_in(layer.module->buffer("weight_mask")))
          << layer.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooWeightPruners,
                         ::testing::Values("mlp", "naive", "lenet5", "vgg_small", "resnet20", "mobilenet_small",
                                           "inception_small"));

}  // namespace
}  // namespace shrink::compression
