#include "nn/optim/optimizer.h"

#include <set>

#include "autograd/grad_mode.h"

namespace shrink::optim {

NamedParameters name_by_index(const std::vector<Tensor>& params) {
  NamedParameters named;
  for (std::size_t i = 0; i < params.size(); ++i) named.emplace_back(std::to_string(i), params[i]);
  return named;
}

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, std::map<std::string, double> defaults)
    : name_(std::move(name)), groups_(std::move(groups)), defaults_(std::move(defaults)) {
  SHRINK_CHECK(!groups_.empty(), name_, ": expected at least one parameter group, got none");
  std::set<std::string> seen;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    for (const auto& [key, value] : groups_[g].options) {
      if (defaults_.count(key)) continue;
      std::string known;
      for (const auto& [k, v] : defaults_) known += (known.empty() ? "" : ", ") + k;
      throw ValueError(name_ + ": parameter group " + std::to_string(g) + " has unknown option '" + key +
                       "' (known: " + known + ")");
    }
    for (const auto& [pname, p] : groups_[g].params) {
      SHRINK_CHECK(p.defined() && p.is_leaf() && p.requires_grad(), name_, ": expected parameter '", pname,
                   "' to be a leaf that requires grad");
      SHRINK_CHECK(seen.insert(pname).second, name_, ": parameter '", pname,
                   "' appears in more than one group (or twice in one)");
    }
  }
}

void Optimizer::zero_grad(bool set_to_none) {
  for (auto& g : groups_)
    for (auto& [name, p] : g.params) Tensor(p).zero_grad(set_to_none);
}

double Optimizer::option(std::size_t group, const std::string& name) const {
  SHRINK_CHECK_INDEX(group < groups_.size(), name_, ": expected a group index below ", groups_.size(), ", got ", group);
  auto it = groups_[group].options.find(name);
  if (it != groups_[group].options.end()) return it->second;
  auto d = defaults_.find(name);
  SHRINK_CHECK(d != defaults_.end(), name_, ": unknown option '", name, "'");
  return d->second;
}

void Optimizer::set_option(std::size_t group, const std::string& name, double value) {
  SHRINK_CHECK_INDEX(group < groups_.size(), name_, ": expected a group index below ", groups_.size(), ", got ", group);
  SHRINK_CHECK(defaults_.count(name), name_, ": unknown option '", name, "'");
  groups_[group].options[name] = value;
}

void Optimizer::set_lr(double lr) {
  for (std::size_t g = 0; g < groups_.size(); ++g) set_lr(g, lr);
}

Tensor& Optimizer::slot(const std::string& param_name, const std::string& slot_name, const Tensor& like) {
  auto [it, inserted] = slots_.try_emplace(param_name + "." + slot_name);
  if (inserted) it->second = zeros(like.shape());
  return it->second;
}

bool Optimizer::has_slot(const std::string& param_name, const std::string& slot_name) const {
  return slots_.count(param_name + "." + slot_name) != 0;
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState state;
  for (const auto& [key, t] : slots_) state.tensors.insert(key, t.clone());
  for (const auto& [name, steps] : steps_) state.tensors.insert(name + ".step", scalar_tensor(double(steps), DType::Int64));
  state.groups = nlohmann::json::array();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    nlohmann::json group;
    for (const auto& [key, value] : defaults_) group[key] = option(g, key);
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [pname, p] : groups_[g].params) names.push_back(pname);
    group["params"] = names;
    state.groups.push_back(group);
  }
  return state;
}

void Optimizer::load_state_dict(const OptimizerState& state) {
  SHRINK_CHECK(state.groups.is_array() && state.groups.size() == groups_.size(), name_,
               ".load_state_dict: expected ", groups_.size(), " parameter groups, got ",
               state.groups.is_array() ? state.groups.size() : 0);
  std::map<std::string, Tensor> params;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    std::vector<std::string> names;
    for (const auto& [pname, p] : groups_[g].params) {
      names.push_back(pname);
      params[pname] = p;
    }
    const auto saved = state.groups[g].value("params", std::vector<std::string>{});
    SHRINK_CHECK(saved == names, name_, ".load_state_dict: group ", g,
                 " holds other parameters than the saved state (different model or group layout?)");
  }
  std::map<std::string, Tensor> slots;
  std::map<std::string, std::int64_t> steps;
  for (const auto& [key, t] : state.tensors) {
    const auto dot = key.rfind('.');
    SHRINK_CHECK(dot != std::string::npos && params.count(key.substr(0, dot)), name_,
                 ".load_state_dict: state entry '", key, "' names no parameter of this optimizer");
    const std::string pname = key.substr(0, dot);
    if (key.substr(dot + 1) == "step") {
      steps[pname] = t.item<std::int64_t>();
    } else {
      SHRINK_CHECK_SHAPE(t.shape() == params[pname].shape(), name_, ".load_state_dict: state '", key,
                         "' has shape ", shape_str(t.shape()), ", expected ", shape_str(params[pname].shape()));
      slots[key] = t.clone();
    }
  }
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (const auto& [key, value] : state.groups[g].items())
      if (key != "params") set_option(g, key, value.get<double>());
  slots_ = std::move(slots);
  steps_ = std::move(steps);
}

}  // namespace shrink::optim
