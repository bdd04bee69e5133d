#pragma once
/// \file
/// Node: one recorded operation of the autograd graph, and `record()`, the single function every
/// differentiable op (built-in or user-defined) uses to join the graph.
///
/// A Node keeps what backward needs (the closure and the edges to the inputs' nodes) and what
/// speedup's tracer reads (op name, attributes, input/output shapes, module scope).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/tensor.h"

namespace shrink {

/// Computes one gradient per input from the output's gradient (an undefined Tensor = none).
/// The engine reduces each returned gradient to its input's shape (broadcasting) and checks it.
using BackwardFn = std::function<TensorList(const Tensor& grad_output)>;

/// An attribute value of a Node (stride, padding, dims, flags, names).
using AttrValue = std::variant<std::int64_t, double, bool, std::string, std::vector<std::int64_t>>;
/// Ordered (name, value) attributes of a Node.
using Attributes = std::vector<std::pair<std::string, AttrValue>>;

class Node {
 public:
  Node() = default;
  ~Node();  // iterative: freeing a 100k-deep chain must not recurse
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Op name as passed to record() ("conv2d", "add", ...; "AccumulateGrad" for leaf sinks).
  std::string op;
  /// Op attributes (see each op in ops.h for the names it records).
  Attributes attrs;
  /// Dotted name of the module whose forward recorded this node ("" at top level).
  std::string scope;
  /// Id of the module call that recorded this node (0 at top level): nodes with the same
  /// scope but different ids come from different calls of one module.
  std::uint64_t scope_call = 0;
  std::vector<Shape> input_shapes;
  Shape output_shape;
  /// One entry per input: the node that receives that input's gradient, or null when the input
  /// needs no gradient.
  std::vector<std::shared_ptr<Node>> next;
  /// Monotonic creation number; the engine runs later nodes first.
  std::uint64_t sequence = 0;

  /// The attribute `name`, or null.
  const AttrValue* attr(std::string_view name) const;
  /// The integer / integer-list attribute `name`; throws InternalError if absent or mistyped.
  std::int64_t attr_int(std::string_view name) const;
  const std::vector<std::int64_t>& attr_ints(std::string_view name) const;

  /// True once backward ran without retain_graph and freed the saved tensors.
  bool released() const { return released_; }
  /// The leaf tensor this node accumulates into (only for AccumulateGrad nodes).
  std::shared_ptr<TensorImpl> leaf() const { return leaf_.lock(); }

 private:
  friend class Engine;
  friend Tensor record(std::string_view, Tensor, const TensorList&, BackwardFn, Attributes);
  friend std::shared_ptr<Node> gradient_edge(const Tensor& t);
  friend HookHandle add_node_hook(const std::shared_ptr<Node>&, GradHook);

  BackwardFn backward_;
  bool released_ = false;
  std::weak_ptr<TensorImpl> leaf_;
  /// Hooks registered on the tensor this node produced; they run on its gradient first.
  std::vector<std::pair<int, GradHook>> output_hooks_;
  int next_hook_id_ = 0;
};

/// Joins `out` to the graph as the result of `op` applied to `inputs`.
///
/// When grad mode is on and some input requires grad, a Node is created with the closure
/// `backward`, the edges to the inputs' nodes, `attrs`, the shapes and the current module scope,
/// and `out` becomes its non-leaf result (requires_grad, grad_fn set). Otherwise `out` is
/// returned untouched. The closure must capture only detached tensors.
Tensor record(std::string_view op, Tensor out, const TensorList& inputs, BackwardFn backward,
              Attributes attrs = {});

/// True when grad mode is on and one of `inputs` requires grad (i.e. record() would record).
bool any_requires_grad(const TensorList& inputs);

/// any_requires_grad without building a list: ops check it before record() so that inference
/// (nothing records) does not build a backward closure — which may copy a detached tensor or a
/// shape — an input list and attributes only for record() to drop them. At batch 1 those
/// allocations cost as much as a small op's arithmetic.
template <typename... Ts>
bool records(const Ts&... inputs) {
  return GradMode::is_enabled() && ((inputs.defined() && inputs.requires_grad()) || ...);
}

/// The node that receives `t`'s gradient: its grad_fn, or its AccumulateGrad node for a leaf
/// that requires grad, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

/// Runs backward from `roots` with the given output gradients (defined, same shapes).
void run_backward(const TensorList& roots, const TensorList& grad_outputs, bool retain_graph);

}  // namespace shrink
