// GraphModule: runs a Graph node by node, keeping each node's value until its last use.
#include "speedup/graph_module.h"

#include <algorithm>
#include <typeinfo>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/gemm.h"
#include "nn/modules/activation.h"
#include "nn/modules/conv.h"
#include "speedup/functional_ops.h"
#include "speedup/per_sample.h"

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
    plan_forward();
  }
  return node_modules_;
}

void GraphModule::plan_forward() {
  const std::size_t count = graph_.nodes.size();
  last_use_.assign(count, 0);
  for (std::size_t i = 0; i < count; ++i)
    for (int in : graph_.nodes[i].inputs) last_use_[static_cast<std::size_t>(in)] = i;
  last_use_[static_cast<std::size_t>(graph_.output)] = count;
  activation_fusion_.assign(count, ActivationFusion{});
  replay_rules_.assign(count, nullptr);
  for (std::size_t i = 0; i < count; ++i)
    if (graph_.nodes[i].kind == NodeKind::Function)
      replay_rules_[i] = replay_rule(graph_.nodes[i], graph_.nodes[i].inputs.size());
  const std::vector<std::vector<int>> users = graph_.users();
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    // Exactly a Conv2d (a subclass may compute something else in its forward), or an add of two
    // values (a residual join: its output is a fresh tensor the activation may overwrite).
    const GraphNode& node = graph_.nodes[i];
    const nn::ModulePtr& conv = node_modules_[i];
    const bool is_conv = conv && typeid(*conv) == typeid(nn::Conv2d);
    const bool is_add = node.kind == NodeKind::Function && node.target == "add" && node.inputs.size() == 2 &&
                        replay_rules_[i] != nullptr;
    if (!is_conv && !is_add) continue;
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
  // Inference on a large batch runs in micro-batches when every node treats samples on their
  // own: a layer's input and output then stay in the caches instead of streaming through
  // memory. Each sample's floats are what the whole batch gives (no kernel's per-sample result
  // depends on the batch size). Not with hooks: they would see slices (observers, pruners'
  // statistics, the MACs counter expect the batch as given).
  // (Cheapest checks first: a batch-1 forward pays for none of the scans.)
  const std::int64_t smallest_slice = micro_batch_ > 0 ? micro_batch_ : kernels::kGemmRowBlock;
  if (GradMode::is_enabled() || input.dim() == 0 || input.size(0) <= smallest_slice) return run_graph(input);
  const std::int64_t micro = micro_batch();
  const auto hooked = [](const nn::ModulePtr& m) { return m && m->has_hooks(); };
  if (input.size(0) > micro && std::none_of(modules.begin(), modules.end(), hooked) &&
      runs_per_sample(graph_, modules)) {
    TensorList outputs;
    for (std::int64_t start = 0; start < input.size(0); start += micro)
      outputs.push_back(run_graph(narrow(input, 0, start, std::min(micro, input.size(0) - start))));
    return cat(outputs, 0);
  }
  return run_graph(input);
}

Tensor GraphModule::run_graph(const Tensor& input) {
  const std::vector<nn::ModulePtr>& modules = node_modules_;
  const std::size_t count = graph_.nodes.size();

  // Conv → relu and add → relu pairs run fused only when nothing records (the recorded graph
  // and any hook see every node otherwise); `applied[j]` marks an activation node whose
  // producer already applied it.
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
      values[i] = replay_rules_[i] != nullptr ? replay_rules_[i](n, args) : run_function(n, args);
      const ActivationFusion& f = activation_fusion_[i];
      if (fuse && f.act != kernels::Activation::None && values[i].dtype() == DType::Float32 &&
          (!modules[f.consumer] || !modules[f.consumer]->has_hooks())) {
        // add → relu: the activation in place on the sum (one pass less over it), with the relu
        // op's own formula, so the floats are the two steps'.
        kernels::apply_activation(values[i].data<float>(), values[i].numel(), f.act);
        applied[f.consumer] = true;
      }
    }
    for (int in : n.inputs)
      // Free each value after its last use, so activations do not pile up.
      if (last_use_[static_cast<std::size_t>(in)] == i) values[static_cast<std::size_t>(in)] = Tensor();
  }
  return values[static_cast<std::size_t>(graph_.output)];
}

std::int64_t GraphModule::micro_batch() const {
  if (micro_batch_ > 0) return micro_batch_;
  std::int64_t largest = 1;  // floats per sample of the largest value
  for (const GraphNode& n : graph_.nodes) {
    std::int64_t per_sample = 1;
    for (std::size_t d = 1; d < n.shape.size(); ++d) per_sample *= n.shape[d];
    largest = std::max(largest, per_sample);
  }
  const std::int64_t budget = kSliceBytes;
  // A multiple of gemm's row block: a Linear then computes each sample's row in the same kind of
  // block as in the whole batch, so slicing changes no float (and 2, 4 or 8 threads share a
  // slice's samples evenly).
  const std::int64_t block = kernels::kGemmRowBlock;
  // No upper bound: a batch whose activations fit the budget whole is not sliced at all.
  return std::max<std::int64_t>(budget / (largest * 4), block) / block * block;
}

std::size_t GraphModule::fusable_activations() {
  node_modules();
  return static_cast<std::size_t>(std::count_if(activation_fusion_.begin(), activation_fusion_.end(),
                                                [](const auto& f) { return f.act != kernels::Activation::None; }));
}

std::string GraphModule::extra_repr() const { return std::to_string(graph_.nodes.size()) + " nodes"; }

}  // namespace shrink::speedup
