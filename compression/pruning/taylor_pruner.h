#pragma once
/// \file
/// TaylorFOWeightPruner (Molchanov et al. 2019, "Importance Estimation for Neural Network
/// Pruning"; NNI's TaylorFOWeightPruner): output channels ranked by the first-order Taylor
/// estimate of the loss change when the channel is removed.
///
/// \code
///   compression::TaylorFOWeightPruner pruner(model, ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
///   pruner.compress();                       // masks of ones; a gradient hook on each weight
///   for (const data::Batch& batch : first_batches) {
///     opt.zero_grad();
///     cross_entropy((*model)(batch.data), batch.targets).backward();   // one batch collected
///     opt.step();                            // optional: the statistics need only backward
///   }
///   pruner.update_masks();                   // masks from the collected scores
/// \endcode
///
/// Metric of output channel c (filter W_c of a Conv2d, row of a Linear), over the collected
/// batches b: Σ_b (Σ_{i ∈ W_c} w_i · ∂L_b/∂w_i)², the square of the filter's first-order term per
/// batch (SEMANTICS §2). Lowest first. It is read from the gradient of the raw weight as each
/// backward pass delivers it (a Tensor::register_hook gradient hook), so it does not depend on when
/// the user zeroes gradients; masked weights contribute 0. Every backward pass that reaches a
/// layer's weight while the layer is in training mode is a batch; update_masks() before any is a
/// StateError.

#include "compression/pruning/statistics.h"

namespace shrink::compression {

class TaylorFOWeightPruner : public DataDrivenPruner {
 public:
  /// Accepts Linear and Conv2d ("default"), per-layer and global keys.
  TaylorFOWeightPruner(nn::ModulePtr model, ConfigList config, DataPrunerOptions options = {});

 protected:
  Tensor metric(const PrunedLayer& layer) override;
  HookHandle install_collector(std::size_t index) override;

 private:
  /// Adds one batch's (Σ_filter w·g)² per channel to layers()[index]'s statistics.
  void collect(std::size_t index, const Tensor& grad);
};

}  // namespace shrink::compression
