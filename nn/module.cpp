#include "nn/module.h"

#include <algorithm>
#include <ostream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

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

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

void Module::check_name(const std::string& kind, const std::string& name, const Module& self) {
  SHRINK_CHECK(!name.empty(), self.type_name_, ".register_", kind, ": expected a non-empty name, got \"\"");
  SHRINK_CHECK(name.find('.') == std::string::npos, self.type_name_, ".register_", kind,
               ": expected a name without dots, got '", name, "'. Hint: dots separate levels of the module "
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

ModulePtr Module::register_module(const std::string& name, ModulePtr module) {
  check_name("module", name, *this);
  SHRINK_CHECK(module != nullptr, type_name_, ".register_module: expected a module for '", name, "', got null");
  module->scope_name_ = name;
  children_.push_back({name, module, nullptr});
  return module;
}

Tensor& Module::param(const std::string& name) {
  for (auto& e : parameters_)
    if (e.name == name) return e.value;
  throw IndexError(type_name_ + " has no parameter '" + name + "' (parameters: " + names_of(parameters_) + ")");
}

Tensor& Module::buffer(const std::string& name) {
  for (auto& e : buffers_)
    if (e.name == name) return e.value;
  throw IndexError(type_name_ + " has no buffer '" + name + "' (buffers: " + names_of(buffers_) + ")");
}

bool Module::has_param(const std::string& name) const {
  return std::any_of(parameters_.begin(), parameters_.end(), [&](const Entry& e) { return e.name == name; });
}
bool Module::has_buffer(const std::string& name) const {
  return std::any_of(buffers_.begin(), buffers_.end(), [&](const Entry& e) { return e.name == name; });
}

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

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& e : parameters_) out.emplace_back(e.name, e.value);
  if (recurse)
    for (const auto& c : children_)
      for (auto& [name, t] : c.module->named_parameters(true)) out.emplace_back(c.name + "." + name, t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& e : buffers_)
    if (e.value.defined()) out.emplace_back(e.name, e.value);
  if (recurse)
    for (const auto& c : children_)
      for (auto& [name, t] : c.module->named_buffers(true)) out.emplace_back(c.name + "." + name, t);
  return out;
}

std::vector<std::pair<std::string, ModulePtr>> Module::named_children() const {
  std::vector<std::pair<std::string, ModulePtr>> out;
  for (const auto& c : children_) out.emplace_back(c.name, c.module);
  return out;
}

void Module::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, ModulePtr>>& out) const {
  for (const auto& c : children_) {
    const std::string name = join_name(prefix, c.name);
    out.emplace_back(name, c.module);
    c.module->collect_modules(name, out);
  }
}

std::vector<std::pair<std::string, ModulePtr>> Module::named_modules() const {
  std::vector<std::pair<std::string, ModulePtr>> out;
  collect_modules("", out);
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
  training_ = on;
  for (auto& c : children_) c.module->train(on);
}

void Module::apply(const std::function<void(const std::string&, Module&)>& fn) {
  fn("", *this);
  for (auto& [name, m] : named_modules()) fn(name, *m);
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
      throw ValueError("replace_module: '" + dotted_name + "' is held by " + parent->type_name_ +
                       " as a " + c.module->type_name_ + "; expected a module of that type, got " +
                       module->type_name_);
    module->scope_name_ = leaf;
    c.module = std::move(module);
    return;
  }
  throw IndexError("replace_module: no module named '" + dotted_name + "' in this " + type_name_ +
                   " (children of " + (parent == this ? std::string("it") : parent->type_name_) + ": " +
                   names_of(parent->children_) + ")");
}

io::StateDict Module::state_dict() const {
  io::StateDict out;
  for (const auto& e : parameters_) out.insert(e.name, e.value.detach());
  for (const auto& e : buffers_)
    if (e.value.defined()) out.insert(e.name, e.value.detach());
  for (const auto& c : children_)
    for (const auto& [name, t] : c.module->state_dict()) out.insert(c.name + "." + name, t);
  return out;
}

void Module::load_state_dict(const io::StateDict& state, bool strict) {
  const io::StateDict own = state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : own) {
    if (!state.contains(name)) {
      missing.push_back(name);
      continue;
    }
    const Tensor& src = state.at(name);
    if (src.shape() != t.shape() || src.dtype() != t.dtype())
      mismatched.push_back(name + " (expected " + shape_str(t.shape()) + " " + std::string(dtype_name(t.dtype())) +
                           ", got " + shape_str(src.shape()) + " " + std::string(dtype_name(src.dtype())) + ")");
  }
  for (const auto& [name, t] : state)
    if (!own.contains(name)) unexpected.push_back(name);
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string problems;
  if (!mismatched.empty()) problems += "; shape/dtype mismatch: " + list(mismatched);
  if (strict && !missing.empty()) problems += "; missing keys: " + list(missing);
  if (strict && !unexpected.empty()) problems += "; unexpected keys: " + list(unexpected);
  if (!problems.empty())
    throw ValueError("load_state_dict: the state does not fit this " + type_name_ + ":" + problems.substr(1) +
                     (strict && (!missing.empty() || !unexpected.empty())
                          ? ". Hint: pass strict=false to load a partial state"
                          : ""));
  NoGradGuard no_grad;
  for (const auto& [name, t] : own)
    if (state.contains(name)) Tensor(t).copy_(state.at(name));
}

ModulePtr Module::clone() const {
  ModulePtr copy = copy_shallow();
  copy->hook_ids_ = std::make_shared<int>(0);
  copy->pre_hooks_.clear();
  copy->hooks_.clear();
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
  return copy;
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
  const std::string& outer = current_scope();
  Tensor out;
  {
    ScopeGuard scope(outer.empty() ? scope_name_ : (scope_name_.empty() ? outer : outer + "." + scope_name_));
    out = forward(x);
  }
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
  const int id = (*hook_ids_)++;
  pre_hooks_.emplace_back(id, std::move(hook));
  std::weak_ptr<int> alive = hook_ids_;
  return HookHandle([this, alive, id] {
    if (alive.lock()) std::erase_if(pre_hooks_, [id](const auto& h) { return h.first == id; });
  });
}

HookHandle Module::register_forward_hook(ForwardHook hook) {
  const int id = (*hook_ids_)++;
  hooks_.emplace_back(id, std::move(hook));
  std::weak_ptr<int> alive = hook_ids_;
  return HookHandle([this, alive, id] {
    if (alive.lock()) std::erase_if(hooks_, [id](const auto& h) { return h.first == id; });
  });
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
