#pragma once
/// \file
/// The graph IR of a traced model: a list of nodes in execution order, each producing one value.
///
/// A node is the graph input, a call of a leaf module (`Conv2d`, `Linear`, `BatchNorm2d`, ...,
/// named by its dotted name in the model) or a functional op that ran between module calls
/// (`add`, `cat`, `flatten`, `relu`, ...; op names and attributes exactly as the autograd Node
/// recorded them, see autograd/ops.h). A node's inputs are indices of earlier nodes, so the
/// list is a topological order and node i's value is "value i". `speedup::trace` builds a Graph;
/// `GraphModule` runs one; the model file (speedup/model_file.h) stores one as JSON.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "autograd/node.h"
#include "autograd/tensor.h"

namespace shrink::speedup {

enum class NodeKind {
  Input,     ///< the model input (always node 0, no inputs)
  Module,    ///< a call of the leaf module `target` (a dotted name) on its one input
  Function,  ///< the functional op `target` (an autograd op name) on its inputs, with `attrs`
};

/// "input", "module", "function".
const char* node_kind_name(NodeKind kind);

struct GraphNode {
  NodeKind kind = NodeKind::Input;
  /// Unique within the graph: the module name for a module's first call ("features.0"), with
  /// "#2", "#3" for its later calls; "<op>", "<op>_1", ... for functional ops; "input".
  std::string name;
  /// Module: dotted module name; Function: op name; Input: "".
  std::string target;
  /// Module: the module's type_name ("Conv2d"); otherwise "".
  std::string module_type;
  /// Indices of the nodes whose values this node consumes, in argument order.
  std::vector<int> inputs;
  /// Function: the op's attributes as recorded (stride, dims, ...). Empty otherwise.
  Attributes attrs;
  /// Shape of this node's value in the traced run (the batch is dim 0).
  Shape shape;
  /// Function: the module scope the op ran in ("layer1.0"), "" at top level.
  std::string scope;
};

/// A traced model: nodes in execution order, node 0 the input, `output` the result's node.
struct Graph {
  std::vector<GraphNode> nodes;
  int output = 0;

  /// Indices of the nodes that consume node i's value (each consumer once per use).
  std::vector<std::vector<int>> users() const;
  /// The index of the node named `name`; IndexError listing a few names if absent.
  int index_of(const std::string& name) const;
  /// Checks the structural rules (node 0 is the only input, inputs point backwards, names
  /// unique, kinds have their fields); ValueError naming the node otherwise.
  void validate() const;
  /// A readable listing, one node per line: "%3 = conv2d[features.0](%2)  [8, 16, 28, 28]".
  std::string to_string() const;
};

/// The graph as JSON: {"nodes": [{"name", "kind", "target", "module_type", "inputs", "attrs",
/// "shape", "scope"}], "output": i}. Attribute values keep their types (int, float, bool,
/// string, int list); a float attribute is written as {"float": v} so that 2.0 stays a float.
nlohmann::json graph_to_json(const Graph& graph);
/// Parses and validates JSON from graph_to_json (or a hostile file): every field checked, sizes
/// bounded; ValueError naming the node and field that is wrong.
Graph graph_from_json(const nlohmann::json& json);

}  // namespace shrink::speedup
