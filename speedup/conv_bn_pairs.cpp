// conv_bn_pairs: a conv node whose only user is a batch-norm node, both called once.
#include "speedup/conv_bn_pairs.h"

#include <map>

#include "speedup/trace.h"

namespace shrink::speedup {

std::vector<std::pair<std::string, std::string>> conv_bn_pairs(const Graph& graph) {
  std::map<std::string, int> calls;
  for (const GraphNode& n : graph.nodes)
    if (n.kind == NodeKind::Module) ++calls[n.target];
  const auto users = graph.users();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const GraphNode& conv = graph.nodes[i];
    if (conv.kind != NodeKind::Module || conv.module_type != "Conv2d" || calls[conv.target] != 1) continue;
    if (users[i].size() != 1 || static_cast<int>(i) == graph.output) continue;
    const GraphNode& bn = graph.nodes[static_cast<std::size_t>(users[i][0])];
    if (bn.kind != NodeKind::Module || bn.module_type != "BatchNorm2d" || calls[bn.target] != 1) continue;
    pairs.emplace_back(conv.target, bn.target);
  }
  return pairs;
}

std::vector<std::pair<std::string, std::string>> conv_bn_pairs(nn::Module& model, const Tensor& example) {
  return conv_bn_pairs(trace(model, example));
}

}  // namespace shrink::speedup
