// Level (and balanced N:M), L1Norm, L2Norm, FPGM.
#include "compression/pruning/weight_pruners.h"

#include <algorithm>
#include <numeric>

#include "autograd/error.h"
#include "compression/pruning/criteria.h"

namespace shrink::compression {
namespace {

ConfigRules level_rules(const LevelPrunerOptions& options) {
  ConfigRules rules;
  rules.op_types = {"Linear", "Conv2d", "BatchNorm2d"};
  if (options.balance_block > 0) {
    rules.keys = {"sparsity", "sparsity_per_layer"};
    rules.required_one_of = {"sparsity", "sparsity_per_layer"};
  }
  return rules;
}

}  // namespace

ConfigRules channel_pruner_rules(const std::string& name) {
  ConfigRules rules;
  rules.compressor = name;
  return rules;
}

LevelPruner::LevelPruner(nn::ModulePtr model, ConfigList config, LevelPrunerOptions options)
    : Pruner("LevelPruner", std::move(model), std::move(config), level_rules(options), MaskGranularity::Element),
      options_(options) {
  SHRINK_CHECK(options_.balance_block >= 0, "LevelPruner: expected balance_block >= 0 (0 = unbalanced), got ",
               options_.balance_block);
}

void LevelPruner::on_compress() {
  if (options_.balance_block == 0) return;
  for (const auto& layer : layers()) {
    const Tensor w = parameter(layer, "weight");
    SHRINK_CHECK(w.dim() >= 2 && w.size(1) % options_.balance_block == 0, "LevelPruner: balanced pruning of '",
                 layer.name, "' needs an input dimension (dim 1) divisible by the block ", options_.balance_block,
                 ", got weight ", shape_str(w.shape()));
  }
}

Tensor LevelPruner::metric(const PrunedLayer& layer) { return magnitude(parameter(layer, "weight")); }

Tensor LevelPruner::make_weight_mask(const PrunedLayer& layer, const Tensor& metric, std::int64_t prune_units) {
  const std::int64_t m = options_.balance_block;
  if (m == 0) return Pruner::make_weight_mask(layer, metric, prune_units);
  // Blocks run along dim 1: element (o, i, r) of the [out, in, rest] view is at (o * in + i) * rest + r.
  const Tensor w = parameter(layer, "weight");
  const std::int64_t out = w.size(0), in = w.size(1), rest = w.numel() / (out * in);
  const std::int64_t blocks = w.numel() / m, per_block = prune_units / blocks;
  Tensor mask = ones_like(w);
  float* mk = mask.data<float>();
  const float* v = metric.data<float>();
  std::vector<std::int64_t> idx(static_cast<std::size_t>(m));
  for (std::int64_t o = 0; o < out; ++o)
    for (std::int64_t r = 0; r < rest; ++r)
      for (std::int64_t i0 = 0; i0 < in; i0 += m) {
        for (std::int64_t k = 0; k < m; ++k) idx[k] = (o * in + i0 + k) * rest + r;
        // Ties: the earlier element of the block is pruned first (idx is increasing).
        std::stable_sort(idx.begin(), idx.end(), [v](std::int64_t a, std::int64_t b) { return v[a] < v[b]; });
        for (std::int64_t k = 0; k < per_block; ++k) mk[idx[k]] = 0.0f;
      }
  return mask;
}

NormPruner::NormPruner(std::string name, nn::ModulePtr model, ConfigList config, int p)
    : Pruner(name, std::move(model), std::move(config), channel_pruner_rules(name), MaskGranularity::OutputChannel),
      p_(p) {}

Tensor NormPruner::metric(const PrunedLayer& layer) { return channel_norms(parameter(layer, "weight"), p_); }

L1NormPruner::L1NormPruner(nn::ModulePtr model, ConfigList config)
    : NormPruner("L1NormPruner", std::move(model), std::move(config), 1) {}

L2NormPruner::L2NormPruner(nn::ModulePtr model, ConfigList config)
    : NormPruner("L2NormPruner", std::move(model), std::move(config), 2) {}

FPGMPruner::FPGMPruner(nn::ModulePtr model, ConfigList config)
    : Pruner("FPGMPruner", std::move(model), std::move(config), channel_pruner_rules("FPGMPruner"),
             MaskGranularity::OutputChannel) {}

Tensor FPGMPruner::metric(const PrunedLayer& layer) { return geometric_median_distances(parameter(layer, "weight")); }

}  // namespace shrink::compression
