#pragma once
/// \file
/// nn::Module: the base of every layer and model, in the style of PyTorch's nn.Module.
///
/// A module owns ordered, named parameters, buffers and children. Dotted names
/// (`features.0.weight`) identify tensors everywhere: optimizer state, HDF5 files, config_list
/// `op_names`, masks, traces. The single entry point `operator()` runs forward pre-hooks, pushes
/// the module scope for the autograd nodes, calls the virtual `forward`, and runs forward hooks.

#include <deque>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/hook_handle.h"
#include "autograd/tensor.h"
#include "io/state_dict.h"

namespace shrink::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;

/// Runs before forward; returns a replacement input or an undefined Tensor to keep it.
using ForwardPreHook = std::function<Tensor(Module& module, const Tensor& input)>;
/// Runs after forward; returns a replacement output or an undefined Tensor to keep it.
using ForwardHook = std::function<Tensor(Module& module, const Tensor& input, const Tensor& output)>;

class Module {
 public:
  /// `type_name` is PyTorch's class name ("Conv2d", "Linear", "Sequential", ...): the name that
  /// config_list `op_types` and the printer use.
  explicit Module(std::string type_name);
  virtual ~Module() = default;

  /// The one entry point: pre-hooks, scope push, forward, scope pop, hooks.
  Tensor operator()(const Tensor& input);
  /// The computation. Call modules through operator() so hooks and scopes apply.
  virtual Tensor forward(const Tensor& input) = 0;

  const std::string& type_name() const { return type_name_; }

  // ---- registration ---------------------------------------------------------------------------
  /// Registers a parameter (a leaf; requires_grad set as asked) and returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Registers a buffer (state that is saved but not trained: running stats, masks...). An
  /// undefined tensor is allowed (like PyTorch's None) and is skipped by state_dict.
  Tensor& register_buffer(const std::string& name, Tensor value);
  /// Registers a child held only by this module (e.g. Sequential's items).
  ModulePtr register_module(const std::string& name, ModulePtr module);
  /// Registers a child that a derived class also holds in the typed member `member`;
  /// clone() and replace_module() keep that member pointing at the registered child.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module,
                                     std::shared_ptr<M>& member);

  // ---- access ---------------------------------------------------------------------------------
  /// This module's own parameter / buffer `name` (no dots); throws IndexError listing the names.
  Tensor& param(const std::string& name);
  Tensor& buffer(const std::string& name);
  bool has_param(const std::string& name) const;
  bool has_buffer(const std::string& name) const;
  /// Direct child `name`; throws IndexError listing the children.
  ModulePtr child(const std::string& name) const;
  /// Descendant by dotted name ("" = this module is not returned: use *this); null if absent.
  ModulePtr find_module(const std::string& dotted_name) const;

  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, ModulePtr>> named_children() const;
  /// Every descendant with its dotted name, depth-first in registration order (this module is
  /// not included; it has no name of its own).
  std::vector<std::pair<std::string, ModulePtr>> named_modules() const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;

  // ---- modes and traversal --------------------------------------------------------------------
  /// Training mode on/off for this module and every descendant.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Calls fn(dotted_name, module) on this module ("") and every descendant, parents first.
  void apply(const std::function<void(const std::string&, Module&)>& fn);
  /// Replaces the descendant at `dotted_name` with `module` (e.g. a smaller layer after
  /// speedup). A typed member that holds it is re-pointed; a member of an incompatible type is
  /// a ValueError.
  void replace_module(const std::string& dotted_name, ModulePtr module);
  /// dynamic_cast to a concrete layer type; null if it is another type.
  template <typename T> T* as() { return dynamic_cast<T*>(this); }
  template <typename T> const T* as() const { return dynamic_cast<const T*>(this); }

  // ---- state ----------------------------------------------------------------------------------
  /// Parameters and buffers with dotted names, in registration order (PyTorch's order: own
  /// parameters, own buffers, then each child's). Tensors are detached aliases (no copy).
  io::StateDict state_dict() const;
  /// Copies values into the existing tensors. With `strict`, missing and unexpected keys are an
  /// error; shape or dtype mismatches always are. The error lists every offending key.
  void load_state_dict(const io::StateDict& state, bool strict = true);
  /// A deep copy: new parameters (same values, same requires_grad), buffers and children; hooks
  /// are not copied.
  ModulePtr clone() const;

  // ---- hooks ----------------------------------------------------------------------------------
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  HookHandle register_forward_hook(ForwardHook hook);

  /// PyTorch-style one-line description of this module's settings (e.g. "in_features=784, ...").
  virtual std::string extra_repr() const { return ""; }
  /// The PyTorch-style printout of the module tree.
  std::string to_string() const;

 protected:
  Module(const Module&) = default;
  /// A shallow copy of the concrete type (parameters alias); clone() deep-copies from it.
  /// Implemented by Cloneable<Derived>.
  virtual ModulePtr copy_shallow() const = 0;

 private:
  struct Entry {
    std::string name;
    Tensor value;
  };
  struct ChildEntry {
    std::string name;
    ModulePtr module;
    /// Re-points the derived class's typed member at a new child (null when there is none).
    std::function<bool(Module& self, const ModulePtr& child)> rebind;
  };
  /// Throws ValueError unless `name` is non-empty, dot-free and not yet used in `self`.
  static void check_name(const std::string& kind, const std::string& name, const Module& self);
  void print(std::ostream& os, int indent) const;
  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, ModulePtr>>& out) const;

  std::string type_name_;
  bool training_ = true;
  // deques: register_* return references that must survive later registrations.
  std::deque<Entry> parameters_;
  std::deque<Entry> buffers_;
  std::vector<ChildEntry> children_;
  std::vector<std::pair<int, ForwardPreHook>> pre_hooks_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  std::shared_ptr<int> hook_ids_ = std::make_shared<int>(0);
  /// Local name given by the parent at registration; makes up the module scope.
  std::string scope_name_;
};

/// CRTP base that gives a concrete module its copy_shallow(). Every layer derives from
/// Cloneable<Layer> so that clone() works without per-class code.
template <typename Derived>
class Cloneable : public Module {
 public:
  using Module::Module;

 protected:
  ModulePtr copy_shallow() const override {
    return std::shared_ptr<Derived>(new Derived(static_cast<const Derived&>(*this)));
  }
};

std::ostream& operator<<(std::ostream& os, const Module& module);

template <typename M>
std::shared_ptr<M> Module::register_module(const std::string& name, std::shared_ptr<M> module,
                                           std::shared_ptr<M>& member) {
  register_module(name, std::static_pointer_cast<Module>(module));
  // The member's offset inside the object is the same in every copy of the concrete type, so
  // the rebinder finds the member of the copy (clone) or of this object (replace_module).
  const auto offset = reinterpret_cast<const char*>(&member) - reinterpret_cast<const char*>(this);
  children_.back().rebind = [offset](Module& self, const ModulePtr& child) {
    auto typed = std::dynamic_pointer_cast<M>(child);
    if (child && !typed) return false;
    *reinterpret_cast<std::shared_ptr<M>*>(reinterpret_cast<char*>(&self) + offset) = std::move(typed);
    return true;
  };
  member = module;
  return module;
}

}  // namespace shrink::nn
