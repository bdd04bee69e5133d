#pragma once
/// \file
/// Optimizer: the base of SGD, Adam, AdamW and RMSprop — parameter groups with their own
/// hyper-parameters, zero_grad, and a state_dict keyed by parameter names (the dotted names of
/// Module::named_parameters), so a checkpoint stays readable and survives re-ordering.

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "io/state_dict.h"

namespace shrink::optim {

/// Named parameters, e.g. `model.named_parameters()`.
using NamedParameters = std::vector<std::pair<std::string, Tensor>>;

/// A group of parameters sharing hyper-parameters. Options absent from `options` take the
/// optimizer's defaults.
struct ParamGroup {
  NamedParameters params;
  std::map<std::string, double> options;
};

/// Everything an optimizer needs to resume exactly: per-parameter tensors (momentum buffers,
/// moments, step counts) named "<param>.<slot>", and the groups' hyper-parameters as JSON
/// (doubles stay exact there).
struct OptimizerState {
  io::StateDict tensors;
  nlohmann::json groups;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Applies one update to every parameter that has a gradient.
  virtual void step() = 0;
  /// Clears every parameter's gradient (set_to_none, PyTorch 2's default) or zeroes it.
  void zero_grad(bool set_to_none = true);

  std::size_t num_groups() const { return groups_.size(); }
  const ParamGroup& group(std::size_t i) const { return groups_.at(i); }
  /// Hyper-parameter `name` of group i (its own value, else the default).
  double option(std::size_t group, const std::string& name) const;
  void set_option(std::size_t group, const std::string& name, double value);
  double lr(std::size_t group = 0) const { return option(group, "lr"); }
  void set_lr(double lr);
  void set_lr(std::size_t group, double lr) { set_option(group, "lr", lr); }

  OptimizerState state_dict() const;
  /// Restores a state from state_dict(); parameter names, slot shapes and group count must match.
  void load_state_dict(const OptimizerState& state);

 protected:
  /// `defaults` lists every hyper-parameter the optimizer knows; groups may override only these.
  Optimizer(std::string name, std::vector<ParamGroup> groups, std::map<std::string, double> defaults);
  /// The per-parameter slot tensor (created zero-filled like the parameter on first use).
  Tensor& slot(const std::string& param_name, const std::string& slot_name, const Tensor& like);
  bool has_slot(const std::string& param_name, const std::string& slot_name) const;
  /// Per-parameter step counts (Adam's t).
  std::int64_t& step_count(const std::string& param_name) { return steps_[param_name]; }

  std::string name_;
  std::vector<ParamGroup> groups_;
  std::map<std::string, double> defaults_;

 private:
  std::map<std::string, Tensor> slots_;  // "<param>.<slot>"
  std::map<std::string, std::int64_t> steps_;
};

/// Names plain tensors "0", "1", ... for optimizers built without a module.
NamedParameters name_by_index(const std::vector<Tensor>& params);

}  // namespace shrink::optim
