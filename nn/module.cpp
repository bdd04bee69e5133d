// Module: registration, access, traversal, state_dict and clone. The call path (operator(),
// hooks, scopes) is in module_call.cpp, parametrizations in parametrize.cpp.
#include "nn/module.h"

#include <algorithm>
#include <atomic>
#include <ostream>
#include <sstream>
#include <typeinfo>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "io/state_dict_diff.h"

namespace shrink::nn {
namespace {

template <typename Container>
std::string names_of(const Container& entries) {
  std::string s;
  for (const auto& e : entries) s += (s.empty() ? "" : ", ") + e.name;
  return s.empty() ? "none" : s;
}

std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::atomic<std::uint64_t> structure_version{1};

}  // namespace

namespace detail {
void bump_structure_version() { structure_version.fetch_add(1, std::memory_order_relaxed); }
std::uint64_t current_structure_version() { return structure_version.load(std::memory_order_relaxed); }
}  // namespace detail

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

void Module::check_name(const std::string& kind, const std::string& name, const Module& self) {
  SHRINK_CHECK(!name.empty(), self.type_name_, ".register_", kind, ": expected a non-empty name, got \"\"");
  SHRINK_CHECK(name.find('.') == std::string::npos, self.type_name_, ".register_", kind,
               ": expected a name without dots, got '", name,
               "'. Hint: dots separate levels of the module "
               "tree; register the child module instead");
  auto taken = [&name](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&name](const auto& e) { return e.name == name; });
  };
  SHRINK_CHECK(!taken(self.parameters_) && !taken(self.buffers_) && !taken(self.children_), self.type_name_,
               ".register_", kind, ": expected a new name, got '", name,
               "' which is already a parameter, buffer or child of this module");
}

Tensor& Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_name("parameter", name, *this);
  SHRINK_CHECK(value.defined(), type_name_, ".register_parameter: expected a defined tensor for '", name,
               "', got an undefined one");
  SHRINK_CHECK(value.is_leaf(), type_name_, ".register_parameter: expected a leaf tensor for '", name,
               "', got the result of '", value.grad_fn() ? value.grad_fn()->op : std::string("?"),
               "'. Hint: detach() it first");
  value.requires_grad_(requires_grad);
  parameters_.push_back({name, std::move(value)});
  return parameters_.back().value;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_name("buffer", name, *this);
  buffers_.push_back({name, value.defined() ? value.detach() : Tensor()});
  return buffers_.back().value;
}

void Module::remove_buffer(const std::string& name) {
  const auto it = std::find_if(buffers_.begin(), buffers_.end(), [&](const Entry& e) { return e.name == name; });
  SHRINK_CHECK_INDEX(it != buffers_.end(), type_name_, ".remove_buffer: no buffer '", name,
                     "' (buffers: ", names_of(buffers_), ")");
  buffers_.erase(it);
}

ModulePtr Module::register_child(const std::string& name, ModulePtr module) {
  check_name("module", name, *this);
  SHRINK_CHECK(module != nullptr, type_name_, ".register_module: expected a module for '", name, "', got null");
  SHRINK_CHECK(module.get() != this, type_name_, ".register_module: '", name,
               "' is this module itself; a module cannot be its own child");
  module->scope_name_ = name;
  children_.push_back({name, module, nullptr});
  detail::bump_structure_version();
  return module;
}

const Module::Entry* Module::find_param(const std::string& name) const {
  for (const auto& e : parameters_)
    if (e.name == name) return &e;
  return nullptr;
}

const Module::Entry* Module::find_buffer(const std::string& name) const {
  for (const auto& e : buffers_)
    if (e.name == name) return &e;
  return nullptr;
}

const Tensor& Module::param(const std::string& name) const {
  if (const Entry* e = find_param(name)) return e->value;
  throw IndexError(type_name_ + " has no parameter '" + name + "' (parameters: " + parameter_names() + ")");
}

std::string Module::parameter_names() const { return names_of(parameters_); }

Tensor& Module::param(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const Module&>(*this).param(name));
}

const Tensor& Module::buffer(const std::string& name) const {
  if (const Entry* e = find_buffer(name)) return e->value;
  throw IndexError(type_name_ + " has no buffer '" + name + "' (buffers: " + names_of(buffers_) + ")");
}
Tensor& Module::buffer(const std::string& name) {
  return const_cast<Tensor&>(static_cast<const Module&>(*this).buffer(name));
}

