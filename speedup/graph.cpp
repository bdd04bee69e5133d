// Graph IR: users, validation, printing and the JSON form (hostile input checked field by field).
#include "speedup/graph.h"

#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "autograd/error.h"

namespace shrink::speedup {
namespace {

using nlohmann::json;

// Bounds on what a graph read from a file may hold: far above any real model, low enough that
// a hostile file cannot make the reader allocate without limit.
constexpr std::size_t kMaxNodes = 1'000'000;
constexpr std::size_t kMaxListLength = 4096;
constexpr std::int64_t kMaxDim = std::int64_t{1} << 40;

std::string attr_to_string(const AttrValue& v) {
  std::ostringstream os;
  std::visit(
      [&os](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
          os << '[';
          for (std::size_t i = 0; i < x.size(); ++i) os << (i ? ", " : "") << x[i];
          os << ']';
        } else if constexpr (std::is_same_v<T, bool>) {
          os << (x ? "true" : "false");
        } else {
          os << x;
        }
      },
      v);
  return os.str();
}

json attr_to_json(const AttrValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) return json{{"float", x}};
        else return json(x);
      },
      v);
}

std::string where(std::size_t i, const std::string& field) {
  return "graph JSON: node " + std::to_string(i) + ", field \"" + field + "\"";
}

std::int64_t read_int(const json& j, const std::string& at) {
  SHRINK_CHECK(j.is_number_integer(), at, ": expected an integer, got ", j.type_name());
  return j.get<std::int64_t>();
}

std::vector<std::int64_t> read_int_list(const json& j, const std::string& at) {
  SHRINK_CHECK(j.is_array(), at, ": expected a list of integers, got ", j.type_name());
  SHRINK_CHECK(j.size() <= kMaxListLength, at, ": expected at most ", kMaxListLength, " entries, got ", j.size());
  std::vector<std::int64_t> out;
  out.reserve(j.size());
  for (const json& e : j) out.push_back(read_int(e, at));
  return out;
}

AttrValue attr_from_json(const json& j, const std::string& at) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) return read_int_list(j, at);
  if (j.is_object() && j.size() == 1 && j.contains("float") && j["float"].is_number()) return j["float"].get<double>();
  SHRINK_CHECK(false, at, ": expected an int, bool, string, int list or {\"float\": number}, got ", j.dump());
  return {};
}

std::string read_string(const json& node, const char* key, std::size_t i) {
  SHRINK_CHECK(node.contains(key), where(i, key), ": expected the field, got nothing");
  SHRINK_CHECK(node[key].is_string(), where(i, key), ": expected a string, got ", node[key].type_name());
  return node[key].get<std::string>();
}

}  // namespace

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::Input: return "input";
    case NodeKind::Module: return "module";
    case NodeKind::Function: return "function";
  }
  return "?";
}

std::vector<std::vector<int>> Graph::users() const {
  std::vector<std::vector<int>> out(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (int in : nodes[i].inputs) out[static_cast<std::size_t>(in)].push_back(static_cast<int>(i));
  return out;
}

int Graph::index_of(const std::string& name) const {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int>(i);
  std::string some;
  for (std::size_t i = 0; i < nodes.size() && i < 8; ++i) some += (i ? ", " : "") + nodes[i].name;
  if (nodes.size() > 8) some += ", ...";
  SHRINK_CHECK_INDEX(false, "Graph: expected the name of a node, got \"", name, "\" (nodes: ", some, ")");
  return -1;
}

void Graph::validate() const {
  SHRINK_CHECK(!nodes.empty() && nodes[0].kind == NodeKind::Input,
               "Graph: expected node 0 to be the input, got ", nodes.empty() ? "no nodes" : node_kind_name(nodes[0].kind));
  SHRINK_CHECK(output >= 0 && static_cast<std::size_t>(output) < nodes.size(), "Graph: expected the output in [0, ",
               nodes.size(), "), got ", output);
  std::set<std::string> names;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const GraphNode& n = nodes[i];
    SHRINK_CHECK(!n.name.empty() && names.insert(n.name).second, "Graph: node ", i,
                 ": expected a unique non-empty name, got \"", n.name, "\"");
    SHRINK_CHECK(i == 0 || n.kind != NodeKind::Input, "Graph: node ", i, " (", n.name,
                 "): expected one input node (node 0), got a second");
    for (int in : n.inputs)
      SHRINK_CHECK(in >= 0 && static_cast<std::size_t>(in) < i, "Graph: node ", i, " (", n.name,
                   "): expected inputs that are earlier nodes (< ", i, "), got ", in);
    for (std::int64_t d : n.shape)
      SHRINK_CHECK(d >= 0 && d <= kMaxDim, "Graph: node ", i, " (", n.name, "): expected sizes in [0, 2^40], got ", d);
    switch (n.kind) {
      case NodeKind::Input:
        SHRINK_CHECK(n.inputs.empty(), "Graph: the input node expects no inputs, got ", n.inputs.size());
        break;
      case NodeKind::Module:
        SHRINK_CHECK(!n.target.empty() && n.inputs.size() == 1, "Graph: node ", i, " (", n.name,
                     "): a module call expects a module name and one input, got target \"", n.target, "\" and ",
                     n.inputs.size(), " inputs");
        break;
      case NodeKind::Function:
        SHRINK_CHECK(!n.target.empty() && !n.inputs.empty(), "Graph: node ", i, " (", n.name,
                     "): a function expects an op name and at least one input, got target \"", n.target, "\" and ",
                     n.inputs.size(), " inputs");
        break;
    }
  }
}

