#include "nn/optim/clip_grad.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"

namespace shrink::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  SHRINK_CHECK(norm_type == 1 || norm_type == 2 || std::isinf(norm_type),
               "clip_grad_norm_: expected norm_type 1, 2 or infinity, got ", norm_type);
  double total = 0;
  for (const auto& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const float* d = g.data<float>();
    for (std::int64_t i = 0; i < g.numel(); ++i) {
      const double a = std::abs(static_cast<double>(d[i]));
      if (std::isinf(norm_type)) total = std::max(total, a);
      else total += norm_type == 1 ? a : a * a;
    }
  }
  if (norm_type == 2) total = std::sqrt(total);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    NoGradGuard no_grad;
    for (const auto& p : params) {
      Tensor g = p.grad();
      if (g.defined()) g.mul_(static_cast<float>(coef));
    }
  }
  return total;
}

}  // namespace shrink::optim
