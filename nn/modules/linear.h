#pragma once
/// \file
/// Linear: y = x·Wᵀ + b, weight [out_features, in_features], bias [out_features].

#include "nn/module.h"

namespace shrink::nn {

class Linear : public Cloneable<Linear> {
 public:
  /// PyTorch's default init: W, b ~ U(-1/√in, 1/√in).
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  std::string extra_repr() const override;

  std::int64_t in_features() const { return in_features_; }
  std::int64_t out_features() const { return out_features_; }
  /// The raw parameters (what the optimizer updates; forward reads param_value(), which applies
  /// parametrizations such as masks). Handles: change values with copy_()/fill_().
  Tensor weight() const { return param("weight"); }
  /// Undefined when the layer has no bias.
  Tensor bias() const { return has_param("bias") ? param("bias") : Tensor(); }

 private:
  std::int64_t in_features_, out_features_;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::nn