std::string Graph::to_string() const {
  std::ostringstream os;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const GraphNode& n = nodes[i];
    os << '%' << i << " = ";
    if (n.kind == NodeKind::Input) {
      os << "input";
    } else {
      os << (n.kind == NodeKind::Module ? n.module_type + "[" + n.target + "]" : n.target) << '(';
      for (std::size_t k = 0; k < n.inputs.size(); ++k) os << (k ? ", " : "") << '%' << n.inputs[k];
      for (const auto& [key, value] : n.attrs) os << ", " << key << '=' << attr_to_string(value);
      os << ')';
    }
    os << "  " << shape_str(n.shape);
    if (n.kind != NodeKind::Input && n.name != n.target) os << "  # " << n.name;
    os << '\n';
  }
  os << "return %" << output << '\n';
  return os.str();
}

json graph_to_json(const Graph& graph) {
  json nodes = json::array();
  for (const GraphNode& n : graph.nodes) {
    json attrs = json::array();
    for (const auto& [key, value] : n.attrs) attrs.push_back(json::array({key, attr_to_json(value)}));
    nodes.push_back({{"name", n.name},
                     {"kind", node_kind_name(n.kind)},
                     {"target", n.target},
                     {"module_type", n.module_type},
                     {"inputs", n.inputs},
                     {"attrs", attrs},
                     {"shape", n.shape},
                     {"scope", n.scope}});
  }
  return {{"nodes", nodes}, {"output", graph.output}};
}

Graph graph_from_json(const json& j) {
  SHRINK_CHECK(j.is_object() && j.contains("nodes") && j["nodes"].is_array() && j.contains("output"),
               "graph JSON: expected an object with \"nodes\" (a list) and \"output\", got ",
               j.is_object() ? "an object without them" : j.type_name());
  const json& nodes = j["nodes"];
  SHRINK_CHECK(!nodes.empty() && nodes.size() <= kMaxNodes, "graph JSON: expected 1 to ", kMaxNodes, " nodes, got ",
               nodes.size());
  Graph g;
  g.nodes.reserve(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const json& n = nodes[i];
    SHRINK_CHECK(n.is_object(), where(i, ""), ": expected an object, got ", n.type_name());
    GraphNode node;
    node.name = read_string(n, "name", i);
    const std::string kind = read_string(n, "kind", i);
    if (kind == "input") node.kind = NodeKind::Input;
    else if (kind == "module") node.kind = NodeKind::Module;
    else if (kind == "function") node.kind = NodeKind::Function;
    else SHRINK_CHECK(false, where(i, "kind"), ": expected \"input\", \"module\" or \"function\", got \"", kind, "\"");
    node.target = read_string(n, "target", i);
    node.module_type = read_string(n, "module_type", i);
    node.scope = read_string(n, "scope", i);
    SHRINK_CHECK(n.contains("inputs"), where(i, "inputs"), ": expected the field, got nothing");
    for (std::int64_t in : read_int_list(n["inputs"], where(i, "inputs"))) {
      SHRINK_CHECK(in >= 0 && static_cast<std::size_t>(in) < i, where(i, "inputs"),
                   ": expected indices of earlier nodes (< ", i, "), got ", in);
      node.inputs.push_back(static_cast<int>(in));
    }
    SHRINK_CHECK(n.contains("shape"), where(i, "shape"), ": expected the field, got nothing");
    node.shape = read_int_list(n["shape"], where(i, "shape"));
    SHRINK_CHECK(n.contains("attrs") && n["attrs"].is_array() && n["attrs"].size() <= kMaxListLength, where(i, "attrs"),
                 ": expected a list of [name, value] pairs");
    for (const json& a : n["attrs"]) {
      SHRINK_CHECK(a.is_array() && a.size() == 2 && a[0].is_string(), where(i, "attrs"),
                   ": expected [name, value] pairs, got ", a.dump());
      node.attrs.emplace_back(a[0].get<std::string>(), attr_from_json(a[1], where(i, "attrs." + a[0].get<std::string>())));
    }
    g.nodes.push_back(std::move(node));
  }
  const std::int64_t output = read_int(j["output"], "graph JSON: \"output\"");
  SHRINK_CHECK(output >= 0 && static_cast<std::size_t>(output) < g.nodes.size(), "graph JSON: \"output\": expected a node index in [0, ",
               g.nodes.size(), "), got ", output);
  g.output = static_cast<int>(output);
  g.validate();
  return g;
}

}  // namespace shrink::speedup