bool Module::has_param(const std::string& name) const { return find_param(name) != nullptr; }
bool Module::has_buffer(const std::string& name) const { return find_buffer(name) != nullptr; }

ModulePtr Module::child(const std::string& name) const {
  for (const auto& c : children_)
    if (c.name == name) return c.module;
  throw IndexError(type_name_ + " has no child module '" + name + "' (children: " + names_of(children_) + ")");
}

ModulePtr Module::find_module(const std::string& dotted_name) const {
  const Module* current = this;
  ModulePtr found;
  std::size_t start = 0;
  while (start <= dotted_name.size()) {
    const std::size_t dot = std::min(dotted_name.find('.', start), dotted_name.size());
    const std::string part = dotted_name.substr(start, dot - start);
    found = nullptr;
    for (const auto& c : current->children_)
      if (c.name == part) found = c.module;
    if (!found) return nullptr;
    current = found.get();
    start = dot + 1;
  }
  return found;
}

void Module::apply_to_submodules(const std::function<void(const std::string&, const Module&)>& fn,
                                 bool include_self) const {
  // An explicit stack: deep (or accidentally cyclic-looking, e.g. shared) trees never recurse.
  std::vector<std::pair<std::string, const Module*>> stack;
  if (include_self) {
    stack.emplace_back("", this);
  } else {
    for (auto it = children_.rbegin(); it != children_.rend(); ++it) stack.emplace_back(it->name, it->module.get());
  }
  while (!stack.empty()) {
    auto [name, m] = std::move(stack.back());
    stack.pop_back();
    fn(name, *m);
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(join_name(name, it->name), it->module.get());
  }
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  auto visit = [&out](const std::string& prefix, const Module& m) {
    for (const auto& e : m.parameters_) out.emplace_back(join_name(prefix, e.name), e.value);
  };
  if (recurse)
    apply_to_submodules(visit, true);
  else
    visit("", *this);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  auto visit = [&out](const std::string& prefix, const Module& m) {
    for (const auto& e : m.buffers_)
      if (e.value.defined()) out.emplace_back(join_name(prefix, e.name), e.value);
  };
  if (recurse)
    apply_to_submodules(visit, true);
  else
    visit("", *this);
  return out;
}

std::vector<std::pair<std::string, ModulePtr>> Module::named_children() const {
  std::vector<std::pair<std::string, ModulePtr>> out;
  for (const auto& c : children_) out.emplace_back(c.name, c.module);
  return out;
}

std::vector<std::pair<std::string, ModulePtr>> Module::named_modules(bool include_self) const {
  std::vector<std::pair<std::string, ModulePtr>> out;
  if (include_self)  // not owned: the caller holds this module
    out.emplace_back("", ModulePtr(std::shared_ptr<Module>(), const_cast<Module*>(this)));
  // Children are reached through their owning pointers, so the results keep them alive.
  std::vector<std::pair<std::string, ModulePtr>> stack;
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) stack.emplace_back(it->name, it->module);
  while (!stack.empty()) {
    auto [name, m] = std::move(stack.back());
    stack.pop_back();
    out.emplace_back(name, m);
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(join_name(name, it->name), it->module);
  }
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

void Module::train(bool on) {
  apply([on](const std::string&, Module& m) { m.training_ = on; });
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn) {
  // The modules are ours to change: apply_to_submodules only promises not to change the tree.
  apply_to_submodules([&fn](const std::string& name, const Module& m) { fn(name, const_cast<Module&>(m)); }, true);
}

void Module::replace_module(const std::string& dotted_name, ModulePtr module) {
  SHRINK_CHECK(module != nullptr, "replace_module: expected a module for '", dotted_name, "', got null");
  const std::size_t dot = dotted_name.rfind('.');
  Module* parent = this;
  ModulePtr parent_holder;
  if (dot != std::string::npos) {
    parent_holder = find_module(dotted_name.substr(0, dot));
    SHRINK_CHECK_INDEX(parent_holder != nullptr, "replace_module: no module named '", dotted_name.substr(0, dot),
                       "' in this ", type_name_);
    parent = parent_holder.get();
  }
  const std::string leaf = dot == std::string::npos ? dotted_name : dotted_name.substr(dot + 1);
  for (auto& c : parent->children_) {
    if (c.name != leaf) continue;
    if (c.rebind && !c.rebind(*parent, module))
      throw ValueError("replace_module: '" + dotted_name + "' is held by " + parent->type_name_ + " as a " +
                       c.module->type_name_ + "; expected a module of that type, got " + module->type_name_);
    module->scope_name_ = leaf;
    c.module = std::move(module);
    detail::bump_structure_version();
    return;
  }
  throw IndexError("replace_module: no module named '" + dotted_name + "' in this " + type_name_ + " (children of " +
                   (parent == this ? std::string("it") : parent->type_name_) + ": " + names_of(parent->children_) +
                   ")");
}

