#pragma once
/// \file
/// SlimPruner (Liu et al. 2017, "Learning Efficient Convolutional Networks through Network
/// Slimming"; NNI's SlimPruner): BatchNorm2d channels ranked by |γ|, after sparsity training with
/// an L1 penalty on γ.
///
/// \code
///   auto config = ConfigList::parse(R"([{"op_types": ["BatchNorm2d"], "total_sparsity": 0.5,
///                                        "max_sparsity_per_layer": 0.9}])");
///   compression::SlimPruner slim(model, config, {.scale = 1e-4});
///   for (...) {                                  // sparsity training (NNI's training_epochs)
///     Tensor loss = add(cross_entropy((*model)(x), y), slim.regularization());
///     loss.backward(); opt.step();
///   }
///   slim.compress();                             // masks from |γ|: one threshold for all layers
/// \endcode
///
/// Selection: BatchNorm2d only ("default" = BatchNorm2d). `total_sparsity` ranks the channels of
/// all the dict's layers together (NNI's 'global' mode: one threshold on |γ|, each layer capped by
/// `max_sparsity_per_layer`); `sparsity` prunes each layer on its own (NNI's 'normal' mode). A
/// pruned channel has γ and β masked (weight_mask and bias_mask), so it outputs 0.

#include <string>
#include <utility>
#include <vector>

#include "compression/pruning/pruner.h"

namespace shrink::compression {

struct SlimPrunerOptions {
  /// λ of the regulariser λ·Σ|γ| (NNI's `scale`, default 1e-4).
  double scale = 1e-4;
};

class SlimPruner : public Pruner {
 public:
  SlimPruner(nn::ModulePtr model, ConfigList config, SlimPrunerOptions options = {});

  /// λ·Σ|γ| over the selected BatchNorm2d layers: a differentiable scalar to add to the loss, whose
  /// gradient is λ·sign(γ) (0 at 0). Usable before compress() (the config_list is checked then, as
  /// compress() would) and after it, where γ is the masked value (pruned channels add nothing).
  Tensor regularization() const;
  double scale() const { return options_.scale; }

 protected:
  /// |γ| per channel.
  Tensor metric(const PrunedLayer& layer) override;

 private:
  ConfigList config_;
  SlimPrunerOptions options_;
  /// The selected modules by name, when regularization() runs before compress().
  mutable std::vector<std::pair<std::string, nn::ModulePtr>> selected_;
};

}  // namespace shrink::compression
