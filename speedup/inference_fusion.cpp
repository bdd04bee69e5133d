// fuse_for_inference: fold conv → BatchNorm pairs of the graph and drop the BatchNorm nodes.
#include "speedup/inference_fusion.h"

#include <map>
#include <set>

#include "autograd/error.h"
#include "nn/layers.h"
#include "speedup/conv_bn_pairs.h"
#include "speedup/fold_batchnorm.h"

namespace shrink::speedup {
namespace {

// `graph` without the nodes in `removed`, each of which has one input: its users read that input.
Graph without_nodes(const Graph& graph, const std::set<int>& removed) {
  Graph out;
  std::vector<int> remap(graph.nodes.size(), -1);
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const GraphNode& n = graph.nodes[i];
    if (removed.contains(static_cast<int>(i))) {
      remap[i] = remap[static_cast<std::size_t>(n.inputs.at(0))];
      continue;
    }
    GraphNode copy = n;
    for (int& in : copy.inputs) in = remap[static_cast<std::size_t>(in)];
    remap[i] = static_cast<int>(out.nodes.size());
    out.nodes.push_back(std::move(copy));
  }
  out.output = remap[static_cast<std::size_t>(graph.output)];
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> fuse_for_inference(GraphModule& model) {
  SHRINK_CHECK_T(StateError, !model.is_training(),
                 "fuse_for_inference: expected a model in eval mode, got one in training mode. Hint: call eval() "
                 "first; in training mode a BatchNorm normalises with the batch's statistics, which no conv can fold");
  const Graph& graph = model.graph();
  std::map<std::string, nn::ModulePtr> modules;
  for (const GraphNode& n : graph.nodes)
    if (n.kind == NodeKind::Module) modules[n.target] = model.find_module(n.target);

  const auto pairs = conv_bn_pairs(graph);
  for (const auto& [conv_name, bn_name] : pairs)
    for (const std::string& name : {conv_name, bn_name}) {
      const nn::ModulePtr& m = modules.at(name);
      SHRINK_CHECK_T(StateError, !m->is_parametrized(), "fuse_for_inference: '", name, "' (", m->type_name(),
                     ") carries a parametrization (a pruner or quantizer is attached); unwrap it first");
      SHRINK_CHECK_T(StateError, !m->is_training(), "fuse_for_inference: expected '", name,
                     "' in eval mode, got it in training mode. Hint: call eval() on the whole model");
    }

  std::set<int> removed;
  for (const auto& [conv_name, bn_name] : pairs) {
    const auto* conv = modules.at(conv_name)->as<nn::Conv2d>();
    const auto* bn = modules.at(bn_name)->as<nn::BatchNorm2d>();
    SHRINK_CHECK(conv != nullptr && bn != nullptr, "fuse_for_inference: expected '", conv_name, "' and '", bn_name,
                 "' to be a Conv2d and a BatchNorm2d, got a ", modules.at(conv_name)->type_name(), " and a ",
                 modules.at(bn_name)->type_name());
    modules[conv_name] = fold_conv_bn(*conv, *bn);
    modules.erase(bn_name);
    removed.insert(graph.index_of(bn_name));  // called once: its node carries its module's name
  }
  if (!pairs.empty()) model.reset(without_nodes(graph, removed), modules);
  return pairs;
}

}  // namespace shrink::speedup
