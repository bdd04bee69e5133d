// Module: the call path. operator() runs the hooks around forward and names the call: every
// call gets a fresh id and the module's registered dotted name in the tree of the outermost
// module being called, whoever calls it (a parent, a sibling, a hook).
#include <mutex>

#include "autograd/grad_mode.h"
#include "nn/module.h"

namespace shrink::nn {
namespace {

/// The outermost module call on this thread and the names of its tree.
struct ActiveRoot {
  const Module* root = nullptr;
  std::shared_ptr<const std::unordered_map<const Module*, std::string>> names;
  std::string prefix;
};
thread_local ActiveRoot active;

/// Guards the lazily rebuilt name caches of roots called from several threads at once.
std::mutex scope_names_mutex;

}  // namespace

std::shared_ptr<const Module::ScopeNames> Module::scope_names() const {
  const std::uint64_t version = detail::current_structure_version();
  std::lock_guard<std::mutex> lock(scope_names_mutex);
  if (!scope_names_ || scope_names_version_ != version) {
    auto names = std::make_shared<ScopeNames>();
    // The first registered name wins for a module registered at two places.
    apply_to_submodules([&names](const std::string& name, const Module& m) { names->try_emplace(&m, name); }, true);
    scope_names_ = std::move(names);
    scope_names_version_ = version;
  }
  return scope_names_;
}

Tensor Module::operator()(const Tensor& input) {
  Tensor x = input;
  // Hooks may remove themselves while running: iterate over a snapshot.
  if (!pre_hooks_.empty()) {
    const auto hooks = pre_hooks_;
    for (const auto& [id, hook] : hooks) {
      Tensor replaced = hook(*this, x);
      if (replaced.defined()) x = replaced;
    }
  }

  const bool is_root = active.root == nullptr;
  ActiveRoot saved;
  if (is_root) {
    saved = active;
    active = {this, scope_names(), scope_name_};
  }
  std::string name;
  if (const auto it = active.names->find(this); it != active.names->end()) {
    name = active.prefix.empty() ? it->second : it->second.empty() ? active.prefix : active.prefix + "." + it->second;
  } else {
    // Not part of the called tree (a module created on the fly inside a forward): nest it.
    const std::string& outer = current_scope();
    name = outer.empty() ? scope_name_ : (scope_name_.empty() ? outer : outer + "." + scope_name_);
  }
  Tensor out;
  try {
    ScopeGuard scope(std::move(name), next_scope_call_id());
    out = forward(x);
  } catch (...) {
    if (is_root) active = std::move(saved);
    throw;
  }
  if (is_root) active = std::move(saved);

  if (!hooks_.empty()) {
    const auto hooks = hooks_;
    for (const auto& [id, hook] : hooks) {
      Tensor replaced = hook(*this, x, out);
      if (replaced.defined()) out = replaced;
    }
  }
  return out;
}

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  SHRINK_CHECK(static_cast<bool>(hook), type_name_,
               ".register_forward_pre_hook: expected a callable, got an empty function");
  const int id = (*hook_ids_)++;
  pre_hooks_.emplace_back(id, std::move(hook));
  std::weak_ptr<int> alive = hook_ids_;
  return HookHandle([this, alive, id] {
    if (alive.lock()) std::erase_if(pre_hooks_, [id](const auto& h) { return h.first == id; });
  });
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  SHRINK_CHECK(static_cast<bool>(hook), type_name_,
               ".register_forward_hook: expected a callable, got an empty function");
  const int id = (*hook_ids_)++;
  hooks_.emplace_back(id, std::move(hook));
  std::weak_ptr<int> alive = hook_ids_;
  return HookHandle([this, alive, id] {
    if (alive.lock()) std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
  });
}

}  // namespace shrink::nn
