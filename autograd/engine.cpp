// The backward engine: topological, iterative, with broadcast reduction and accumulation.
#include <queue>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/node.h"

namespace shrink {

class Engine {
 public:
  static void run(const TensorList& roots, const TensorList& grad_outputs, bool retain_graph);

 private:
  static Tensor apply_hooks(const std::vector<std::pair<int, GradHook>>& hooks, Tensor grad);
  static void accumulate_into_leaf(Node& node, Tensor grad);
};

Tensor Engine::apply_hooks(const std::vector<std::pair<int, GradHook>>& hooks, Tensor grad) {
  for (const auto& [id, hook] : hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) {
      SHRINK_CHECK_SHAPE(replaced.shape() == grad.shape(), "gradient hook: expected the returned gradient to have shape ",
                         shape_str(grad.shape()), ", got ", shape_str(replaced.shape()));
      grad = replaced;
    }
  }
  return grad;
}

void Engine::accumulate_into_leaf(Node& node, Tensor grad) {
  std::shared_ptr<TensorImpl> leaf = node.leaf();
  if (!leaf) return;  // the leaf tensor is gone: nobody can read its gradient
  grad = apply_hooks(leaf->hooks, std::move(grad));
  if (!leaf->grad.defined()) {
    // Take ownership when nobody else can see this buffer; otherwise keep a private copy so
    // later in-place accumulation never writes into another tensor.
    const bool exclusive = grad.impl_ptr().use_count() == 1 && grad.impl()->storage.use_count() == 1;
    leaf->grad = exclusive ? grad : grad.detach().clone();
  } else {
    leaf->grad.add_(grad);
  }
}

void Engine::run(const TensorList& roots, const TensorList& grad_outputs, bool retain_graph) {
  NoGradGuard no_grad;
  SHRINK_ASSERT(roots.size() == grad_outputs.size(), "run_backward: ", roots.size(), " roots but ",
                grad_outputs.size(), " gradients");

  // 1. Count, for every node reachable from the roots, how many edges point at it.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack;
  std::vector<std::shared_ptr<Node>> root_nodes;
  for (const auto& root : roots) {
    std::shared_ptr<Node> node = gradient_edge(root);
    SHRINK_ASSERT(node != nullptr, "run_backward: root without gradient edge");
    if (dependencies.emplace(node.get(), 0).second) stack.push_back(node.get());
    root_nodes.push_back(std::move(node));
  }
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& child : node->next) {
      if (!child) continue;
      auto [it, inserted] = dependencies.try_emplace(child.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(child.get());
    }
  }

  // 2. Seed the roots' gradients and run nodes whose dependencies are all satisfied, latest
  //    created first (the order PyTorch uses, which keeps memory low on long chains).
  std::unordered_map<Node*, Tensor> pending_grads;
  auto add_grad = [&](Node* node, const Tensor& g) {
    auto [it, inserted] = pending_grads.try_emplace(node, g);
    if (!inserted) it->second = kernels::add(it->second, g);
  };
  auto later_first = [](Node* a, Node* b) { return a->sequence < b->sequence; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later_first)> ready(later_first);
  for (std::size_t i = 0; i < roots.size(); ++i) add_grad(root_nodes[i].get(), grad_outputs[i]);
  for (const auto& node : root_nodes)
    if (dependencies[node.get()] == 0) {
      ready.push(node.get());
      dependencies[node.get()] = -1;  // queued
    }

  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Tensor grad;
    if (auto it = pending_grads.find(node); it != pending_grads.end()) {
      grad = std::move(it->second);
      pending_grads.erase(it);
    }
    if (grad.defined()) {
      grad = apply_hooks(node->output_hooks_, std::move(grad));
      if (node->op == "AccumulateGrad") {
        accumulate_into_leaf(*node, std::move(grad));
      } else {
        SHRINK_CHECK_STATE(!node->released_ && node->backward_,
                           "backward: trying to backward through the graph a second time (through op '", node->op,
                           "'); its saved tensors were freed by the previous backward. Hint: pass "
                           "retain_graph=true to the first backward() to backward twice");
        TensorList input_grads = node->backward_(grad);
        SHRINK_ASSERT(input_grads.size() == node->next.size(), "backward of '", node->op, "' returned ",
                      input_grads.size(), " gradients for ", node->next.size(), " inputs");
        for (std::size_t i = 0; i < input_grads.size(); ++i) {
          Tensor& gi = input_grads[i];
          if (!node->next[i] || !gi.defined()) continue;
          const Shape& want = node->input_shapes[i];
          if (gi.shape() != want) {
            SHRINK_ASSERT(kernels::broadcastable_to(want, gi.shape()), "backward of '", node->op,
                          "' returned a gradient of shape ", shape_str(gi.shape()), " for input ", i, " of shape ",
                          shape_str(want));
            gi = kernels::sum_to(gi, want);
          }
          add_grad(node->next[i].get(), gi);
        }
        if (!retain_graph) {
          node->backward_ = nullptr;
          node->released_ = true;
        }
      }
    }
    for (const auto& child : node->next) {
      if (!child) continue;
      int& deps = dependencies[child.get()];
      if (--deps == 0) {
        ready.push(child.get());
        deps = -1;
      }
    }
  }
}

void run_backward(const TensorList& roots, const TensorList& grad_outputs, bool retain_graph) {
  Engine::run(roots, grad_outputs, retain_graph);
}

}  // namespace shrink
