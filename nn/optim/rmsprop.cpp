#include "nn/optim/rmsprop.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/kernels/parallel.h"
#include "nn/optim/torch_arith.h"

namespace shrink::optim {
namespace {

std::map<std::string, double> defaults_of(const RMSpropConfig& o) {
  return {{"lr", o.lr},
          {"alpha", o.alpha},
          {"eps", o.eps},
          {"weight_decay", o.weight_decay},
          {"momentum", o.momentum},
          {"centered", o.centered ? 1.0 : 0.0}};
}

/// a·b rounded to float once and never fused with a following addition: an FMA with a +0 addend
/// (a compiler may not fold it into a plain product, whose sign of zero can differ).
inline float rounded_product(float a, float b) { return std::fma(a, b, 0.0f); }

}  // namespace

RMSprop::RMSprop(const NamedParameters& params, const RMSpropConfig& options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropConfig& defaults)
    : Optimizer("RMSprop", std::move(groups), defaults_of(defaults)) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    SHRINK_CHECK(option(g, "lr") >= 0, "RMSprop: expected lr >= 0, got ", option(g, "lr"));
    SHRINK_CHECK(option(g, "alpha") >= 0, "RMSprop: expected alpha >= 0, got ", option(g, "alpha"));
    SHRINK_CHECK(option(g, "eps") >= 0, "RMSprop: expected eps >= 0, got ", option(g, "eps"));
    SHRINK_CHECK(option(g, "momentum") >= 0, "RMSprop: expected momentum >= 0, got ", option(g, "momentum"));
    SHRINK_CHECK(option(g, "weight_decay") >= 0, "RMSprop: expected weight_decay >= 0, got ",
                 option(g, "weight_decay"));
  }
}

// PyTorch 1.13's _single_tensor_rmsprop, operation by operation (see torch_arith.h):
// grad = grad.add(p, alpha=wd); square_avg.mul_(α).addcmul_(grad, grad, value=1 − α);
// centered: grad_avg.mul_(α).add_(grad, alpha=1 − α), avg = square_avg.addcmul(grad_avg,
// grad_avg, value=−1).sqrt_(); else avg = square_avg.sqrt(); avg.add_(eps);
// momentum: buf.mul_(μ).addcdiv_(grad, avg), p.add_(buf, alpha=−lr); else p.addcdiv_(grad, avg,
// value=−lr). Every coefficient is computed in double and rounded to float once.
void RMSprop::step() {
  using detail::fused_multiply_add;
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const auto neg_lr = static_cast<float>(-option(g, "lr"));
    const auto alpha = static_cast<float>(option(g, "alpha"));
    const auto one_minus_alpha = static_cast<float>(1.0 - option(g, "alpha"));
    const auto eps = static_cast<float>(option(g, "eps"));
    const auto wd = static_cast<float>(option(g, "weight_decay"));
    const auto mu = static_cast<float>(option(g, "momentum"));
    const bool centered = option(g, "centered") != 0;
    for (auto& [name, param] : groups_[g].params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      ++step_count(name);
      float* p = static_cast<float*>(param.raw_data());
      const float* d = grad.data<float>();
      float* sq = slot(name, "square_avg", param).data<float>();
      float* ga = centered ? slot(name, "grad_avg", param).data<float>() : nullptr;
      float* buf = mu > 0 ? slot(name, "momentum_buffer", param).data<float>() : nullptr;
      kernels::parallel_for(param.numel(), 65536, [&](std::int64_t s, std::int64_t e) {
        for (std::int64_t i = s; i < e; ++i) {
          const float gi = wd != 0.0f ? fused_multiply_add(p[i], wd, d[i]) : d[i];
          sq[i] = fused_multiply_add(one_minus_alpha * gi, gi, sq[i] * alpha);
          float avg;
          if (ga) {
            ga[i] = fused_multiply_add(gi, one_minus_alpha, ga[i] * alpha);
            avg = std::sqrt(fused_multiply_add(-ga[i], ga[i], sq[i]));
          } else {
            avg = std::sqrt(sq[i]);
          }
          avg += eps;
          if (buf) {
            // buf·μ rounded on its own (GCC contracts a·b + c into an FMA in C++ by default).
            buf[i] = rounded_product(buf[i], mu) + gi / avg;
            p[i] = fused_multiply_add(buf[i], neg_lr, p[i]);
          } else {
            p[i] += neg_lr * gi / avg;
          }
        }
      });
    }
  }
}

}  // namespace shrink::optim
