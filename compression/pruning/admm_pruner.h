#pragma once
/// \file
/// ADMMPruner (Zhang et al. 2018, NNI's ADMMPruner; SEMANTICS §2): pruning as a constrained
/// problem solved by ADMM. The model trains dense with a penalty pulling each selected weight W
/// toward a sparse copy Z; every ADMM iteration re-projects Z and updates the dual U.
///
/// \code
///   compression::ADMMPruner admm(model, ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.8}])"),
///                                {.rho = 1e-3, .iterations = 5, .training_epochs = 2});
///   admm.compress();                                  // masks of ones; Z = W, U = 0
///   for (std::int64_t epoch = 0; epoch <= 10; ++epoch) {
///     admm.update_epoch(epoch);                       // an ADMM iteration at epochs 2, 4, ..., 10
///     for (...) { Tensor loss = cross_entropy(...) + admm.penalty(); ... }
///   }                                                 // after iteration 5: masks from Z
/// \endcode
///
/// Per selected layer, with ρ = rho:
/// - compress(): Z = W, U = 0, all masks 1 (the model trains dense).
/// - penalty() = Σ_layers ρ/2 · ‖W − Z + U‖² (the square of the Frobenius norm, as in the paper;
///   NNI 2.x takes a square root of the norm, a known quirk not reproduced), differentiable in W:
///   its gradient is ρ·(W − Z + U). Add it to the loss.
/// - An ADMM iteration: Z = prune(W + U) (the criterion ranks W + U, the pruner's allocation keeps
///   the configured sparsity, pruned entries are 0), then U ← U + W − Z.
/// - After the last iteration the masks become Z's pattern (the weights Z keeps) and penalty()
///   is 0: fine-tune with the masks.
/// Iterations run from update_epoch(): iteration k (1 ... iterations) at the first epoch
/// >= k·training_epochs; or call admm_iteration() from your own loop (per step, per batch...).

#include <cstdint>
#include <vector>

#include "compression/pruning/pruner.h"

namespace shrink::compression {

/// How prune(W + U) ranks its units.
enum class ADMMCriterion {
  /// |W + U| per element (LevelPruner's criterion).
  Level,
  /// L1 norm of each output channel of W + U (L1NormPruner's); biases of pruned channels masked.
  L1Norm,
  /// L2 norm of each output channel (L2NormPruner's).
  L2Norm,
};

struct ADMMPrunerOptions {
  /// ρ, the penalty's weight (NNI's default 1e-4; > 0).
  double rho = 1e-4;
  /// Number of ADMM iterations (>= 1).
  std::int64_t iterations = 1;
  /// Epochs of training before each iteration when update_epoch() drives them (>= 1).
  std::int64_t training_epochs = 1;
  ADMMCriterion criterion = ADMMCriterion::Level;
};

class ADMMPruner : public Pruner {
 public:
  ADMMPruner(nn::ModulePtr model, ConfigList config, ADMMPrunerOptions options = {});

  /// The differentiable penalty ρ/2·Σ‖W − Z + U‖² (a scalar); a constant 0 once all iterations ran.
  Tensor penalty() const;
  /// One ADMM iteration (see above). StateError after the last one.
  void admm_iteration();
  /// Runs the iterations due at `epoch` (see above); epochs never go back.
  void update_epoch(std::int64_t epoch) override;

  /// ADMM iterations done so far.
  std::int64_t iterations_done() const { return iterations_done_; }
  bool finished() const { return iterations_done_ >= options_.iterations; }
  /// Z and U by weight name ("conv1.weight"), copies.
  io::StateDict z() const;
  io::StateDict u() const;

  /// The masks, Z, U and the last projected W + U ("admm:z:", "admm:u:", "admm:v:" + weight name),
  /// the iteration count ("admm:iterations") and the last epoch ("admm:last_epoch").
  io::StateDict state_dict() const override;
  void load_state_dict(const io::StateDict& state) override;

 protected:
  /// The criterion on W + U as of the last iteration.
  Tensor metric(const PrunedLayer& layer) override;
  /// Masks wait for the first ADMM iteration.
  bool needs_data() const override { return true; }
  void check_ready() const override;
  void on_compress() override;

 private:
  std::size_t index_of(const PrunedLayer& layer) const;
  io::StateDict named(const std::vector<Tensor>& tensors) const;

  ADMMPrunerOptions options_;
  std::int64_t iterations_done_ = 0;
  std::int64_t last_epoch_ = -1;
  /// Per layer, in layers() order.
  std::vector<Tensor> z_, u_, v_;
};

}  // namespace shrink::compression
