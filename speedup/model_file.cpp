// Model files: graph JSON + module options in a root attribute, weights as state_dict datasets.
#include "speedup/model_file.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "io/atomic_write.h"
#include "io/checkpoint_meta.h"
#include "io/file_format.h"
#include "io/shrink_file.h"
#include "speedup/functional_ops.h"
#include "speedup/module_factory.h"
#include "speedup/trace.h"

namespace shrink::io {
namespace {

using nlohmann::json;
using speedup::Graph;
using speedup::GraphNode;
using speedup::NodeKind;

/// The root attribute holding the graph JSON.
constexpr const char* kGraphAttr = "graph";
/// Nesting of the graph JSON (nodes hold lists in objects in a list: 5 levels).
constexpr std::size_t kMaxGraphDepth = 16;
constexpr std::size_t kMaxNameLength = 4096;

/// Non-empty dot-separated parts, no '/' (a '/' in a dataset name would make an HDF5 group).
bool valid_module_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || name.find('/') != std::string::npos) return false;
  return name.front() != '.' && name.back() != '.' && name.find("..") == std::string::npos;
}

std::string replayable_list() {
  std::string out;
  for (const std::string& op : speedup::replayable_ops()) out += (out.empty() ? "" : ", ") + op;
  return out;
}

/// The modules the graph calls, in order of their first call.
std::vector<std::string> called_modules(const Graph& graph) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const GraphNode& n : graph.nodes)
    if (n.kind == NodeKind::Module && seen.insert(n.target).second) names.push_back(n.target);
  return names;
}

json parse_graph_json(const std::string& text, const std::string& at) {
  if (json_nesting_depth(text, kMaxGraphDepth) > kMaxGraphDepth)
    throw IOError(at + "expected JSON nested at most " + std::to_string(kMaxGraphDepth) + " levels deep, got more");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw IOError(at + "expected JSON, got a parse error (" + e.what() + ")");
  }
}

/// The specs of "modules", by name, in file order (`order`).
std::map<std::string, speedup::ModuleSpec> read_module_specs(const json& j, const Graph& graph, const std::string& at,
                                                             std::vector<std::string>& order) {
  if (!j.contains("modules") || !j["modules"].is_array())
    throw IOError(at + "expected a list \"modules\" (name, type and options of each module the graph calls), got " +
                  (j.contains("modules") ? std::string(j["modules"].type_name()) : "nothing"));
  const json& list = j["modules"];
  if (list.size() > graph.nodes.size())
    throw IOError(at + "\"modules\": expected at most one module per node (" + std::to_string(graph.nodes.size()) +
                  "), got " + std::to_string(list.size()));
  std::map<std::string, speedup::ModuleSpec> specs;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    const std::string where = at + "\"modules\" entry " + std::to_string(i);
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string())
      throw IOError(where + ": expected an object with a string \"name\", got " + std::string(m.type_name()));
    const std::string name = m["name"].get<std::string>();
    if (!valid_module_name(name))
      throw IOError(where + ": field \"name\": expected a dotted module name (non-empty parts, no '/', at most " +
                    std::to_string(kMaxNameLength) + " characters), got \"" + name.substr(0, 64) + "\"");
    try {
      if (!specs.emplace(name, speedup::module_from_json(m, name)).second)
        throw IOError(where + ": expected one entry per module, got module '" + name + "' twice");
    } catch (const ValueError& e) {
      throw IOError(at + e.what());
    }
    order.push_back(name);
  }
  return specs;
}

/// Every Module node calls a described module of its recorded type, every described module is
/// called, every Function node runs an op Shrink replays.
void check_nodes(const Graph& graph, const std::map<std::string, speedup::ModuleSpec>& specs, const std::string& at) {
  std::set<std::string> called;
  for (const GraphNode& n : graph.nodes) {
    if (n.kind == NodeKind::Function && !speedup::is_replayable(n.target))
      throw IOError(at + "node '" + n.name + "' runs op '" + n.target +
                    "', which Shrink cannot replay; replayable ops: " + replayable_list());
    if (n.kind != NodeKind::Module) continue;
    const auto it = specs.find(n.target);
    if (it == specs.end())
      throw IOError(at + "node '" + n.name + "' calls module '" + n.target + "', which \"modules\" does not describe");
    if (it->second.type != n.module_type)
      throw IOError(at + "node '" + n.name + "' expects module '" + n.target + "' to be a " + n.module_type +
                    ", got a " + it->second.type + " in \"modules\"");
    called.insert(n.target);
  }
  for (const auto& [name, spec] : specs)
    if (!called.count(name)) throw IOError(at + "\"modules\" describes module '" + name + "', which no node calls");
}

}  // namespace

