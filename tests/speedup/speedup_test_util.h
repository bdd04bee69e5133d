#pragma once
/// \file
/// Helpers of the ModelSpeedup tests: random BatchNorm statistics (so that removed channels
/// carry nonzero constants), random channel masks per layer or per dependency group.

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "io/state_dict.h"
#include "nn/layers.h"
#include "speedup/channel_groups.h"
#include "speedup/graph_module.h"
#include "speedup/trace.h"

namespace shrink::speedup::testutil {

/// `model` in eval mode traced on a Fashion-MNIST-shaped example, as an eval-mode GraphModule.
inline std::shared_ptr<GraphModule> traced_eval(nn::Module& model) {
  model.eval();
  auto gm = std::make_shared<GraphModule>(model, trace(model, zeros({1, 1, 28, 28})));
  gm->eval();
  return gm;
}

/// BatchNorm weight in [0.5, 1.5), bias and running mean ~ N(0, 0.5²), running var in [0.5, 2).
inline void randomize_batchnorms(nn::Module& model, Generator& gen) {
  NoGradGuard no_grad;
  for (const auto& [name, m] : model.named_modules()) {
    auto* bn = m->as<nn::BatchNormBase>();
    if (bn == nullptr) continue;
    const std::int64_t c = bn->num_features();
    bn->weight().copy_(rand({c}, &gen) + 0.5f);
    bn->bias().copy_(randn({c}, &gen) * 0.5f);
    bn->running_mean().copy_(randn({c}, &gen) * 0.5f);
    bn->running_var().copy_(rand({c}, &gen) * 1.5f + 0.5f);
  }
}

/// A 0/1 mask of `shape` whose rows (dim 0) in `pruned` are zero.
inline Tensor row_mask(const Shape& shape, const std::vector<std::int64_t>& pruned) {
  Tensor m = ones(shape);
  const std::int64_t per = m.numel() / shape[0];
  for (std::int64_t r : pruned) std::fill(m.data<float>() + r * per, m.data<float>() + (r + 1) * per, 0.0f);
  return m;
}

/// `count` distinct random indices in [0, n).
inline std::vector<std::int64_t> pick(std::int64_t n, std::int64_t count, Generator& gen) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), gen.engine());
  all.resize(static_cast<std::size_t>(count));
  std::sort(all.begin(), all.end());
  return all;
}

/// Masks (weight and bias) of `layer` pruning output channels `pruned`.
inline void add_channel_masks(io::StateDict& masks, const nn::Module& model, const std::string& layer,
                              const std::vector<std::int64_t>& pruned) {
  nn::ModulePtr m = model.find_module(layer);
  for (const char* p : {"weight", "bias"})
    if (m->has_param(p)) masks.set(layer + "." + p, row_mask(m->param(p).shape(), pruned));
}

/// Masks as a dependency-aware pruner makes them: in every group, floor(sparsity · unpinned
/// channels) random group channels are pruned in every member (Conv2d, Linear, BatchNorm).
/// Returns the masks and, per layer, the number of output channels left.
inline io::StateDict group_masks(nn::Module& model, const Tensor& example, double sparsity, Generator& gen,
                                 std::map<std::string, std::int64_t>* left = nullptr) {
  const ChannelGroups groups(trace(model, example), model);
  io::StateDict masks;
  for (const auto& group : groups.dependency_groups()) {
    std::vector<std::int64_t> free;
    for (std::int64_t c = 0; c < group.channels; ++c)
      if (!group.pinned[static_cast<std::size_t>(c)]) free.push_back(c);
    std::vector<bool> pruned(static_cast<std::size_t>(group.channels), false);
    for (std::int64_t i : pick(static_cast<std::int64_t>(free.size()),
                               static_cast<std::int64_t>(sparsity * static_cast<double>(free.size())), gen))
      pruned[static_cast<std::size_t>(free[static_cast<std::size_t>(i)])] = true;
    for (const auto& member : group.members) {
      std::vector<std::int64_t> rows;
      for (std::size_t c = 0; c < member.channel_map.size(); ++c)
        if (pruned[static_cast<std::size_t>(member.channel_map[c])]) rows.push_back(static_cast<std::int64_t>(c));
      add_channel_masks(masks, model, member.layer, rows);
      if (left) (*left)[member.layer] = static_cast<std::int64_t>(member.channel_map.size() - rows.size());
    }
  }
  return masks;
}

}  // namespace shrink::speedup::testutil
