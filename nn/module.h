#pragma once
/// \file
/// nn::Module: the base of every layer and model, in the style of PyTorch's nn.Module.
///
/// A module owns ordered, named parameters, buffers and children. Dotted names
/// (`features.0.weight`) identify tensors everywhere: optimizer state, HDF5 files, config_list
/// `op_names`, masks, traces.
///
/// Calling a module: `(*model)(x)`. That one entry point, `operator()`, runs the forward
/// pre-hooks, enters the module's scope (its registered dotted name and a per-call id, stamped on
/// every autograd Node recorded inside), calls the protected virtual `forward`, and runs the
/// forward hooks. `forward` is protected so that no caller can skip the hooks by accident.
///
/// Parametrizations (in the spirit of `torch.nn.utils.parametrize`): `register_parametrization`
/// puts a differentiable transform between a parameter and the forward that reads it through
/// `param_value(name)` (e.g. `w * weight_mask`, `fake_quant(w)`). Several stack in order. The
/// parameter object, its name, its optimizer handle and its state_dict key are unchanged; the
/// state a parametrization reads (a mask...) lives in ordinary named buffers of the module.

#include <concepts>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <list>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
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

/// A differentiable transform of a parameter's value. It receives the module that owns the
/// parameter, so that it reads that module's buffers (e.g. `owner.buffer("weight_mask")`): a
/// clone then reads the clone's buffers, not the original's.
using ParametrizationFn = std::function<Tensor(Module& owner, const Tensor& value)>;

/// One registered parametrization: `kind` names it in printouts and for removal by kind
/// ("mask", "fake_quant", ...).
struct Parametrization {
  std::string kind;
  ParametrizationFn fn;
  int id = 0;
};

/// True when `forward` can be called from outside the class (it should be protected).
template <typename M>
concept HasPublicForward = requires(M& m, const Tensor& x) {
  m.forward(x);
};
/// HasPublicForward evaluated at namespace scope (a concept named inside a member of Module
/// would be checked with Module's access rights).
template <typename M>
inline constexpr bool has_public_forward_v = HasPublicForward<M>;

class Module {
 public:
  /// `type_name` is PyTorch's class name ("Conv2d", "Linear", "Sequential", ...): the name that
  /// config_list `op_types` and the printer use.
  explicit Module(std::string type_name);
  virtual ~Module() = default;

  /// The one entry point: pre-hooks, scope push (dotted name + call id), forward, scope pop,
  /// hooks. Use `(*module)(x)`.
  Tensor operator()(const Tensor& input);

  const std::string& type_name() const { return type_name_; }

