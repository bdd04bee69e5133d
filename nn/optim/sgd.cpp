#include "nn/optim/sgd.h"

#include "autograd/grad_mode.h"
#include "autograd/kernels/parallel.h"
#include "nn/optim/torch_arith.h"

namespace shrink::optim {
namespace {

std::map<std::string, double> defaults_of(const SGDConfig& o) {
  return {{"lr", o.lr}, {"momentum", o.momentum}, {"dampening", o.dampening}, {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov ? 1.0 : 0.0}};
}

}  // namespace

SGD::SGD(const NamedParameters& params, const SGDConfig& options)
    : SGD(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDConfig& defaults)
    : Optimizer("SGD", std::move(groups), defaults_of(defaults)) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    SHRINK_CHECK(option(g, "lr") >= 0, "SGD: expected lr >= 0, got ", option(g, "lr"));
    SHRINK_CHECK(option(g, "momentum") >= 0, "SGD: expected momentum >= 0, got ", option(g, "momentum"));
    SHRINK_CHECK(option(g, "nesterov") == 0 || (option(g, "momentum") > 0 && option(g, "dampening") == 0),
                 "SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
  }
}

// PyTorch 1.13's _single_tensor_sgd, operation by operation (see torch_arith.h): d = grad.add(p,
// alpha=wd); buf.mul_(μ).add_(d, alpha=1 − τ); d = d.add(buf, alpha=μ) (Nesterov); p.add_(d,
// alpha=−lr). Every coefficient is computed in double and rounded to float once.
void SGD::step() {
  using detail::fused_multiply_add;
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const auto neg_lr = static_cast<float>(-option(g, "lr")), mu = static_cast<float>(option(g, "momentum"));
    const auto one_minus_damp = static_cast<float>(1.0 - option(g, "dampening"));
    const auto wd = static_cast<float>(option(g, "weight_decay"));
    const bool nesterov = option(g, "nesterov") != 0;
    for (auto& [name, param] : groups_[g].params) {
      Tensor grad = param.grad();
      if (!grad.defined()) continue;
      float* p = static_cast<float*>(param.raw_data());
      const float* d = grad.data<float>();
      const bool first = mu != 0 && !has_slot(name, "momentum_buffer");
      float* buf = mu != 0 ? slot(name, "momentum_buffer", param).data<float>() : nullptr;
      kernels::parallel_for(param.numel(), 65536, [&](std::int64_t s, std::int64_t e) {
        for (std::int64_t i = s; i < e; ++i) {
          float di = wd != 0.0f ? fused_multiply_add(p[i], wd, d[i]) : d[i];
          if (buf) {
            buf[i] = first ? di : fused_multiply_add(di, one_minus_damp, buf[i] * mu);
            di = nesterov ? fused_multiply_add(buf[i], mu, di) : buf[i];
          }
          p[i] = fused_multiply_add(di, neg_lr, p[i]);
        }
      });
    }
  }
}

}  // namespace shrink::optim
