// Module: parametrizations, the seam where masks and fake-quant enter the forward graph.
#include <algorithm>

#include "autograd/grad_mode.h"
#include "nn/module.h"

namespace shrink::nn {

HookHandle Module::register_parametrization(const std::string& name, ParametrizationFn fn, std::string kind) {
  SHRINK_CHECK_INDEX(
      has_param(name), type_name_, ".register_parametrization: no parameter '", name, "' to parametrize (parameters: ",
      parameter_names(), ")");
  SHRINK_CHECK(static_cast<bool>(fn), type_name_, ".register_parametrization: expected a callable for '", name,
               "', got an empty function");
  const int id = (*hook_ids_)++;
  auto plan = std::find_if(parametrizations_.begin(), parametrizations_.end(),
                           [&](const ParamPlan& p) { return p.param == name; });
  if (plan == parametrizations_.end()) {
    parametrizations_.push_back({name, {}});
    plan = std::prev(parametrizations_.end());
  }
  plan->chain.push_back({std::move(kind), std::move(fn), id});
  std::weak_ptr<int> alive = hook_ids_;
  return HookHandle([this, alive, id, name] {
    if (!alive.lock()) return;
    for (auto& p : parametrizations_)
      if (p.param == name) std::erase_if(p.chain, [id](const Parametrization& z) { return z.id == id; });
    std::erase_if(parametrizations_, [](const ParamPlan& p) { return p.chain.empty(); });
  });
}

HookHandle Module::register_parametrization(const std::string& name, std::function<Tensor(const Tensor&)> fn,
                                            std::string kind) {
  SHRINK_CHECK(static_cast<bool>(fn), type_name_, ".register_parametrization: expected a callable for '", name,
               "', got an empty function");
  return register_parametrization(
      name, ParametrizationFn([fn = std::move(fn)](Module&, const Tensor& v) { return fn(v); }), std::move(kind));
}

bool Module::is_parametrized(const std::string& name) const {
  if (name.empty()) return !parametrizations_.empty();
  return std::any_of(parametrizations_.begin(), parametrizations_.end(),
                     [&](const ParamPlan& p) { return p.param == name; });
}

std::vector<std::string> Module::parametrization_kinds(const std::string& name) const {
  std::vector<std::string> kinds;
  for (const auto& p : parametrizations_)
    if (p.param == name)
      for (const auto& z : p.chain) kinds.push_back(z.kind);
  return kinds;
}

Tensor Module::param_value(const std::string& name, bool optional) {
  if (optional && !has_param(name)) return Tensor();
  Tensor& raw = param(name);
  // The common case is a linear scan over an empty vector: no node, no copy.
  for (const auto& p : parametrizations_) {
    if (p.param != name) continue;
    Tensor value = raw;
    for (const auto& z : p.chain) {
      value = z.fn(*this, value);
      SHRINK_CHECK_SHAPE(value.defined() && value.shape() == raw.shape() && value.dtype() == raw.dtype(), type_name_,
                         ": parametrization '", z.kind.empty() ? std::string("(unnamed)") : z.kind, "' of '", name,
                         "' must keep the parameter's shape ", shape_str(raw.shape()), " and dtype ",
                         dtype_name(raw.dtype()), ", got ",
                         value.defined() ? shape_str(value.shape()) + " " + std::string(dtype_name(value.dtype()))
                                         : std::string("an undefined tensor"));
    }
    return value;
  }
  return raw;
}

void Module::remove_parametrizations(const std::string& name, bool leave_parametrized) {
  SHRINK_CHECK_INDEX(is_parametrized(name), type_name_, ".remove_parametrizations: parameter '", name,
                     "' has no parametrization", has_param(name) ? "" : " (and no such parameter)");
  if (leave_parametrized) {
    Tensor value;
    {
      NoGradGuard no_grad;
      value = param_value(name).detach().clone();
    }
    NoGradGuard no_grad;
    param(name).copy_(value);  // the same tensor object: optimizers keep their handle
  }
  std::erase_if(parametrizations_, [&](const ParamPlan& p) { return p.param == name; });
}

}  // namespace shrink::nn