  // ---- registration ---------------------------------------------------------------------------
  /// Registers a parameter (a leaf; requires_grad set as asked) and returns the stored handle.
  Tensor& register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Registers a buffer (state that is saved but not trained: running stats, masks...). An
  /// undefined tensor is allowed (like PyTorch's None) and is skipped by state_dict.
  Tensor& register_buffer(const std::string& name, Tensor value);
  /// Removes this module's buffer `name` (e.g. a mask when a compressor unwraps); IndexError
  /// listing the buffers when there is none. References to that buffer become invalid.
  void remove_buffer(const std::string& name);
  /// Registers a child and returns it with its own type (LibTorch's habit:
  /// `auto conv = register_module("conv", std::make_shared<nn::Conv2d>(1, 8, 3));`).
  /// Do not keep the result in a member of your class: clone() and replace_module() cannot
  /// update such a member. Use the member-pointer form below for that.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module);
  /// Registers a child that the class `Owner` also holds in its typed member `member`, e.g.
  /// `register_module("conv1", std::make_shared<nn::Conv2d>(1, 8, 3), &Net::conv1);`.
  /// clone() and replace_module() keep that member pointing at the registered child.
  template <typename Owner, typename M, typename Held>
  requires std::derived_from<Owner, Module> && std::derived_from<Held, Module> && std::derived_from<M, Held>
      std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module,
                                         std::shared_ptr<Held> Owner::*member);

  // ---- access ---------------------------------------------------------------------------------
  /// This module's own parameter / buffer `name` (no dots); throws IndexError listing the names.
  /// param() is the raw parameter, the tensor the optimizer updates; forwards read
  /// param_value(), which applies the parametrizations.
  Tensor& param(const std::string& name);
  const Tensor& param(const std::string& name) const;
  Tensor& buffer(const std::string& name);
  const Tensor& buffer(const std::string& name) const;
  bool has_param(const std::string& name) const;
  bool has_buffer(const std::string& name) const;
  /// Direct child `name`; throws IndexError listing the children.
  ModulePtr child(const std::string& name) const;
  /// Descendant by dotted name; null if absent ("" is not a name: use *this).
  ModulePtr find_module(const std::string& dotted_name) const;

  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, ModulePtr>> named_children() const;
  /// Every descendant with its dotted name, depth-first in registration order. With
  /// `include_self`, this module comes first with the name "" (PyTorch's named_modules()).
  /// Self is returned as a non-owning pointer when it is not held by a shared_ptr.
  std::vector<std::pair<std::string, ModulePtr>> named_modules(bool include_self = false) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;

  // ---- parametrizations -----------------------------------------------------------------------
  /// Puts `fn` between parameter `name` and param_value(name), after the ones already there.
  /// The returned handle removes this one parametrization. IndexError if there is no such
  /// parameter. clone() copies parametrizations (functions are shared; give them state through
  /// the owner's buffers, not through captured tensors).
  HookHandle register_parametrization(const std::string& name, ParametrizationFn fn, std::string kind = "");
  /// Convenience form for a stateless transform `fn(value)`.
  HookHandle register_parametrization(const std::string& name, std::function<Tensor(const Tensor&)> fn,
                                      std::string kind = "");
  /// Removes every parametrization of `name`. With `leave_parametrized`, the parameter keeps
  /// the transformed value (copied into the same tensor: optimizer handles stay valid);
  /// otherwise it keeps its raw value. IndexError when `name` has no parametrization.
  void remove_parametrizations(const std::string& name, bool leave_parametrized = true);
  /// Whether `name` (or, with "", any parameter) has a parametrization.
  bool is_parametrized(const std::string& name = "") const;
  /// The kinds of the parametrizations of `name`, in application order.
  std::vector<std::string> parametrization_kinds(const std::string& name) const;
  /// The value forwards use: param(name) transformed by its parametrizations, in the graph.
  /// Without parametrizations this is param(name) itself (no node, no copy). An undefined
  /// tensor when the module has no parameter `name` and `optional` is set (e.g. a bias).
  Tensor param_value(const std::string& name, bool optional = false);

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
  /// Removes this module's direct child `name` (e.g. a graph rewrite dropping a module no node
  /// calls any more). IndexError listing the children when there is none; ValueError when a
  /// typed member of this module holds it (its forward would call a missing module).
  void remove_module(const std::string& name);
  /// dynamic_cast to a concrete layer type; null if it is another type.
  template <typename T>
  T* as() {
    return dynamic_cast<T*>(this);
  }
  template <typename T>
  const T* as() const {
    return dynamic_cast<const T*>(this);
  }

  // ---- state ----------------------------------------------------------------------------------
  /// Parameters and buffers with dotted names, in registration order (PyTorch's order: own
  /// parameters, own buffers, then each child's). Tensors are detached aliases (no copy).
  io::StateDict state_dict() const;
  /// Copies values into the existing tensors. With `strict`, missing and unexpected keys are an
  /// error; shape or dtype mismatches always are. The error lists the offending keys (the first
  /// few of each kind, with a count).
  void load_state_dict(const io::StateDict& state, bool strict = true);
  /// A deep copy of the concrete type: new parameters (same values, same requires_grad),
  /// buffers, children and parametrizations; hooks are not copied. ValueError when the
  /// concrete type cannot be copied without slicing (see Cloneable).
  ModulePtr clone() const;

  // ---- hooks ----------------------------------------------------------------------------------
  /// Pre-hooks receive (module, input) and may return a replacement input, an undefined Tensor
  /// or nothing (void) to keep it.
  HookHandle register_forward_pre_hook(ForwardPreHook hook);
  template <typename F>
  requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&>> HookHandle
  register_forward_pre_hook(F hook);
  /// Hooks receive (module, input, output) and may return a replacement output, an undefined
  /// Tensor or nothing (void) to keep it.
  HookHandle register_forward_hook(ForwardHook hook);
  template <typename F>
  requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&, const Tensor&>> HookHandle
  register_forward_hook(F hook);
  /// Whether any forward pre-hook or hook is registered (fused inference paths, which skip the
  /// module call, run only without them).
  bool has_hooks() const { return !pre_hooks_.empty() || !hooks_.empty(); }

  /// PyTorch-style one-line description of this module's settings (e.g. "in_features=784, ...").
  virtual std::string extra_repr() const { return ""; }
  /// The PyTorch-style printout of the module tree.
  std::string to_string() const;

 protected:
  Module(const Module&) = default;
  /// The computation; called only through operator(). Override it under `protected:` too.
  virtual Tensor forward(const Tensor& input) = 0;
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
    /// Re-points the owner's typed member at a new child (null when there is none); returns
    /// false when the child does not fit the member's type.
    std::function<bool(Module& self, const ModulePtr& child)> rebind;
  };
  struct ParamPlan {
    std::string param;
    std::vector<Parametrization> chain;
  };

  /// Throws ValueError unless `name` is non-empty, dot-free and not yet used in `self`.
  static void check_name(const std::string& kind, const std::string& name, const Module& self);
  ModulePtr register_child(const std::string& name, ModulePtr module);
  /// The one recursion: fn(dotted_name, module) for this module (when `include_self`) and every
  /// descendant, depth-first, parents first, in registration order.
  void apply_to_submodules(const std::function<void(const std::string&, const Module&)>& fn, bool include_self) const;
  void print(std::ostream& os, int indent) const;
  using ScopeNames = std::unordered_map<const Module*, std::string>;
  /// The registered dotted name of every module under this root (cached per tree structure).
  std::shared_ptr<const ScopeNames> scope_names() const;
  const Entry* find_param(const std::string& name) const;
  const Entry* find_buffer(const std::string& name) const;
  /// "a, b, c" (or "none"): the parameter names listed in error messages.
  std::string parameter_names() const;

  std::string type_name_;
  bool training_ = true;
  // lists: register_* return references that must survive later registrations and removals.
  std::list<Entry> parameters_;
  std::list<Entry> buffers_;
  std::vector<ChildEntry> children_;
  std::vector<ParamPlan> parametrizations_;
  std::vector<std::pair<int, ForwardPreHook>> pre_hooks_;
  std::vector<std::pair<int, ForwardHook>> hooks_;
  /// Ids of hooks and parametrizations; its weak_ptr tells a handle that the module is alive.
  std::shared_ptr<int> hook_ids_ = std::make_shared<int>(0);
  /// Local name given by the parent at registration.
  std::string scope_name_;
  /// Cache of scope_names(): valid while its version matches the global structure version.
  mutable std::shared_ptr<const ScopeNames> scope_names_;
  mutable std::uint64_t scope_names_version_ = 0;
};

