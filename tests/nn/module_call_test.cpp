// The call path of nn::Module (nn/module_call.cpp) and the LibTorch habits around it: scopes with
// call identity, hooks that return nothing, protected forward, typed registration, clone of
// user subclasses, named_modules with self, Sequential with lambdas.
#include <gtest/gtest.h>

#include <set>
#include <type_traits>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::nn {
namespace {

/// (op, scope, call id) of every node of the graph behind `y`.
struct Recorded {
  std::string op, scope;
  std::uint64_t call;
};
std::vector<Recorded> recorded(const Tensor& y) {
  std::vector<Recorded> out;
  std::set<const Node*> seen;
  std::vector<std::shared_ptr<Node>> stack{y.grad_fn()};
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    if (!n || !seen.insert(n.get()).second) continue;
    if (n->op != "AccumulateGrad") out.push_back({n->op, n->scope, n->scope_call});
    for (const auto& c : n->next) stack.push_back(c);
  }
  return out;
}

// One block called twice (weight sharing) and a block called by its sibling, not its parent.
class Shared : public Cloneable<Shared> {
 public:
  Shared() : Cloneable("Shared") {
    register_module("block", std::make_shared<Linear>(3, 3), &Shared::block);
    register_module("head", std::make_shared<Sequential>(Sequential{std::make_shared<Linear>(3, 2)}), &Shared::head);
  }
  std::shared_ptr<Linear> block;
  std::shared_ptr<Sequential> head;

 protected:
  Tensor forward(const Tensor& x) override { return (*head)((*block)((*block)(x))); }
};

TEST(ModuleCall, EveryCallGetsItsOwnIdAndTheRegisteredName) {
  Shared net;
  Tensor y = net(ones({1, 3}).requires_grad_());
  std::vector<Recorded> linears;
  for (const auto& r : recorded(y))
    if (r.op == "linear") linears.push_back(r);
  ASSERT_EQ(linears.size(), 3u);
  std::set<std::uint64_t> ids;
  std::multiset<std::string> names;
  for (const auto& r : linears) {
    ids.insert(r.call);
    names.insert(r.scope);
    EXPECT_NE(r.call, 0u);
  }
  EXPECT_EQ(ids.size(), 3u);  // two calls of `block` are told apart
  EXPECT_EQ(names, (std::multiset<std::string>{"block", "block", "head.0"}));
}

// `helper` belongs to `left` but `right`'s forward calls it through a pointer it was given.
class Borrower : public Cloneable<Borrower> {
 public:
  explicit Borrower(std::shared_ptr<Linear> borrowed = nullptr)
      : Cloneable("Borrower"), borrowed_(std::move(borrowed)) {}
  void lend(std::shared_ptr<Linear> l) { borrowed_ = std::move(l); }

 protected:
  Tensor forward(const Tensor& x) override { return borrowed_ ? (*borrowed_)(x) : x; }

 private:
  std::shared_ptr<Linear> borrowed_;
};

class Tree : public Cloneable<Tree> {
 public:
  Tree() : Cloneable("Tree") {
    auto left = register_module("left", std::make_shared<Sequential>());
    left->push_back(std::make_shared<Linear>(2, 2));
    auto right = register_module("right", std::make_shared<Borrower>());
    right->lend(std::dynamic_pointer_cast<Linear>((*left)[0]));
  }

 protected:
  Tensor forward(const Tensor& x) override { return (*child("right"))(x); }
};

TEST(ModuleCall, AModuleCalledByAnotherThanItsParentKeepsItsRegisteredName) {
  Tree tree;
  Tensor y = tree(ones({1, 2}).requires_grad_());
  const auto nodes = recorded(y);
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].scope, "left.0");  // not "right" nor "right.0"
}

TEST(ModuleCall, HooksMayReturnNothing) {
  Linear fc(2, 2);
  int pre_calls = 0, post_calls = 0;
  fc.register_forward_pre_hook([&](Module&, const Tensor&) { ++pre_calls; });
  fc.register_forward_hook([&](Module& m, const Tensor&, const Tensor& y) {
    EXPECT_EQ(m.type_name(), "Linear");
    EXPECT_EQ(y.shape(), (Shape{1, 2}));
    ++post_calls;
  });
  Tensor y = fc(ones({1, 2}));
  EXPECT_EQ(pre_calls, 1);
  EXPECT_EQ(post_calls, 1);
  EXPECT_EQ(y.shape(), (Shape{1, 2}));
}

