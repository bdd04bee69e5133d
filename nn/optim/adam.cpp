#include "nn/optim/adam.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/kernels/parallel.h"

namespace shrink::optim {
namespace {

std::map<std::string, double> defaults_of(const AdamOptions& o) {
  return {{"lr", o.lr},   {"beta1", o.beta1},
          {"beta2", o.beta2}, {"eps", o.eps},
          {"weight_decay", o.weight_decay}, {"amsgrad", o.amsgrad ? 1.0 : 0.0}};
}

}  // namespace

Adam::Adam(const NamedParameters& params, const AdamOptions& options)
    : Adam(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}
Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults)
    : Adam("Adam", std::move(groups), defaults, false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& defaults, bool decoupled)
    : Optimizer(std::move(name), std::move(groups), defaults_of(defaults)), decoupled_weight_decay_(decoupled) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    SHRINK_CHECK(option(g, "lr") >= 0, name_, ": expected lr >= 0, got ", option(g, "lr"));
    SHRINK_CHECK(option(g, "beta1") >= 0 && option(g, "beta1") < 1 && option(g, "beta2") >= 0 &&
                     option(g, "beta2") < 1,
                 name_, ": expected betas in [0, 1), got (", option(g, "beta1"), ", ", option(g, "beta2"), ")");
    SHRINK_CHECK(option(g, "eps") >= 0, name_, ": expected eps >= 0, got ", option(g, "eps"));
  }
}

void Adam::step() {
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const double lr = option(g, "lr"), b1 = option(g, "beta1"), b2 = option(g, "beta2");
    const auto eps = static_cast<float>(option(g, "eps")), wd = static_cast<float>(option(g, "weight_decay"));
    const bool amsgrad = option(g, "amsgrad") != 0;
    for (auto& [name, param] : groups_[g].params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      const std::int64_t t = ++step_count(name);
      const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
      const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
      const auto step_size = static_cast<float>(lr / bc1), bc2_sqrt_f = static_cast<float>(bc2_sqrt);
      const auto beta1 = static_cast<float>(b1), beta2 = static_cast<float>(b2);
      const float decay = decoupled_weight_decay_ ? static_cast<float>(1.0 - lr * wd) : 1.0f;
      const float coupled_wd = decoupled_weight_decay_ ? 0.0f : wd;
      float* p = static_cast<float*>(param.raw_data());
      const float* d = grad.data<float>();
      float* m = slot(name, "exp_avg", param).data<float>();
      float* v = slot(name, "exp_avg_sq", param).data<float>();
      float* vmax = amsgrad ? slot(name, "max_exp_avg_sq", param).data<float>() : nullptr;
      kernels::parallel_for(param.numel(), 65536, [&](std::int64_t s, std::int64_t e) {
        for (std::int64_t i = s; i < e; ++i) {
          p[i] *= decay;
          const float gi = d[i] + coupled_wd * p[i];
          m[i] += (gi - m[i]) * (1.0f - beta1);  // PyTorch's lerp form
          v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
          float vi = v[i];
          if (vmax) vi = vmax[i] = std::max(vmax[i], vi);
          p[i] -= step_size * m[i] / (std::sqrt(vi) / bc2_sqrt_f + eps);  // PyTorch's operation order
        }
      });
    }
  }
}

AdamW::AdamW(const NamedParameters& params, const AdamOptions& options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}
AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& defaults)
    : Adam("AdamW", std::move(groups), defaults, true) {}

}  // namespace shrink::optim
