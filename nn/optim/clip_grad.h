#pragma once
/// \file
/// clip_grad_norm_: scales gradients so that their global norm is at most max_norm.

#include <vector>

#include "autograd/tensor.h"

namespace shrink::optim {

/// Computes the total `norm_type`-norm (2, 1, or infinity) of the gradients of `params`
/// (those without a gradient are skipped); if it exceeds `max_norm`, multiplies every gradient
/// by max_norm/(total + 1e-6), like PyTorch. Returns the total norm before clipping.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace shrink::optim
