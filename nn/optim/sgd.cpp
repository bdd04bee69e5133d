#include "nn/optim/sgd.h"

#include "autograd/grad_mode.h"
#include "autograd/kernels/parallel.h"

namespace shrink::optim {
namespace {

std::map<std::string, double> defaults_of(const SGDOptions& o) {
  return {{"lr", o.lr}, {"momentum", o.momentum}, {"dampening", o.dampening}, {"weight_decay", o.weight_decay},
          {"nesterov", o.nesterov ? 1.0 : 0.0}};
}

}  // namespace

SGD::SGD(const NamedParameters& params, const SGDOptions& options)
    : SGD(std::vector<ParamGroup>{ParamGroup{params, {}}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults)
    : Optimizer("SGD", std::move(groups), defaults_of(defaults)) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    SHRINK_CHECK(option(g, "lr") >= 0, "SGD: expected lr >= 0, got ", option(g, "lr"));
    SHRINK_CHECK(option(g, "momentum") >= 0, "SGD: expected momentum >= 0, got ", option(g, "momentum"));
    SHRINK_CHECK(option(g, "nesterov") == 0 || (option(g, "momentum") > 0 && option(g, "dampening") == 0),
                 "SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const auto lr = static_cast<float>(option(g, "lr")), mu = static_cast<float>(option(g, "momentum"));
    const auto damp = static_cast<float>(option(g, "dampening")), wd = static_cast<float>(option(g, "weight_decay"));
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
          float di = d[i] + wd * p[i];
          if (buf) {
            buf[i] = first ? di : mu * buf[i] + (1.0f - damp) * di;
            di = nesterov ? di + mu * buf[i] : buf[i];
          }
          p[i] -= lr * di;
        }
      });
    }
  }
}

}  // namespace shrink::optim
