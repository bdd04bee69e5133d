#pragma once
/// \file
/// MovementPruner (Sanh et al. 2020, "Movement Pruning"; SEMANTICS §2): prunes the weights that
/// training moves toward zero, not the small ones.
///
/// \code
///   compression::MovementPruner pruner(model, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.9}])"),
///                                      {.warm_up_step = 100, .cool_down_beginning_step = 1000});
///   pruner.compress();
///   for (...) { opt.zero_grad(); loss.backward(); opt.step(); pruner.step(); }
/// \endcode
///
/// Each selected weight W has a score S of its shape, 0 at compress(). Every backward adds
/// −W ⊙ ∂L/∂W' to it, where W' = W ⊙ M is the masked weight: the gradient reaching the mask M
/// (the straight-through estimator of the paper), so a masked weight keeps collecting score and
/// can come back. The scores come from a gradient hook on the `weight_mask` buffer, which
/// therefore requires grad while the pruner is attached (it is not a parameter: no optimizer
/// updates it, and step() drops its gradient).
///
/// Each step() advances the step count t and recomputes every mask from the scores (lowest
/// scores pruned, ties by index) at the cubic schedule, with w = warm_up_step and
/// c = cool_down_beginning_step:
///   s_t = 0                                   for t <= w
///   s_t = s_f · (1 − (1 − (t − w)/(c − w))³)   for w < t < c
///   s_t = s_f                                 for t >= c
/// Masks are not kept-pruned: each step ranks all the weights again.

#include <cstdint>
#include <vector>

#include "compression/pruning/pruner.h"

namespace shrink::compression {

struct MovementPrunerOptions {
  /// w: steps at sparsity 0 while the scores build up (>= 0).
  std::int64_t warm_up_step = 0;
  /// c: the step at which the final sparsity is reached (> w).
  std::int64_t cool_down_beginning_step = 1;
};

/// Element pruning by movement scores. Accepts Linear and Conv2d ("default"), per-layer and
/// global (`total_sparsity`) targets.
class MovementPruner : public Pruner {
 public:
  MovementPruner(nn::ModulePtr model, ConfigList config, MovementPrunerOptions options = {});

  /// Advances the step count and recomputes the masks at the schedule's sparsity.
  void step() override;
  /// Checks the epoch only (the schedule counts steps).
  void update_epoch(std::int64_t epoch) override;

  /// step() calls since compress().
  std::int64_t step_count() const { return step_; }
  /// The sparsity the schedule gives a layer configured at `final_sparsity` after `t` steps.
  double sparsity_at(double final_sparsity, std::int64_t t) const;
  /// The accumulated scores by weight name ("fc1.weight"), copies.
  io::StateDict scores() const;

  /// The masks, the scores ("score:<layer>.weight") and the step count ("movement:step").
  io::StateDict state_dict() const override;
  void load_state_dict(const io::StateDict& state) override;

 protected:
  Tensor metric(const PrunedLayer& layer) override;
  void on_compress() override;
  void on_unwrap() override;

 private:
  MovementPrunerOptions options_;
  std::int64_t step_ = 0;
  std::int64_t last_epoch_ = -1;
  /// Per layer (in layers() order): the scores and the hook feeding them.
  std::vector<Tensor> scores_;
  std::vector<HookHandle> hooks_;
};

}  // namespace shrink::compression
