#pragma once
/// \file
/// ActivationAPoZRankPruner and ActivationMeanRankPruner (NNI 2.x; APoZ from Hu et al. 2016,
/// "Network Trimming"): output channels ranked by what they output on the user's batches.
///
/// \code
///   compression::ActivationAPoZRankPruner pruner(model, ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
///   pruner.compress();                              // masks of ones; a forward hook on each layer
///   for (const data::Batch& batch : first_batches) (*model)(batch.data);   // one batch per call
///   pruner.update_masks();
/// \endcode
///
/// A forward hook on each selected Conv2d or Linear applies the activation function (option
/// `activation`: "relu" as NNI, "relu6" or "identity") to the layer's output and accumulates, per
/// output channel (Conv2d dim 1, Linear the last dim), over every batch and spatial position:
/// - APoZ: the number of zeros; metric 1 − zeros/values (the Average Percentage of Zeros), so the
///   channels that are most often zero are pruned first;
/// - Mean: the sum; metric sum/values (the mean activation), so the weakest channels are pruned.
/// Every call of a selected layer in training mode while collecting is a batch (statistics.h says
/// why eval-mode passes are left out); unwrap() removes the hooks.

#include <string>

#include "compression/pruning/statistics.h"

namespace shrink::compression {

struct ActivationPrunerOptions {
  /// Applied to the layer output before counting: "relu" (NNI's default), "relu6" or "identity".
  std::string activation = "relu";
  /// See DataPrunerOptions.
  std::int64_t max_batches = 0;
  bool reset_after_update = false;
};

/// The shared forward-hook collection of the two activation pruners.
class ActivationPruner : public DataDrivenPruner {
 public:
  enum class Activation { ReLU, ReLU6, Identity };
  Activation activation() const { return activation_; }

 protected:
  /// `count_zeros`: accumulate zero counts (APoZ) instead of sums (Mean).
  ActivationPruner(std::string name, nn::ModulePtr model, ConfigList config, ActivationPrunerOptions options,
                   bool count_zeros);
  HookHandle install_collector(std::size_t index) override;
  DType sum_dtype() const override { return count_zeros_ ? DType::Int64 : DType::Float32; }

 private:
  void collect(std::size_t index, const Tensor& output);

  Activation activation_;
  bool count_zeros_;
};

/// Prunes the output channels with the highest average percentage of zeros after the activation.
class ActivationAPoZRankPruner : public ActivationPruner {
 public:
  /// Accepts Linear and Conv2d ("default"), per-layer and global keys.
  ActivationAPoZRankPruner(nn::ModulePtr model, ConfigList config, ActivationPrunerOptions options = {});

 protected:
  /// 1 − APoZ per channel.
  Tensor metric(const PrunedLayer& layer) override;
};

/// Prunes the output channels with the lowest mean activation.
class ActivationMeanRankPruner : public ActivationPruner {
 public:
  ActivationMeanRankPruner(nn::ModulePtr model, ConfigList config, ActivationPrunerOptions options = {});

 protected:
  /// The mean activation per channel.
  Tensor metric(const PrunedLayer& layer) override;
};

}  // namespace shrink::compression
