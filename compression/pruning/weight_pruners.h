#pragma once
/// \file
/// One-shot pruners whose metric needs only the weights: Level (also balanced N:M), L1Norm,
/// L2Norm and FPGM (SEMANTICS §2). Their masks are computed by compress().
///
/// \code
///   compression::LevelPruner level(model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.8}])"));
///   compression::LevelPruner two_four(model, config_50_percent, {.balance_block = 4});  // 2:4
///   compression::L1NormPruner l1(model, ConfigList::parse(R"([{"op_types": ["Conv2d"], "total_sparsity": 0.5}])"));
/// \endcode

#include <cstdint>

#include "compression/pruning/pruner.h"

namespace shrink::compression {

struct LevelPrunerOptions {
  /// 0: plain magnitude pruning. M > 0: balanced (N:M) pruning: the weight is cut into blocks of M
  /// consecutive elements along its input dimension (dim 1; for each output row and kernel
  /// position), and each block prunes floor(s·M) of its smallest |w| (s = 0.5, M = 4 is 2:4
  /// sparsity). The input dimension must be a multiple of M, and `total_sparsity` is refused.
  std::int64_t balance_block = 0;
};

/// Element magnitude pruning: prunes the smallest |w| of each selected layer (or of each
/// `total_sparsity` group). Accepts Linear, Conv2d and BatchNorm2d; "default" = Linear, Conv2d.
class LevelPruner : public Pruner {
 public:
  LevelPruner(nn::ModulePtr model, ConfigList config, LevelPrunerOptions options = {});

 protected:
  Tensor metric(const PrunedLayer& layer) override;
  Tensor make_weight_mask(const PrunedLayer& layer, const Tensor& metric, std::int64_t prune_units) override;
  void on_compress() override;

 private:
  LevelPrunerOptions options_;
};

/// Output-channel pruning by the Lp norm of each filter (Conv2d dim 0) or row (Linear); the bias
/// of a pruned channel is masked too. The base of L1NormPruner and L2NormPruner.
class NormPruner : public Pruner {
 public:
  /// `p` = 1 or 2; `name` is the class name used in messages.
  NormPruner(std::string name, nn::ModulePtr model, ConfigList config, int p);

 protected:
  Tensor metric(const PrunedLayer& layer) override;

 private:
  int p_;
};

/// L1 norm of each output channel (torch.nn.utils.prune.ln_structured(n=1, dim=0)).
class L1NormPruner : public NormPruner {
 public:
  L1NormPruner(nn::ModulePtr model, ConfigList config);
};

/// L2 norm of each output channel (ln_structured(n=2, dim=0)).
class L2NormPruner : public NormPruner {
 public:
  L2NormPruner(nn::ModulePtr model, ConfigList config);
};

/// FPGM: prunes the output channels closest to the geometric median of the layer's filters.
class FPGMPruner : public Pruner {
 public:
  FPGMPruner(nn::ModulePtr model, ConfigList config);

 protected:
  Tensor metric(const PrunedLayer& layer) override;
};

/// The ConfigRules of a channel pruner named `name` (Linear and Conv2d; per-layer and global keys).
ConfigRules channel_pruner_rules(const std::string& name);

}  // namespace shrink::compression