class PublicForward : public Cloneable<PublicForward> {
 public:
  PublicForward() : Cloneable("PublicForward") {}
  Tensor forward(const Tensor& x) override { return x; }
};

TEST(ModuleCall, ForwardIsProtectedOnEveryLayerSoHooksCannotBeSkipped) {
  static_assert(!HasPublicForward<Module>);
  static_assert(!HasPublicForward<Linear>);
  static_assert(!HasPublicForward<Conv2d>);
  static_assert(!HasPublicForward<BatchNorm2d>);
  static_assert(!HasPublicForward<Sequential>);
  static_assert(!HasPublicForward<Functional>);
  // A class that re-declares forward public is detected (register_module refuses it at compile
  // time with a static_assert telling to make it protected).
  static_assert(HasPublicForward<PublicForward>);
  // Assigning to a temporary tensor (e.g. `fc.weight() = t`) does not compile.
  static_assert(!std::is_assignable_v<Tensor&&, const Tensor&>);
  static_assert(std::is_assignable_v<Tensor&, const Tensor&>);
}

TEST(ModuleCall, TwoArgumentRegisterModuleReturnsTheTypedPointer) {
  Sequential seq;
  std::shared_ptr<Conv2d> conv = seq.register_module("conv", std::make_shared<Conv2d>(1, 4, 3));
  EXPECT_EQ(conv->options().out_channels, 4);
  EXPECT_EQ(seq.child("conv"), conv);
}

TEST(ModuleCall, NamedModulesCanIncludeTheModuleItself) {
  Shared net;
  std::vector<std::string> names;
  for (const auto& [name, m] : net.named_modules(/*include_self=*/true)) names.push_back(name + ":" + m->type_name());
  EXPECT_EQ(names, (std::vector<std::string>{":Shared", "block:Linear", "head:Sequential", "head.0:Linear"}));
  EXPECT_EQ(net.named_modules().size(), 3u);
}

// A user subclass of a layer, done right and done wrong.
class ScaledLinear : public Cloneable<ScaledLinear, Linear> {
 public:
  ScaledLinear(std::int64_t in, std::int64_t out, float scale) : Cloneable(in, out), scale_(scale) {}
  float scale() const { return scale_; }

 protected:
  Tensor forward(const Tensor& x) override { return Linear::forward(x) * scale_; }

 private:
  float scale_;
};

class SlicedLinear : public Linear {
 public:
  SlicedLinear() : Linear(2, 2) {}
};

TEST(ModuleCall, CloneKeepsTheConcreteTypeOfUserSubclassesAndRefusesToSlice) {
  manual_seed(9);
  auto layer = std::make_shared<ScaledLinear>(3, 2, 0.5f);
  layer->register_parametrization(
      "weight", [](const Tensor& w) { return w * 2.0f; }, "twice");
  auto copy = std::dynamic_pointer_cast<ScaledLinear>(layer->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->scale(), 0.5f);
  EXPECT_EQ(copy->parametrization_kinds("weight"), (std::vector<std::string>{"twice"}));
  Tensor x = randn({4, 3});
  EXPECT_TENSOR_NEAR((*copy)(x), (*layer)(x));
  EXPECT_NE(copy->weight().impl(), layer->weight().impl());

  SlicedLinear sliced;
  const std::string message = testing::error_of<ValueError>([&] { sliced.clone(); });
  EXPECT_NE(message.find("clone: cannot copy a Linear of C++ type "), std::string::npos) << message;
  EXPECT_NE(message.find("Hint: derive it from nn::Cloneable<YourClass, BaseLayer> instead of BaseLayer"),
            std::string::npos)
      << message;
}

TEST(ModuleCall, SequentialTakesLambdasBesideModules) {
  manual_seed(10);
  auto fc = std::make_shared<Linear>(3, 3);
  Sequential seq{fc, [](const Tensor& x) { return relu(x); }, std::make_shared<Linear>(3, 1)};
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq[1]->type_name(), "Functional");
  Tensor x = randn({2, 3});
  EXPECT_TENSOR_NEAR(seq(x), (*seq[2])(relu((*fc)(x))));
  EXPECT_EQ(seq.to_string(),
            "Sequential(\n"
            "  (0): Linear(in_features=3, out_features=3, bias=True)\n"
            "  (1): Functional()\n"
            "  (2): Linear(in_features=3, out_features=1, bias=True)\n"
            ")");
  testing::expect_message<ValueError>([] { Functional f{Functional::Function()}; },
                                      "Functional: expected a callable, got an empty function");
}

}  // namespace
}  // namespace shrink::nn
