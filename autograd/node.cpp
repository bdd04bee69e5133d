#include "autograd/node.h"

#include <atomic>

#include "autograd/grad_mode.h"

namespace shrink {
namespace {
std::atomic<std::uint64_t> next_sequence{0};
}  // namespace

Node::~Node() {
  // Destroying the last reference to a long chain would recurse once per node through the
  // shared_ptr destructors. Instead, steal every child we are the last owner of and destroy
  // them from an explicit stack.
  std::vector<std::shared_ptr<Node>> pending;
  for (auto& n : next)
    if (n && n.use_count() == 1) pending.push_back(std::move(n));
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    for (auto& n : node->next)
      if (n && n.use_count() == 1) pending.push_back(std::move(n));
    // `node` is destroyed here with an already emptied child list.
  }
}

const AttrValue* Node::attr(std::string_view name) const {
  for (const auto& [key, value] : attrs)
    if (key == name) return &value;
  return nullptr;
}

std::int64_t Node::attr_int(std::string_view name) const {
  const AttrValue* v = attr(name);
  SHRINK_ASSERT(v && std::holds_alternative<std::int64_t>(*v), "node '", op, "' has no integer attribute '",
                name, "'");
  return std::get<std::int64_t>(*v);
}

const std::vector<std::int64_t>& Node::attr_ints(std::string_view name) const {
  const AttrValue* v = attr(name);
  SHRINK_ASSERT(v && std::holds_alternative<std::vector<std::int64_t>>(*v), "node '", op,
                "' has no integer-list attribute '", name, "'");
  return std::get<std::vector<std::int64_t>>(*v);
}

bool any_requires_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<Node>();
    acc->op = "AccumulateGrad";
    acc->leaf_ = t.impl_ptr();
    acc->output_shape = impl->shape;
    acc->sequence = next_sequence.fetch_add(1, std::memory_order_relaxed);
    impl->grad_accumulator = acc;
  }
  return acc;
}

Tensor record(std::string_view op, Tensor out, const TensorList& inputs, BackwardFn backward,
              Attributes attrs) {
  if (!any_requires_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->attrs = std::move(attrs);
  node->scope = current_scope();
  node->scope_call = current_scope_call();
  node->input_shapes.reserve(inputs.size());
  node->next.reserve(inputs.size());
  for (const auto& t : inputs) {
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->next.push_back(gradient_edge(t));
  }
  node->output_shape = out.shape();
  node->backward_ = std::move(backward);
  node->sequence = next_sequence.fetch_add(1, std::memory_order_relaxed);
  // `out` may alias an input's storage (reshape); it still gets its own impl and graph.
  TensorImpl* impl = out.impl();
  SHRINK_ASSERT(!impl->grad_fn && !impl->requires_grad, "record('", op,
                "'): the output must be a fresh tensor without graph");
  impl->grad_fn = std::move(node);
  impl->requires_grad = true;
  return out;
}

HookHandle add_node_hook(const std::shared_ptr<Node>& node, GradHook hook) {
  const int id = node->next_hook_id_++;
  node->output_hooks_.emplace_back(id, std::move(hook));
  std::weak_ptr<Node> weak = node;
  return HookHandle([weak, id] {
    if (auto n = weak.lock()) std::erase_if(n->output_hooks_, [id](const auto& h) { return h.first == id; });
  });
}

}  // namespace shrink
