// The replay table of functional ops: op name -> how to run it from its recorded attributes.
#include "speedup/functional_ops.h"

#include <algorithm>
#include <map>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace shrink::speedup {
namespace {

using i64 = std::int64_t;
using Replay = ReplayRule;

const AttrValue& attr(const GraphNode& n, const char* name) {
  for (const auto& [key, value] : n.attrs)
    if (key == name) return value;
  SHRINK_CHECK(false, "GraphModule: node '", n.name, "' (", n.target, "): expected attribute \"", name, "\", got none");
  throw InternalError("unreachable");
}

template <typename T>
const T& get(const GraphNode& n, const char* name) {
  const AttrValue& v = attr(n, name);
  SHRINK_CHECK(std::holds_alternative<T>(v), "GraphModule: node '", n.name, "' (", n.target, "): attribute \"", name,
               "\" has the wrong type");
  return std::get<T>(v);
}

float scalar(const GraphNode& n, const char* name) { return static_cast<float>(get<double>(n, name)); }

std::array<i64, 2> pair(const GraphNode& n, const char* name) {
  const auto& v = get<std::vector<i64>>(n, name);
  SHRINK_CHECK(v.size() == 2, "GraphModule: node '", n.name, "': attribute \"", name, "\" expects 2 values, got ",
               v.size());
  return {v[0], v[1]};
}

Pool2dParams pool_params(const GraphNode& n, bool is_max) {
  Pool2dParams p;
  p.kernel = pair(n, "kernel");
  p.stride = pair(n, "stride");
  p.padding = pair(n, "padding");
  if (is_max) p.dilation = pair(n, "dilation");
  p.ceil_mode = get<bool>(n, "ceil_mode");
  if (!is_max) p.count_include_pad = get<bool>(n, "count_include_pad");
  return p;
}

std::optional<float> optional_scalar(const GraphNode& n, const char* name) {
  for (const auto& [key, value] : n.attrs)
    if (key == name) return scalar(n, name);
  return std::nullopt;
}

Tensor reshape_replay(const GraphNode& n, const TensorList& in) {
  // The recorded shape holds the traced batch size: infer dim 0 instead, unless another dim is
  // the inferred one already.
  Shape shape = get<std::vector<i64>>(n, "shape");
  if (shape.size() > 1 && std::none_of(shape.begin() + 1, shape.end(), [](i64 d) { return d == -1; })) shape[0] = -1;
  return reshape(in[0], shape);
}

const std::map<std::string, Replay>& table() {
  static const std::map<std::string, Replay> ops = {
      {"add", [](const GraphNode&, const TensorList& in) { return add(in[0], in[1]); }},
      {"sub", [](const GraphNode&, const TensorList& in) { return sub(in[0], in[1]); }},
      {"mul", [](const GraphNode&, const TensorList& in) { return mul(in[0], in[1]); }},
      {"div", [](const GraphNode&, const TensorList& in) { return div(in[0], in[1]); }},
      {"add_scalar", [](const GraphNode& n, const TensorList& in) { return add(in[0], scalar(n, "other")); }},
      {"sub_scalar", [](const GraphNode& n, const TensorList& in) { return sub(in[0], scalar(n, "other")); }},
      {"mul_scalar", [](const GraphNode& n, const TensorList& in) { return mul(in[0], scalar(n, "other")); }},
      {"div_scalar", [](const GraphNode& n, const TensorList& in) { return div(in[0], scalar(n, "other")); }},
      {"pow_scalar", [](const GraphNode& n, const TensorList& in) { return pow(in[0], scalar(n, "exponent")); }},
      {"neg", [](const GraphNode&, const TensorList& in) { return neg(in[0]); }},
      {"exp", [](const GraphNode&, const TensorList& in) { return exp(in[0]); }},
      {"relu", [](const GraphNode&, const TensorList& in) { return relu(in[0]); }},
      {"relu6", [](const GraphNode&, const TensorList& in) { return relu6(in[0]); }},
      {"leaky_relu", [](const GraphNode& n, const TensorList& in) { return leaky_relu(in[0], scalar(n, "negative_slope")); }},
      {"gelu", [](const GraphNode& n, const TensorList& in) { return gelu(in[0], get<std::string>(n, "approximate") == "tanh"); }},
      {"sigmoid", [](const GraphNode&, const TensorList& in) { return sigmoid(in[0]); }},
      {"tanh", [](const GraphNode&, const TensorList& in) { return tanh(in[0]); }},
      {"clamp", [](const GraphNode& n, const TensorList& in) {
         return clamp(in[0], optional_scalar(n, "min"), optional_scalar(n, "max"));
       }},
      {"flatten", [](const GraphNode& n, const TensorList& in) {
         return flatten(in[0], get<i64>(n, "start_dim"), get<i64>(n, "end_dim"));
       }},
      {"reshape", reshape_replay},
      {"transpose", [](const GraphNode& n, const TensorList& in) {
         return transpose(in[0], get<i64>(n, "dim0"), get<i64>(n, "dim1"));
       }},
      {"permute", [](const GraphNode& n, const TensorList& in) { return permute(in[0], get<std::vector<i64>>(n, "dims")); }},
      {"unsqueeze", [](const GraphNode& n, const TensorList& in) { return unsqueeze(in[0], get<i64>(n, "dim")); }},
      {"narrow", [](const GraphNode& n, const TensorList& in) {
         return narrow(in[0], get<i64>(n, "dim"), get<i64>(n, "start"), get<i64>(n, "length"));
       }},
      {"slice", [](const GraphNode& n, const TensorList& in) {
         return slice(in[0], get<i64>(n, "dim"), get<i64>(n, "start"), get<i64>(n, "end"), get<i64>(n, "step"));
       }},
      {"cat", [](const GraphNode& n, const TensorList& in) { return cat(in, get<i64>(n, "dim")); }},
      {"max_pool2d", [](const GraphNode& n, const TensorList& in) { return max_pool2d(in[0], pool_params(n, true)); }},
      {"avg_pool2d", [](const GraphNode& n, const TensorList& in) { return avg_pool2d(in[0], pool_params(n, false)); }},
      {"adaptive_avg_pool2d", [](const GraphNode& n, const TensorList& in) {
         return adaptive_avg_pool2d(in[0], pair(n, "output_size"));
       }},
      {"mean", [](const GraphNode& n, const TensorList& in) {
         return mean(in[0], get<std::vector<i64>>(n, "dims"), get<bool>(n, "keepdim"));
       }},
      {"sum", [](const GraphNode& n, const TensorList& in) {
         return sum(in[0], get<std::vector<i64>>(n, "dims"), get<bool>(n, "keepdim"));
       }},
      {"identity", [](const GraphNode&, const TensorList& in) { return in[0]; }},
  };
  return ops;
}

bool input_count_ok(const GraphNode& node, std::size_t inputs) {
  const bool binary = node.target == "add" || node.target == "sub" || node.target == "mul" || node.target == "div";
  return node.target == "cat" ? inputs > 0 : inputs == (binary ? 2u : 1u);
}

}  // namespace

Tensor run_function(const GraphNode& node, const TensorList& inputs) {
  const auto it = table().find(node.target);
  if (it == table().end()) {
    std::string known;
    for (const auto& name : replayable_ops()) known += (known.empty() ? "" : ", ") + name;
    throw NotImplementedError("GraphModule: node '" + node.name + "' runs op '" + node.target + "' " +
                              (node.scope.empty() ? "at top level" : "in module '" + node.scope + "'") +
                              ", which has no replay rule; replayable ops: " + known);
  }
  const bool binary = node.target == "add" || node.target == "sub" || node.target == "mul" || node.target == "div";
  SHRINK_CHECK(input_count_ok(node, inputs.size()), "GraphModule: node '", node.name, "' (", node.target,
               "): expected ", binary ? 2 : 1, " inputs, got ", inputs.size());
  return it->second(node, inputs);
}

ReplayRule replay_rule(const GraphNode& node, std::size_t inputs) {
  const auto it = table().find(node.target);
  return it == table().end() || !input_count_ok(node, inputs) ? nullptr : it->second;
}

bool is_replayable(const std::string& op) { return table().count(op) > 0; }

std::vector<std::string> replayable_ops() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : table()) names.push_back(name);
  return names;
}

}  // namespace shrink::speedup
