// trace: forward hooks on the leaf modules mark where each call starts and ends in the autograd
// graph; an iterative walk back from the output turns the rest into functional nodes.
#include "speedup/trace.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace shrink::speedup {
namespace {

/// One call of a leaf module, seen by the tracer's forward hook.
struct Call {
  std::string name;
  std::string type;
  std::shared_ptr<Node> in;   ///< the node that produced the call's input
  std::shared_ptr<Node> out;  ///< the node that produced its output
};

/// Puts every module back in the training mode it had, also when tracing throws.
class ModeRestorer {
 public:
  explicit ModeRestorer(nn::Module& model) {
    model.apply([this](const std::string&, nn::Module& m) { modes_.emplace_back(&m, m.is_training()); });
  }
  ~ModeRestorer() {
    // apply() visits parents first and train() recurses, so children are set after parents.
    for (auto& [m, on] : modes_) m->train(on);
  }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  std::vector<std::pair<nn::Module*, bool>> modes_;
};

std::string in_scope(const std::string& scope) { return scope.empty() ? "at top level" : "in module '" + scope + "'"; }

bool within(const std::string& scope, const std::string& module) {
  return scope == module || (scope.size() > module.size() && scope.compare(0, module.size(), module) == 0 &&
                             scope[module.size()] == '.');
}

/// The graph builder: autograd nodes in, Graph nodes out.
class Tracer {
 public:
  Tracer(nn::Module& model, std::shared_ptr<Node> input) : input_(std::move(input)) {
    for (const auto& [name, p] : model.named_parameters()) params_.emplace(p.impl(), name);
  }

  std::vector<Call> calls;

  /// Checks that the ops inside `call` read only its input, parameters and constants.
  void check_call_is_closed(const Call& call) const {
    std::vector<Node*> stack{call.out.get()};
    std::unordered_set<Node*> seen;
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      if (n == call.in.get() || !seen.insert(n).second) continue;
      if (n->op == "AccumulateGrad") {
        SHRINK_CHECK(n != input_.get(), "trace: leaf module '", call.name, "' (",
                     call.type, ") reads the model input besides its own input. ",
                     "Hint: a leaf module must compute its output from its one input, its parameters and buffers");
        continue;
      }
      SHRINK_CHECK(within(n->scope, call.name), "trace: leaf module '", call.name, "' (", call.type,
                   ") reads a tensor computed outside it (by op '", n->op, "' ", in_scope(n->scope),
                   ") besides its input. Hint: pass it as the input, or compose the module in its parent's forward");
      for (const auto& next : n->next)
        if (next) stack.push_back(next.get());
    }
  }

  Graph build(const std::shared_ptr<Node>& root) {
    for (std::size_t i = 0; i < calls.size(); ++i) by_output_.emplace(calls[i].out.get(), i);
    // Iterative post-order walk: a node is emitted once all its inputs are.
    std::vector<std::pair<Node*, bool>> stack{{root.get(), false}};
    while (!stack.empty()) {
      auto& [node, expanded] = stack.back();
      Node* n = node;
      if (index_.count(n)) {
        stack.pop_back();
        continue;
      }
      const std::vector<Node*> deps = dependencies(n);
      if (!expanded) {
        expanded = true;
        for (auto it = deps.rbegin(); it != deps.rend(); ++it)
          if (!index_.count(*it)) stack.emplace_back(*it, false);
        continue;
      }
      stack.pop_back();
      emit(n, deps);
    }
    return finish(root.get());
  }

 private:
  std::vector<Node*> dependencies(Node* n) const {
    if (n == input_.get()) return {};
    if (const auto it = by_output_.find(n); it != by_output_.end()) return {calls[it->second].in.get()};
    if (n->op == "AccumulateGrad") {
      const auto p = params_.find(n->leaf().get());
      SHRINK_CHECK(false, "trace: ", p != params_.end() ? "parameter '" + p->second + "'" : std::string("a leaf tensor"),
                   " is read outside a leaf module; speedup traces leaf modules (Conv2d, Linear, BatchNorm2d, ...) ",
                   "composed with functional ops. Hint: move the computation that reads it into a leaf module");
    }
    std::vector<Node*> deps;
    for (std::size_t i = 0; i < n->next.size(); ++i) {
      SHRINK_CHECK(n->next[i] != nullptr, "trace: op '", n->op, "' ", in_scope(n->scope), " takes input ", i,
                   " that does not depend on the model input (a constant tensor); a graph cannot hold it. ",
                   "Hint: register the tensor as a buffer of a leaf module that applies it");
      deps.push_back(n->next[i].get());
    }
    return deps;
  }

  void emit(Node* n, const std::vector<Node*>& deps) {
    GraphNode g;
    g.shape = n->output_shape;
    for (Node* d : deps) g.inputs.push_back(index_.at(d));
    if (n == input_.get()) {
      g.kind = NodeKind::Input;
      g.name = fresh_name("input");
    } else if (const auto it = by_output_.find(n); it != by_output_.end()) {
      const Call& call = calls[it->second];
      check_call_is_closed(call);
      g.kind = NodeKind::Module;
      g.target = call.name;
      g.module_type = call.type;
      const int count = ++module_calls_[call.name];
      g.name = count == 1 ? call.name : call.name + "#" + std::to_string(count);
    } else {
      for (const auto& [module, type] : leaf_scopes())
        SHRINK_CHECK(!within(n->scope, module), "trace: op '", n->op, "' inside leaf module '", module, "' (", type,
                     ") is used outside that module's call. Hint: a leaf module must return the only value ",
                     "computed inside it that others use");
      g.kind = NodeKind::Function;
      g.target = n->op;
      g.attrs = n->attrs;
      g.scope = n->scope;
      g.name = fresh_name(n->op);
    }
    index_.emplace(n, static_cast<int>(nodes_.size()));
    sequence_.push_back(n == input_.get() ? 0 : n->sequence);
    nodes_.push_back(std::move(g));
  }

