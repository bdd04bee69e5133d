#include "nn/optim/adam.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/kernels/parallel.h"
#include "nn/optim/torch_arith.h"

namespace shrink::optim {
namespace {

template <typename Config>
std::map<std::string, double> defaults_of(const Config& o) {
  return {{"lr", o.lr},   {"beta1", o.beta1},
          {"beta2", o.beta2}, {"eps", o.eps},
          {"weight_decay", o.weight_decay}, {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}

}  // namespace

Adam::Adam(const NamedParameters& params, const AdamConfig& options)
    : Adam(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}
Adam::Adam(std::vector<ParamGroup> groups, const AdamConfig& defaults)
    : Adam("Adam", std::move(groups), defaults_of(defaults), false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, std::map<std::string, double> defaults, bool decoupled)
    : Optimizer(std::move(name), std::move(groups), std::move(defaults)), decoupled_weight_decay_(decoupled) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    SHRINK_CHECK(option(g, "lr") >= 0, name_, ": expected lr >= 0, got ", option(g, "lr"));
    SHRINK_CHECK(option(g, "beta1") >= 0 && option(g, "beta1") < 1 && option(g, "beta2") >= 0 &&
                     option(g, "beta2") < 1,
                 name_, ": expected betas in [0, 1), got (", option(g, "beta1"), ", ", option(g, "beta2"), ")");
    SHRINK_CHECK(option(g, "eps") >= 0, name_, ": expected eps >= 0, got ", option(g, "eps"));
  }
}

// PyTorch 1.13's _single_tensor_adam(w), operation by operation (see torch_arith.h): every
// coefficient is computed in double and rounded to float once, as the Python scalars are.
void Adam::step() {
  using detail::fused_multiply_add;
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const double lr = option(g, "lr"), b1 = option(g, "beta1"), b2 = option(g, "beta2");
    const double wd = option(g, "weight_decay");
    const auto beta1 = static_cast<float>(b1), beta2 = static_cast<float>(b2);
    const auto one_minus_beta1 = static_cast<float>(1.0 - b1), one_minus_beta2 = static_cast<float>(1.0 - b2);
    const auto eps = static_cast<float>(option(g, "eps"));
    // AdamW: param.mul_(1 - lr·wd); Adam: grad.add(param, alpha=wd).
    const auto decay = static_cast<float>(decoupled_weight_decay_ ? 1.0 - lr * wd : 1.0);
    const auto coupled_wd = static_cast<float>(decoupled_weight_decay_ ? 0.0 : wd);
    const bool amsgrad = option(g, "amsgrad") != 0;
    for (auto& [name, param] : groups_[g].params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      const std::int64_t t = ++step_count(name);
      const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(t));
      const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(t));
      const auto neg_step_size = static_cast<float>(-(lr / bias_correction1));
      const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      float* p = static_cast<float*>(param.raw_data());
      const float* d = grad.data<float>();
      float* m = slot(name, "exp_avg", param).data<float>();
      float* v = slot(name, "exp_avg_sq", param).data<float>();
      float* vmax = amsgrad ? slot(name, "max_exp_avg_sq", param).data<float>() : nullptr;
      kernels::parallel_for(param.numel(), 65536, [&](std::int64_t s, std::int64_t e) {
        for (std::int64_t i = s; i < e; ++i) {
          if (decoupled_weight_decay_) p[i] *= decay;
          const float gi = coupled_wd != 0.0f ? fused_multiply_add(p[i], coupled_wd, d[i]) : d[i];
          m[i] = fused_multiply_add(gi, one_minus_beta1, m[i] * beta1);
          v[i] = fused_multiply_add(one_minus_beta2 * gi, gi, v[i] * beta2);
          float vi = v[i];
          if (vmax) vi = vmax[i] = std::max(vmax[i], vi);
          const float denom = std::sqrt(vi) / bias_correction2_sqrt + eps;
          p[i] += neg_step_size * m[i] / denom;
        }
      });
    }
  }
}

AdamW::AdamW(const NamedParameters& params, const AdamWConfig& options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}
AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWConfig& defaults)
    : Adam("AdamW", std::move(groups), defaults_of(defaults), true) {}

}  // namespace shrink::optim
