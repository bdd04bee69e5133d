// speedup::BatchNormMasks on vgg_small: the BatchNorm2d after each pruned conv is masked on the
// conv's channels, so that the shrunk model computes what the masked one does.
#include "speedup/batchnorm_masks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/config_list.h"
#include "compression/pruning/registry.h"
#include "nn/models/registry.h"
#include "speedup/model_speedup.h"

namespace shrink::speedup {
namespace {

/// vgg_small with BatchNorm shifts that make a pruned channel's output a non-zero constant.
nn::ModulePtr shifted_vgg() {
  manual_seed(3);
  nn::ModulePtr model = models::create("vgg_small");
  for (const auto& [name, m] : model->named_modules())
    if (m->type_name() == "BatchNorm2d") {
      float* b = m->param("bias").data<float>();
      for (std::int64_t i = 0; i < m->param("bias").numel(); ++i) b[i] = 0.5f + 0.01f * static_cast<float>(i % 7);
    }
  model->eval();
  return model;
}

float max_difference(const Tensor& a, const Tensor& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  float d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) d = std::max(d, std::abs(x[i] - y[i]));
  return d;
}

/// Masked output, shrunk output, and the number of masked BatchNorms.
struct Outputs {
  Tensor masked, shrunk;
  std::size_t batchnorms = 0;
};

Outputs prune_and_speed_up(bool mask_batchnorms) {
  nn::ModulePtr model = shifted_vgg();
  const Tensor example = zeros({1, 1, 28, 28});
  manual_seed(5);
  const Tensor x = randn({4, 1, 28, 28});
  auto pruner = compression::make_pruner("l1norm", model,
                                         compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
  pruner->compress();
  std::optional<BatchNormMasks> bn;
  if (mask_batchnorms) bn.emplace(*model, example, *pruner);
  NoGradGuard no_grad;
  Outputs out;
  out.masked = (*model)(x);
  io::StateDict masks = pruner->get_masks();
  if (bn) {
    out.batchnorms = bn->size();
    for (const auto& [name, mask] : bn->finish()) masks.insert(name, mask);
    EXPECT_EQ(bn->size(), 0u);
  }
  pruner->unwrap();
  ModelSpeedup(*model, example, masks).speedup_model();
  out.shrunk = (*model)(x);
  return out;
}

TEST(BatchNormMasks, MakeTheSpeedupOfVggSmallExact) {
  const Outputs with = prune_and_speed_up(true);
  EXPECT_EQ(with.batchnorms, 6u);
  EXPECT_LT(max_difference(with.masked, with.shrunk), 1e-4f);
  // Without them the BatchNorm shifts of the removed channels are folded, inexactly.
  const Outputs without = prune_and_speed_up(false);
  EXPECT_GT(max_difference(without.masked, without.shrunk), 1e-3f);
}

TEST(BatchNormMasks, BakeChannelMasksLeavesAPlainModelThatComputesTheSame) {
  nn::ModulePtr model = shifted_vgg();
  auto pruner = compression::make_pruner("l1norm", model,
                                         compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
  pruner->compress();
  BatchNormMasks bn(*model, zeros({1, 1, 28, 28}), *pruner);
  nn::ModulePtr copy = model->clone();
  bake_channel_masks(*copy);
  for (const auto& [name, m] : copy->named_modules())
    if (m->type_name() == "BatchNorm2d") {
      EXPECT_FALSE(m->is_parametrized()) << name;
      EXPECT_FALSE(copy->state_dict().contains(name + ".channel_mask")) << name;
    }
  manual_seed(5);
  const Tensor x = randn({2, 1, 28, 28});
  NoGradGuard no_grad;
  EXPECT_EQ((*copy)(x).to_vector(), (*model)(x).to_vector());
}

}  // namespace
}  // namespace shrink::speedup
