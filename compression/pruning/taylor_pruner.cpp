// TaylorFOWeightPruner: per-channel (Σ w·∂L/∂w)² collected by a gradient hook on each weight.
#include "compression/pruning/taylor_pruner.h"

#include "autograd/error.h"
#include "compression/pruning/weight_pruners.h"

namespace shrink::compression {

TaylorFOWeightPruner::TaylorFOWeightPruner(nn::ModulePtr model, ConfigList config, DataPrunerOptions options)
    : DataDrivenPruner("TaylorFOWeightPruner", std::move(model), std::move(config),
                       channel_pruner_rules("TaylorFOWeightPruner"), options,
                       "after compress(), run forward and backward passes over some training batches, then call "
                       "update_masks()") {}

HookHandle TaylorFOWeightPruner::install_collector(std::size_t index) {
  const PrunedLayer& layer = layers()[index];
  Tensor& weight = layer.module->param("weight");
  SHRINK_CHECK(weight.requires_grad(), name(), ".compress: '", layer.name,
               ".weight' does not require grad, so no gradient will reach it (Hint: exclude frozen layers from the "
               "config_list)");
  // The hook captures the pruner, not the weight (a tensor holding a hook that holds the tensor
  // would never be freed); the destructor and unwrap() remove it.
  return weight.register_hook([this, index](const Tensor& grad) {
    collect(index, grad);
    return Tensor();
  });
}

void TaylorFOWeightPruner::collect(std::size_t index, const Tensor& grad) {
  if (!accepts_batch(index)) return;
  const Tensor w = parameter(layers()[index], "weight").detach();
  ChannelStatistics& s = statistics_at(index);
  const std::int64_t channels = w.size(0), per = w.numel() / channels;
  const float* wv = w.data<float>();
  const float* gv = grad.data<float>();
  float* out = s.sum.data<float>();
  for (std::int64_t c = 0; c < channels; ++c) {
    double first_order = 0;
    for (std::int64_t i = c * per; i < (c + 1) * per; ++i) first_order += static_cast<double>(wv[i]) * gv[i];
    out[c] += static_cast<float>(first_order * first_order);
  }
  ++s.count;
  ++s.batches;
}

Tensor TaylorFOWeightPruner::metric(const PrunedLayer& layer) { return statistics(layer.name).sum; }

}  // namespace shrink::compression