void save_model(const nn::Module& model, const std::string& path) {
  const auto* graph_module = dynamic_cast<const speedup::GraphModule*>(&model);
  SHRINK_CHECK(graph_module != nullptr, "save_model: '", path, "': expected a speedup::GraphModule (which has its graph), got a ",
               model.type_name(), ". Hint: give an example input to trace the model with: io::save_model(model, example, path)");
  save_model(model, graph_module->graph(), path);
}

void save_model(nn::Module& model, const Tensor& example, const std::string& path) {
  save_model(model, speedup::trace(model, example), path);
}

void save_model(const nn::Module& model, const Graph& graph, const std::string& path) {
  const std::string where = "save_model: '" + path + "': ";
  graph.validate();
  json modules = json::array();
  StateDict weights;
  for (const std::string& name : called_modules(graph)) {
    const nn::ModulePtr module = model.find_module(name);
    SHRINK_CHECK(module != nullptr, where, "the graph calls module '", name, "', which the model does not have");
    SHRINK_CHECK(module->named_children().empty(), where, "the graph calls module '", name, "' (", module->type_name(),
                 "), which has children; a graph calls leaf modules. Hint: trace the model (speedup::trace)");
    SHRINK_CHECK(valid_module_name(name), where, "expected module names without '/', got '", name, "'");
    json entry;
    try {
      entry = speedup::module_to_json(*module, name);
    } catch (const ValueError& e) {
      throw ValueError(where + e.what());
    }
    entry["name"] = name;
    modules.push_back(std::move(entry));
    for (const auto& [key, tensor] : module->state_dict()) weights.insert(name + "." + key, tensor);
  }
  json j = speedup::graph_to_json(graph);
  j["modules"] = std::move(modules);
  const std::string text = j.dump();
  write_atomically(path, "save_model", [&](const std::string& tmp) {
    H5File file = H5File::create(tmp, "save_model", path);
    write_header(file, kModelFormat);
    file.set_string_attr("", kGraphAttr, text);
    for (const auto& [key, tensor] : weights) write_entry(file, key, tensor);
    file.close();
  });
}

std::shared_ptr<speedup::GraphModule> load_model(const std::string& path) {
  const H5File file = open_shrink_file(path, "load_model", {kModelFormat}, false);
  const std::string prefix = file.prefix();
  const std::optional<std::string> text = file.string_attr("", kGraphAttr);
  if (!text)
    throw IOError(prefix + "expected an attribute 'graph' (the model's graph as JSON), got none. Hint: a file "
                  "without it holds weights only; read them with io::load_state_dict");
  const std::string at = prefix + "attribute 'graph': ";
  const json j = parse_graph_json(*text, at);
  Graph graph;
  try {
    graph = speedup::graph_from_json(j);
  } catch (const ValueError& e) {
    throw IOError(at + e.what());
  }
  std::vector<std::string> order;
  const std::map<std::string, speedup::ModuleSpec> specs = read_module_specs(j, graph, at, order);
  check_nodes(graph, specs, at);

  // The datasets against the modules' tensors, before reading any data.
  std::vector<EntrySpec> expected, stored;
  for (const std::string& name : order)
    for (const EntrySpec& e : specs.at(name).entries) expected.push_back({name + "." + e.key, e.shape, e.dtype});
  for (const std::string& key : file.names()) stored.push_back(entry_spec(file, key, key));
  const StateDictDiff diff = diff_entries(expected, stored);
  if (!diff.empty())
    throw IOError(prefix + "expected the parameters and buffers of the graph's modules, got " + diff.message());

  std::map<std::string, nn::ModulePtr> modules;
  for (const std::string& name : order) {
    const speedup::ModuleSpec& spec = specs.at(name);
    StateDict values;  // read first: read_entry checks that the file backs each tensor
    for (const EntrySpec& e : spec.entries) values.insert(e.key, read_entry(file, name + "." + e.key));
    nn::ModulePtr module = spec.build();
    module->load_state_dict(values, /*strict=*/true);
    modules.emplace(name, std::move(module));
  }
  std::shared_ptr<speedup::GraphModule> model;
  try {
    model = std::make_shared<speedup::GraphModule>(std::move(graph), modules);
  } catch (const ValueError& e) {
    throw IOError(at + e.what());
  }
  model->eval();
  return model;
}

}  // namespace shrink::io
