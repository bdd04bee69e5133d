#pragma once
/// \file
/// SGD with momentum, dampening, Nesterov and weight decay (PyTorch's torch.optim.SGD rule).

#include "nn/optim/optimizer.h"

namespace shrink::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

/// d = g + wd·p; with momentum: b = d on the first step, else b = μ·b + (1−τ)·d;
/// d = d + μ·b (Nesterov) or d = b; p ← p − lr·d.
class SGD : public Optimizer {
 public:
  SGD(const NamedParameters& params, const SGDOptions& options);
  SGD(const std::vector<Tensor>& params, const SGDOptions& options) : SGD(name_by_index(params), options) {}
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);
  void step() override;
};

}  // namespace shrink::optim