void Module::remove_module(const std::string& name) {
  const auto it =
      std::find_if(children_.begin(), children_.end(), [&](const ChildEntry& c) { return c.name == name; });
  SHRINK_CHECK_INDEX(it != children_.end(), type_name_, ".remove_module: no child '", name,
                     "' (children: ", names_of(children_), ")");
  SHRINK_CHECK(!it->rebind, type_name_, ".remove_module: '", name, "' is held by a typed member of ", type_name_,
               "; expected an untyped child. Hint: replace_module it with an Identity instead");
  children_.erase(it);
  detail::bump_structure_version();
}

io::StateDict Module::state_dict() const {
  io::StateDict out;
  apply_to_submodules(
      [&out](const std::string& prefix, const Module& m) {
        for (const auto& e : m.parameters_) out.insert(join_name(prefix, e.name), e.value.detach());
        for (const auto& e : m.buffers_)
          if (e.value.defined()) out.insert(join_name(prefix, e.name), e.value.detach());
      },
      true);
  return out;
}

void Module::load_state_dict(const io::StateDict& state, bool strict) {
  const io::StateDict own = state_dict();
  io::StateDictDiff diff = io::diff_state_dicts(own, state);
  const bool keys_differ = !diff.missing.empty() || !diff.unexpected.empty();
  if (!strict) {  // a partial state is fine, a wrong shape or dtype never is
    diff.missing.clear();
    diff.unexpected.clear();
  }
  if (!diff.empty())
    throw ValueError("load_state_dict: the state does not fit this " + type_name_ + ": " + diff.message() +
                     (strict && keys_differ ? ". Hint: pass strict=false to load a partial state" : ""));
  NoGradGuard no_grad;
  for (const auto& [name, t] : own)
    if (state.contains(name)) Tensor(t).copy_(state.at(name));
}

ModulePtr Module::clone() const {
  ModulePtr copy = copy_shallow();
  // A class that extends a layer but inherits the layer's copy_shallow() would come back as the
  // layer: refuse rather than return a sliced copy.
  if (typeid(*copy) != typeid(*this))
    throw ValueError("clone: cannot copy a " + type_name_ + " of C++ type " + typeid(*this).name() +
                     ": its copy_shallow() makes a " + typeid(*copy).name() +
                     ", which would lose the derived class. Hint: derive it from "
                     "nn::Cloneable<YourClass, BaseLayer> instead of BaseLayer");
  copy->hook_ids_ = std::make_shared<int>(0);
  copy->pre_hooks_.clear();
  copy->hooks_.clear();
  copy->scope_names_.reset();
  copy->scope_names_version_ = 0;
  for (auto& e : copy->parameters_) {
    const bool needs_grad = e.value.requires_grad();
    e.value = e.value.detach().clone();
    e.value.requires_grad_(needs_grad);
  }
  for (auto& e : copy->buffers_)
    if (e.value.defined()) e.value = e.value.detach().clone();
  for (auto& c : copy->children_) {
    c.module = c.module->clone();
    if (c.rebind) c.rebind(*copy, c.module);
  }
  detail::bump_structure_version();
  return copy;
}

void Module::print(std::ostream& os, int indent) const {
  os << type_name_ << '(' << extra_repr();
  if (!children_.empty()) {
    os << '\n';
    for (const auto& c : children_) {
      os << std::string(indent + 2, ' ') << '(' << c.name << "): ";
      c.module->print(os, indent + 2);
      os << '\n';
    }
    os << std::string(indent, ' ');
  }
  os << ')';
}

std::string Module::to_string() const {
  std::ostringstream os;
  print(os, 0);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Module& module) { return os << module.to_string(); }

}  // namespace shrink::nn
