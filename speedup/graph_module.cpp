// GraphModule: runs a Graph node by node, keeping each node's value until its last use.
#include "speedup/graph_module.h"

#include <algorithm>
#include <typeinfo>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "nn/modules/activation.h"
#include "nn/modules/conv.h"
#include "speedup/functional_ops.h"

namespace shrink::speedup {

Tensor Container::forward(const Tensor&) {
  throw StateError(
      "Container: expected to be called through its GraphModule, got a direct call. Hint: a Container only holds "
      "the modules of a GraphModule under their dotted names");
}

GraphModule::GraphModule(const nn::Module& model, Graph graph) : Cloneable("GraphModule"), graph_(std::move(graph)) {
  graph_.validate();
  for (const auto& [name, child] : model.named_children()) register_module(name, child);
  check_modules();
}

GraphModule::GraphModule(Graph graph, const std::map<std::string, nn::ModulePtr>& modules)
    : Cloneable("GraphModule"), graph_(std::move(graph)) {
  graph_.validate();
  place_modules(modules);
  check_modules();
}

void GraphModule::reset(Graph graph, const std::map<std::string, nn::ModulePtr>& modules) {
  // Built aside first, so that an error leaves this module as it was.
  GraphModule rebuilt(std::move(graph), modules);
  for (const auto& [name, child] : named_children()) remove_module(name);
  for (const auto& [name, child] : rebuilt.named_children()) register_module(name, child);
  graph_ = std::move(rebuilt.graph_);
  node_modules_.clear();
  train(is_training());
}

void GraphModule::place_modules(const std::map<std::string, nn::ModulePtr>& modules) {
  for (const auto& [name, module] : modules) {
    SHRINK_CHECK(module != nullptr && !name.empty(), "GraphModule: expected a module for every name, got none for '",
                 name, "'");
    // Walk (and create) the Containers down to the parent of the last name part.
    nn::Module* parent = this;
    std::size_t start = 0;
    for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
      const std::string part = name.substr(start, dot - start);
      nn::ModulePtr next = parent->find_module(part);
      if (!next) next = parent->register_module(part, std::make_shared<Container>());
      SHRINK_CHECK(dynamic_cast<Container*>(next.get()) != nullptr, "GraphModule: module '", name,
                   "' would live inside '", name.substr(0, dot), "', which is a ", next->type_name(),
                   ", not a container");
      parent = next.get();
      start = dot + 1;
    }
    const std::string leaf = name.substr(start);
    SHRINK_CHECK(!parent->find_module(leaf), "GraphModule: expected one module per name, got '", name, "' twice");
    parent->register_module(leaf, module);
  }
}

void GraphModule::check_modules() {
  for (const GraphNode& n : graph_.nodes) {
    if (n.kind != NodeKind::Module) continue;
    const nn::ModulePtr m = find_module(n.target);
    SHRINK_CHECK(m != nullptr, "GraphModule: node '", n.name, "' calls module '", n.target,
                 "', which the model does not have");
    SHRINK_CHECK(n.module_type.empty() || m->type_name() == n.module_type, "GraphModule: node '", n.name,
                 "' expects module '", n.target, "' to be a ", n.module_type, ", got a ", m->type_name());
  }
}

const std::vector<nn::ModulePtr>& GraphModule::node_modules() {
  const std::uint64_t version = nn::detail::current_structure_version();
  if (node_modules_.empty() || version != modules_version_) {
    node_modules_.assign(graph_.nodes.size(), nullptr);
    for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
      const GraphNode& n = graph_.nodes[i];
      if (n.kind != NodeKind::Module) continue;
      node_modules_[i] = find_module(n.target);
      SHRINK_CHECK(node_modules_[i] != nullptr, "GraphModule: node '", n.name, "' calls module '", n.target,
                   "', which is gone (replaced by nothing?)");
    }
    modules_version_ = version;
    plan_activation_fusion();
  }
  return node_modules_;
}

void GraphModule::plan_activation_fusion() {
  activation_fusion_.assign(graph_.nodes.size(), ActivationFusion{});
  const std::vector<std::vector<int>> users = graph_.users();
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    // Exactly a Conv2d: a subclass may compute something else in its forward.
    const nn::ModulePtr& conv = node_modules_[i];
    if (!conv || typeid(*conv) != typeid(nn::Conv2d)) continue;
    if (users[i].size() != 1 || static_cast<int>(i) == graph_.output) continue;
    const std::size_t j = static_cast<std::size_t>(users[i][0]);
    const GraphNode& next = graph_.nodes[j];
    const nn::ModulePtr& module = node_modules_[j];
    kernels::Activation act = kernels::Activation::None;
    if (next.kind == NodeKind::Function && next.inputs.size() == 1 && next.attrs.empty()) {
      if (next.target == "relu") act = kernels::Activation::Relu;
      if (next.target == "relu6") act = kernels::Activation::Relu6;
    } else if (next.kind == NodeKind::Module && module) {
      if (typeid(*module) == typeid(nn::ReLU)) act = kernels::Activation::Relu;
      if (typeid(*module) == typeid(nn::ReLU6)) act = kernels::Activation::Relu6;
    }
    activation_fusion_[i] = ActivationFusion{act, j};
  }
}

Tensor GraphModule::forward(const Tensor& input) {
  const std::vector<nn::ModulePtr>& modules = node_modules();
  const std::size_t count = graph_.nodes.size();
  // Free each value after its last use, so activations do not pile up.
  std::vector<std::size_t> last_use(count, 0);
  for (std::size_t i = 0; i < count; ++i)
    for (int in : graph_.nodes[i].inputs) last_use[static_cast<std::size_t>(in)] = i;
  last_use[static_cast<std::size_t>(graph_.output)] = count;

  // Conv → relu pairs run fused only when nothing records (the recorded graph and any hook see
  // every node otherwise); `applied[j]` marks an activation node whose conv already applied it.
  const bool fuse = !GradMode::is_enabled();
  std::vector<bool> applied(count, false);
  std::vector<Tensor> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    const GraphNode& n = graph_.nodes[i];
    if (applied[i]) {
      values[i] = values[static_cast<std::size_t>(n.inputs[0])];
    } else if (n.kind == NodeKind::Input) {
      values[i] = input;
    } else if (n.kind == NodeKind::Module) {
      const Tensor& x = values[static_cast<std::size_t>(n.inputs[0])];
      const ActivationFusion& f = activation_fusion_[i];
      if (fuse && f.act != kernels::Activation::None && !modules[i]->has_hooks() &&
          (!modules[f.consumer] || !modules[f.consumer]->has_hooks())) {
        values[i] = static_cast<nn::Conv2d&>(*modules[i]).forward_activated(x, f.act);
        applied[f.consumer] = true;
      } else {
        values[i] = (*modules[i])(x);
      }
    } else {
      TensorList args;
      args.reserve(n.inputs.size());
      for (int in : n.inputs) args.push_back(values[static_cast<std::size_t>(in)]);
      values[i] = run_function(n, args);
    }
    for (int in : n.inputs)
      if (last_use[static_cast<std::size_t>(in)] == i) values[static_cast<std::size_t>(in)] = Tensor();
  }
  return values[static_cast<std::size_t>(graph_.output)];
}

std::size_t GraphModule::fusable_activations() {
  node_modules();
  return static_cast<std::size_t>(std::count_if(activation_fusion_.begin(), activation_fusion_.end(),
                                                [](const auto& f) { return f.act != kernels::Activation::None; }));
}

std::string GraphModule::extra_repr() const { return std::to_string(graph_.nodes.size()) + " nodes"; }

}  // namespace shrink::speedup