/// CRTP base that gives a concrete module its copy_shallow(). Every layer derives from
/// Cloneable<Layer>; a class that extends a layer derives from Cloneable<Derived, Layer>
/// (e.g. `class MyConv : public nn::Cloneable<MyConv, nn::Conv2d>`), so that clone() copies it
/// as itself instead of slicing it to the layer.
template <typename Derived, typename Base = Module>
class Cloneable : public Base {
 public:
  using Base::Base;

 protected:
  ModulePtr copy_shallow() const override {
    return std::shared_ptr<Derived>(new Derived(static_cast<const Derived&>(*this)));
  }
};

std::ostream& operator<<(std::ostream& os, const Module& module);

namespace detail {
/// Bumped by every change of any module tree (registration, replacement); lets roots cache the
/// dotted names of their modules.
void bump_structure_version();
std::uint64_t current_structure_version();
}  // namespace detail

template <typename M>
std::shared_ptr<M> Module::register_module(const std::string& name, std::shared_ptr<M> module) {
  static_assert(std::is_base_of_v<Module, M>, "register_module: expected a std::shared_ptr to an nn::Module");
  static_assert(!has_public_forward_v<M>,
                "register_module: this module declares forward() public. Declare it under protected: so "
                "that every call goes through (*module)(x), which runs the hooks and scopes");
  register_child(name, module);
  return module;
}

template <typename Owner, typename M, typename Held>
requires std::derived_from<Owner, Module> && std::derived_from<Held, Module> && std::derived_from<M, Held>
    std::shared_ptr<M> Module::register_module(const std::string& name, std::shared_ptr<M> module,
                                               std::shared_ptr<Held> Owner::*member) {
  register_module(name, module);
  children_.back().rebind = [member](Module& self, const ModulePtr& child) {
    auto typed = std::dynamic_pointer_cast<Held>(child);
    if (child && !typed) return false;
    auto* owner = dynamic_cast<Owner*>(&self);
    if (owner == nullptr) return false;
    owner->*member = std::move(typed);
    return true;
  };
  auto* owner = dynamic_cast<Owner*>(this);
  // During Owner's constructor the dynamic type is already Owner, so this always holds there.
  if (owner != nullptr) owner->*member = module;
  return module;
}

template <typename F>
requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&>> HookHandle
Module::register_forward_pre_hook(F hook) {
  return register_forward_pre_hook(ForwardPreHook([hook = std::move(hook)](Module& m, const Tensor& x) mutable {
    hook(m, x);
    return Tensor();
  }));
}

template <typename F>
requires std::is_void_v<std::invoke_result_t<F&, Module&, const Tensor&, const Tensor&>> HookHandle
Module::register_forward_hook(F hook) {
  return register_forward_hook(
      ForwardHook([hook = std::move(hook)](Module& m, const Tensor& x, const Tensor& y) mutable {
        hook(m, x, y);
        return Tensor();
      }));
}

}  // namespace shrink::nn