  /// `base`, then "<base>_1", "<base>_2", ...: the first not yet given and not the name of a
  /// called leaf module (module nodes are named by their modules, which may be called "relu" or
  /// "input" too).
  std::string fresh_name(const std::string& base) {
    for (int& count = op_counts_[base];; ++count) {
      std::string name = count == 0 ? base : base + "_" + std::to_string(count);
      if (!leaf_scopes().count(name)) {
        ++count;
        return name;
      }
    }
  }

  const std::map<std::string, std::string>& leaf_scopes() {
    if (leaf_scopes_.empty())
      for (const Call& c : calls) leaf_scopes_.emplace(c.name, c.type);
    return leaf_scopes_;
  }

  /// Orders the nodes as they ran (creation order is a topological order) and remaps inputs.
  Graph finish(Node* root) {
    SHRINK_CHECK(index_.count(input_.get()), "trace: expected the model's output to depend on its input, got an output ",
                 "computed without it");
    std::vector<int> order(nodes_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(), [this](int a, int b) {
      const bool ia = nodes_[a].kind == NodeKind::Input, ib = nodes_[b].kind == NodeKind::Input;
      if (ia != ib) return ia;
      return sequence_[a] < sequence_[b];
    });
    std::vector<int> position(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int>(i);
    Graph graph;
    for (int old : order) {
      GraphNode g = std::move(nodes_[old]);
      for (int& in : g.inputs) in = position[in];
      graph.nodes.push_back(std::move(g));
    }
    graph.output = position[index_.at(root)];
    graph.validate();
    return graph;
  }

  std::shared_ptr<Node> input_;
  std::unordered_map<const TensorImpl*, std::string> params_;
  std::unordered_map<Node*, std::size_t> by_output_;
  std::unordered_map<Node*, int> index_;
  std::vector<GraphNode> nodes_;
  std::vector<std::uint64_t> sequence_;
  std::map<std::string, int> module_calls_;
  std::map<std::string, int> op_counts_;
  std::map<std::string, std::string> leaf_scopes_;
};

}  // namespace

Graph trace(nn::Module& model, const Tensor& example) {
  SHRINK_CHECK(example.defined() && example.dtype() == DType::Float32 && example.dim() >= 1,
               "trace: expected a float32 example input with a batch dim, got ",
               example.defined() ? std::string(dtype_name(example.dtype())) + " " + shape_str(example.shape())
                                 : std::string("an undefined tensor"));
  std::vector<std::pair<std::string, nn::Module*>> leaves;
  for (const auto& [name, m] : model.named_modules())
    if (m->named_children().empty()) leaves.emplace_back(name, m.get());
  SHRINK_CHECK(!leaves.empty(), "trace: expected a model with submodules, got a single ", model.type_name(),
               ". Hint: wrap it, e.g. in a Sequential");

  ModeRestorer modes(model);
  model.eval();
  EnableGradGuard grad_on;
  Tensor x = example.detach().clone();
  x.requires_grad_(true);
  Tracer tracer(model, gradient_edge(x));

  std::vector<HookHandle> hooks;
  struct HookRemover {
    std::vector<HookHandle>& hooks;
    ~HookRemover() {
      for (auto& h : hooks) h.remove();
    }
  } remover{hooks};
  for (const auto& [name, leaf] : leaves) {
    hooks.push_back(leaf->register_forward_hook(
        [&tracer, name = name](nn::Module& m, const Tensor& in, const Tensor& out) -> Tensor {
          std::shared_ptr<Node> in_node = gradient_edge(in);
          SHRINK_CHECK(in_node != nullptr, "trace: leaf module '", name, "' (", m.type_name(),
                       ") was called on a tensor that does not depend on the model input");
          Tensor result = out;
          if (gradient_edge(out) == in_node) {
            // The module passed its input through (Identity, Dropout in eval): give the call an
            // output node of its own so that it keeps its place in the graph.
            ScopeGuard scope(name, next_scope_call_id());
            result = record("identity", out.detach(), {out}, [](const Tensor& g) { return TensorList{g}; });
          }
          SHRINK_CHECK(gradient_edge(result) != nullptr, "trace: leaf module '", name, "' (", m.type_name(),
                       ") returned a tensor that does not depend on its input");
          tracer.calls.push_back({name, m.type_name(), std::move(in_node), gradient_edge(result)});
          return result;
        }));
  }
  Tensor out = model(x);
  std::shared_ptr<Node> root = gradient_edge(out);
  SHRINK_CHECK(root != nullptr, "trace: expected the model's output to depend on its input, got a constant output");
  return tracer.build(root);
}

}  // namespace shrink::speedup
