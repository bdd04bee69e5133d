#pragma once
/// \file
/// Adam and AdamW (PyTorch's torch.optim.Adam / AdamW rules, with amsgrad).
///
/// Their hyper-parameters can be written two ways, which mean the same:
/// ```cpp
/// optim::Adam adam(model->named_parameters(), {.lr = 1e-3, .beta2 = 0.99});             // AdamConfig
/// optim::Adam adam(model->named_parameters(), optim::AdamOptions(1e-3).betas({0.9, 0.99}));  // LibTorch
/// optim::AdamW adamw(model->named_parameters(), optim::AdamWOptions(1e-3).weight_decay(0.05));
/// ```
/// AdamW takes AdamWConfig/AdamWOptions, whose weight_decay defaults to PyTorch's 1e-2 (Adam's is 0).

#include <utility>

#include "nn/optim/optimizer.h"

namespace shrink::optim {

/// Adam's (or, with kWeightDecay = 1e-2, AdamW's) hyper-parameters as a plain aggregate, for
/// designated initialisers (`{.lr = 1e-3, .beta1 = 0.8, .weight_decay = 0.1}`); fields left out
/// keep these defaults.
template <double kWeightDecay>
struct AdamConfigWithDecay {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = kWeightDecay;
  bool amsgrad = false;
};
using AdamConfig = AdamConfigWithDecay<0.0>;
using AdamWConfig = AdamConfigWithDecay<1e-2>;

/// The same hyper-parameters LibTorch-style: chainable setters and getters of the same name,
/// `AdamOptions(1e-3).betas({0.9, 0.999}).weight_decay(1e-4)`, `options.betas().second`.
/// Converts to the Config an optimizer is built from.
template <typename Config>
class AdamOptionsOf {
 public:
  AdamOptionsOf() = default;
  /// LibTorch's `AdamOptions(lr)`.
  explicit AdamOptionsOf(double lr) { config_.lr = lr; }
  explicit AdamOptionsOf(const Config& config) : config_(config) {}

  double lr() const { return config_.lr; }
  AdamOptionsOf& lr(double value) {
    config_.lr = value;
    return *this;
  }
  /// (β₁, β₂).
  std::pair<double, double> betas() const { return {config_.beta1, config_.beta2}; }
  AdamOptionsOf& betas(std::pair<double, double> value) {
    config_.beta1 = value.first;
    config_.beta2 = value.second;
    return *this;
  }
  double eps() const { return config_.eps; }
  AdamOptionsOf& eps(double value) {
    config_.eps = value;
    return *this;
  }
  double weight_decay() const { return config_.weight_decay; }
  AdamOptionsOf& weight_decay(double value) {
    config_.weight_decay = value;
    return *this;
  }
  bool amsgrad() const { return config_.amsgrad; }
  AdamOptionsOf& amsgrad(bool value) {
    config_.amsgrad = value;
    return *this;
  }

  const Config& config() const { return config_; }
  operator const Config&() const { return config_; }  // NOLINT(google-explicit-constructor): both spellings

 private:
  Config config_;
};
using AdamOptions = AdamOptionsOf<AdamConfig>;
using AdamWOptions = AdamOptionsOf<AdamWConfig>;

/// t += 1; g += wd·p (Adam) or p ← p·(1 − lr·wd) (AdamW); m = β₁m + (1−β₁)g;
/// v = β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε) (v → max(v) with amsgrad).
///
/// Every constructor takes an AdamConfig: a designated initialiser list, `{}` for the defaults,
/// or an AdamOptions (which converts to one).
class Adam : public Optimizer {
 public:
  Adam(const NamedParameters& params, const AdamConfig& options);
  Adam(const std::vector<Tensor>& params, const AdamConfig& options) : Adam(name_by_index(params), options) {}
  Adam(std::vector<ParamGroup> groups, const AdamConfig& defaults);
  void step() override;

 protected:
  Adam(std::string name, std::vector<ParamGroup> groups, std::map<std::string, double> defaults, bool decoupled);

 private:
  bool decoupled_weight_decay_;
};

/// Adam with decoupled weight decay. Takes an AdamWConfig (or AdamWOptions): the same fields as
/// Adam's, with weight_decay defaulting to 1e-2 like PyTorch.
class AdamW : public Adam {
 public:
  AdamW(const NamedParameters& params, const AdamWConfig& options = {});
  AdamW(const std::vector<Tensor>& params, const AdamWConfig& options = {}) : AdamW(name_by_index(params), options) {}
  AdamW(std::vector<ParamGroup> groups, const AdamWConfig& defaults);
};

}  // namespace shrink::optim
