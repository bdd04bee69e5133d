#pragma once
/// \file
/// RMSprop (PyTorch's torch.optim.RMSprop rule: smoothing constant alpha, eps added after the
/// square root, coupled weight decay, optional momentum and centering).
///
/// Its hyper-parameters can be written two ways, which mean the same:
/// ```cpp
/// optim::RMSprop rms(model->named_parameters(), {.lr = 1e-3, .momentum = 0.9});               // RMSpropConfig
/// optim::RMSprop rms(model->named_parameters(), optim::RMSpropOptions(1e-3).momentum(0.9));  // LibTorch
/// ```

#include "nn/optim/optimizer.h"

namespace shrink::optim {

/// RMSprop's hyper-parameters as a plain aggregate (PyTorch's defaults), for designated
/// initialisers; fields left out keep these defaults.
struct RMSpropConfig {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
};

/// RMSprop's hyper-parameters LibTorch-style: chainable setters and getters of the same name,
/// `RMSpropOptions(1e-3).alpha(0.9).centered(true)`. Converts to the RMSpropConfig an RMSprop is
/// built from.
class RMSpropOptions {
 public:
  RMSpropOptions() = default;
  /// LibTorch's `RMSpropOptions(lr)`.
  explicit RMSpropOptions(double lr) { config_.lr = lr; }
  explicit RMSpropOptions(const RMSpropConfig& config) : config_(config) {}

  double lr() const { return config_.lr; }
  RMSpropOptions& lr(double value) {
    config_.lr = value;
    return *this;
  }
  double alpha() const { return config_.alpha; }
  RMSpropOptions& alpha(double value) {
    config_.alpha = value;
    return *this;
  }
  double eps() const { return config_.eps; }
  RMSpropOptions& eps(double value) {
    config_.eps = value;
    return *this;
  }
  double weight_decay() const { return config_.weight_decay; }
  RMSpropOptions& weight_decay(double value) {
    config_.weight_decay = value;
    return *this;
  }
  double momentum() const { return config_.momentum; }
  RMSpropOptions& momentum(double value) {
    config_.momentum = value;
    return *this;
  }
  bool centered() const { return config_.centered; }
  RMSpropOptions& centered(bool value) {
    config_.centered = value;
    return *this;
  }

  const RMSpropConfig& config() const { return config_; }
  operator const RMSpropConfig&() const { return config_; }  // NOLINT(google-explicit-constructor): both spellings

 private:
  RMSpropConfig config_;
};

/// g += wd·p; v = α·v + (1 − α)·g²; centered: ḡ = α·ḡ + (1 − α)·g, d = √(v − ḡ²) + ε, else
/// d = √v + ε; with momentum: b = μ·b + g/d, p ← p − lr·b; else p ← p − lr·g/d.
/// State per parameter: "square_avg", "grad_avg" (centered), "momentum_buffer" (momentum > 0)
/// and the step count, as PyTorch keeps them.
class RMSprop : public Optimizer {
 public:
  RMSprop(const NamedParameters& params, const RMSpropConfig& options);
  RMSprop(const std::vector<Tensor>& params, const RMSpropConfig& options) : RMSprop(name_by_index(params), options) {}
  RMSprop(std::vector<ParamGroup> groups, const RMSpropConfig& defaults);
  void step() override;
};

}  // namespace shrink::optim
