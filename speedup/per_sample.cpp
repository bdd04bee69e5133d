#include "speedup/per_sample.h"

#include <optional>
#include <set>
#include <string>
#include <typeindex>
#include <variant>

#include "nn/layers.h"

namespace shrink::speedup {
namespace {

using i64 = std::int64_t;

/// The integer attribute `name` of a function node, if it has one.
std::optional<i64> int_attr(const GraphNode& n, const char* name) {
  for (const auto& [key, value] : n.attrs)
    if (key == name && std::holds_alternative<i64>(value)) return std::get<i64>(value);
  return std::nullopt;
}

bool module_per_sample(const nn::Module& m) {
  // Exact types: a subclass may compute anything in its forward.
  static const std::set<std::type_index> kPerSample = {typeid(nn::Conv2d),
                                                       typeid(nn::Linear),
                                                       typeid(nn::BatchNorm1d),
                                                       typeid(nn::BatchNorm2d),
                                                       typeid(nn::ReLU),
                                                       typeid(nn::ReLU6),
                                                       typeid(nn::LeakyReLU),
                                                       typeid(nn::GELU),
                                                       typeid(nn::Sigmoid),
                                                       typeid(nn::Tanh),
                                                       typeid(nn::MaxPool2d),
                                                       typeid(nn::AvgPool2d),
                                                       typeid(nn::AdaptiveAvgPool2d),
                                                       typeid(nn::Dropout),
                                                       typeid(nn::Identity),
                                                       typeid(nn::Flatten)};
  if (m.is_training() || !kPerSample.contains(typeid(m))) return false;
  // A parametrization may keep state that each call updates (a weight observer's running
  // range): called once per slice, it would see more calls. Pruning masks are pure.
  for (const auto& [name, value] : m.named_parameters(/*recurse=*/false))
    if (m.is_parametrized(name))
      for (const std::string& kind : m.parametrization_kinds(name))
        if (kind != "prune") return false;
  if (const auto* f = dynamic_cast<const nn::Flatten*>(&m)) return f->start_dim() >= 1;
  return true;
}

bool function_per_sample(const GraphNode& n) {
  static const std::set<std::string> kElementwise = {
      "add",        "sub",        "mul",  "div",   "add_scalar", "sub_scalar", "mul_scalar",
      "div_scalar", "pow_scalar", "neg",  "exp",   "relu",       "relu6",      "leaky_relu",
      "gelu",       "sigmoid",    "tanh", "clamp", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"};
  if (kElementwise.contains(n.target)) return true;
  // Shape ops that leave dim 0 alone (a recorded negative dim counts from the end: refused, as
  // it could name dim 0 of a 1-D value).
  if (n.target == "flatten") return int_attr(n, "start_dim").value_or(0) >= 1;
  if (n.target == "cat" || n.target == "unsqueeze" || n.target == "narrow" || n.target == "slice")
    return int_attr(n, "dim").value_or(0) >= 1;
  if (n.target == "transpose") return int_attr(n, "dim0").value_or(0) >= 1 && int_attr(n, "dim1").value_or(0) >= 1;
  return false;
}

}  // namespace

bool runs_per_sample(const Graph& graph, const std::vector<nn::ModulePtr>& modules) {
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    const GraphNode& n = graph.nodes[i];
    if (n.kind == NodeKind::Module && !(modules[i] && module_per_sample(*modules[i]))) return false;
    if (n.kind == NodeKind::Function && !function_per_sample(n)) return false;
  }
  return true;
}

}  // namespace shrink::speedup
