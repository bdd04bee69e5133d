#pragma once
/// \file
/// SGD with momentum, dampening, Nesterov and weight decay (PyTorch's torch.optim.SGD rule).
///
/// Its hyper-parameters can be written two ways, which mean the same:
/// ```cpp
/// optim::SGD sgd(model->named_parameters(), {.lr = 0.05, .momentum = 0.9});            // SGDConfig
/// optim::SGD sgd(model->named_parameters(), optim::SGDOptions(0.05).momentum(0.9));   // LibTorch
/// ```

#include "nn/optim/optimizer.h"

namespace shrink::optim {

/// SGD's hyper-parameters as a plain aggregate, for designated initialisers
/// (`{.lr = 0.05, .momentum = 0.9, .weight_decay = 5e-4}`); fields left out keep these defaults.
struct SGDConfig {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

/// SGD's hyper-parameters LibTorch-style: chainable setters and getters of the same name,
/// `SGDOptions(0.05).momentum(0.9).weight_decay(5e-4)`, `options.momentum()`. Converts to the
/// SGDConfig an SGD is built from.
class SGDOptions {
 public:
  SGDOptions() = default;
  /// LibTorch's `SGDOptions(lr)`.
  explicit SGDOptions(double lr) { config_.lr = lr; }
  explicit SGDOptions(const SGDConfig& config) : config_(config) {}

  double lr() const { return config_.lr; }
  SGDOptions& lr(double value) {
    config_.lr = value;
    return *this;
  }
  double momentum() const { return config_.momentum; }
  SGDOptions& momentum(double value) {
    config_.momentum = value;
    return *this;
  }
  double dampening() const { return config_.dampening; }
  SGDOptions& dampening(double value) {
    config_.dampening = value;
    return *this;
  }
  double weight_decay() const { return config_.weight_decay; }
  SGDOptions& weight_decay(double value) {
    config_.weight_decay = value;
    return *this;
  }
  bool nesterov() const { return config_.nesterov; }
  SGDOptions& nesterov(bool value) {
    config_.nesterov = value;
    return *this;
  }

  const SGDConfig& config() const { return config_; }
  operator const SGDConfig&() const { return config_; }  // NOLINT(google-explicit-constructor): both spellings

 private:
  SGDConfig config_;
};

/// d = g + wd·p; with momentum: b = d on the first step, else b = μ·b + (1−τ)·d;
/// d = d + μ·b (Nesterov) or d = b; p ← p − lr·d.
///
/// Every constructor takes an SGDConfig: a designated initialiser list, `{}` for the defaults, or
/// an SGDOptions (which converts to one).
class SGD : public Optimizer {
 public:
  SGD(const NamedParameters& params, const SGDConfig& options);
  SGD(const std::vector<Tensor>& params, const SGDConfig& options) : SGD(name_by_index(params), options) {}
  SGD(std::vector<ParamGroup> groups, const SGDConfig& defaults);
  void step() override;
};

}  // namespace shrink::optim
