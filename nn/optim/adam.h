#pragma once
/// \file
/// Adam and AdamW (PyTorch's torch.optim.Adam / AdamW rules, with amsgrad).

#include "nn/optim/optimizer.h"

namespace shrink::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

/// t += 1; g += wd·p (Adam) or p ← p·(1 − lr·wd) (AdamW); m = β₁m + (1−β₁)g;
/// v = β₂v + (1−β₂)g²; p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε) (v → max(v) with amsgrad).
class Adam : public Optimizer {
 public:
  Adam(const NamedParameters& params, const AdamOptions& options);
  Adam(const std::vector<Tensor>& params, const AdamOptions& options) : Adam(name_by_index(params), options) {}
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults);
  void step() override;

 protected:
  Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& defaults, bool decoupled);

 private:
  bool decoupled_weight_decay_;
};

/// Adam with decoupled weight decay (default weight_decay 1e-2, like PyTorch).
class AdamW : public Adam {
 public:
  static AdamOptions defaults() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
  }
  AdamW(const NamedParameters& params, const AdamOptions& options = defaults());
  AdamW(const std::vector<Tensor>& params, const AdamOptions& options = defaults())
      : AdamW(name_by_index(params), options) {}
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& defaults);
};

}  // namespace shrink::optim
