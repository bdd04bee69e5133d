// The backward engine: ordering, accumulation, broadcast reduction, graph freeing, hooks, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/support/fixtures.h"

namespace shrink {
namespace {

Tensor vec(std::vector<float> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return from_vector(v, {n});
}

TEST(Engine, RecordsWhenGradModeIsOnAndAnyDefinedInputRequiresGrad) {
  const Tensor plain = vec({1}), leaf = vec({2}).requires_grad_(), undefined;
  EXPECT_FALSE(records(plain));
  EXPECT_FALSE(records(plain, undefined));
  EXPECT_TRUE(records(plain, leaf));
  EXPECT_TRUE(records(undefined, leaf));
  EXPECT_EQ(records(plain, leaf), any_requires_grad({plain, leaf}));
  NoGradGuard no_grad;
  EXPECT_FALSE(records(leaf));
  EXPECT_FALSE(any_requires_grad({leaf}));
}

TEST(Engine, OpsUnderNoGradLeaveTheirOutputsOutsideTheGraph) {
  const Tensor x = vec({-1, 2}).requires_grad_();
  NoGradGuard no_grad;
  for (const Tensor& y : {relu(x), x + x, x * 2.0f, flatten(x.reshape({1, 2}), 0, -1), sum(x)}) {
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
}

TEST(Engine, LeafUsedTwiceAccumulatesBothPaths) {
  Tensor x = vec({1, 2, 3}).requires_grad_();
  Tensor y = (x * x + x).sum();  // dy/dx = 2x + 1
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{3, 5, 7}));
}

TEST(Engine, DiamondGraphRunsEachNodeOnceAfterAllItsConsumers) {
  Tensor x = vec({2}).requires_grad_();
  Tensor a = x * 3.0f;
  Tensor b = a * a;       // 9x²
  Tensor c = a + b;       // 3x + 9x²
  Tensor d = c * a;       // (3x + 9x²)·3x = 9x² + 27x³
  d.sum().backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 18 * 2 + 81 * 4);  // 18x + 81x²
}

TEST(Engine, BroadcastGradientsAreReducedToTheInputShape) {
  Tensor a = ones({2, 3}).requires_grad_();
  Tensor b = vec({1, 2, 3}).requires_grad_();
  Tensor c = ones({2, 1}).requires_grad_();
  ((a + b) * c).sum().backward();
  EXPECT_EQ(b.grad().shape(), (Shape{3}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(c.grad().shape(), (Shape{2, 1}));
  EXPECT_EQ(c.grad().to_vector(), (std::vector<float>{9, 9}));
  EXPECT_EQ(a.grad().to_vector(), std::vector<float>(6, 1.0f));
}

TEST(Engine, LeafGradientsAccumulateAcrossBackwardCallsUntilZeroed) {
  Tensor x = vec({1, 1}).requires_grad_();
  (x * 2.0f).sum().backward();
  (x * 3.0f).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{5, 5}));
  x.zero_grad(/*set_to_none=*/false);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 0}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, LeafGradientNeverAliasesTheGradientPassedIn) {
  Tensor x = vec({1, 1}).requires_grad_();
  Tensor g = vec({4, 5});
  (x * 1.0f).backward(g);
  Tensor y = x + 0.0f;
  y.backward(g);  // add passes g through unchanged: the leaf must still copy it
  g.fill_(100);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{8, 10}));
}

TEST(Engine, HundredThousandOpChainRunsBackwardAndIsFreedWithoutStackOverflow) {
  Tensor x = vec({1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.00001f;
  y.backward();
  EXPECT_NEAR(x.grad().item(), std::pow(1.00001, 100000), 1e-2);
  y = Tensor();  // destroys the whole (released) chain
  // A chain that never ran backward is freed the same way.
  Tensor z = x;
  for (int i = 0; i < 100000; ++i) z = z + 1.0f;
  z = Tensor();
  SUCCEED();
}

TEST(Engine, SecondBackwardThroughAFreedGraphIsAStateError) {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward();
  try {
    y.backward();
    FAIL() << "expected StateError";
  } catch (const StateError& e) {
    EXPECT_STREQ(e.what(),
                 "backward: trying to backward through the graph a second time (through op 'sum'); its saved "
                 "tensors were freed by the previous backward. Hint: pass retain_graph=true to the first "
                 "backward() to backward twice");
  }
}

TEST(Engine, RetainGraphAllowsASecondBackward) {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor y = (x * x).sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{4, 8}));
}

TEST(Engine, BackwardOnATensorThatNeedsNoGradIsAStateError) {
  Tensor x = vec({1, 2});
  try {
    x.sum().backward();
    FAIL() << "expected StateError";
  } catch (const StateError& e) {
    EXPECT_STREQ(e.what(), "backward: expected a tensor that requires grad, got one that does not require grad "
                           "and has no grad_fn. Hint: set requires_grad_() on the inputs, and do not run the "
                           "forward under NoGradGuard");
  }
}

TEST(Engine, BackwardOfANonScalarNeedsAGradient) {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor y = x * 2.0f;
  try {
    y.backward();
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "backward: expected a one-element output when no gradient is given, got shape [2]. "
                           "Hint: reduce with sum()/mean() or pass a gradient of that shape");
  }
  try {
    y.backward(ones({3}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "backward: expected a gradient of shape [2], got [3]");
  }
  y.backward(vec({1, 10}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 20}));
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = vec({1, 2}).requires_grad_();
  {
    NoGradGuard guard;
    EXPECT_FALSE(GradMode::is_enabled());
    Tensor y = x * 2.0f;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    {
      EnableGradGuard enable;
      EXPECT_TRUE((x * 2.0f).requires_grad());
    }
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_TRUE((x * 2.0f).requires_grad());
}

TEST(Engine, HooksOnLeavesAndNonLeavesSeeAndReplaceGradients) {
  Tensor x = vec({1, 2}).requires_grad_();
  Tensor seen;
  HookHandle leaf_hook = x.register_hook([](const Tensor& g) { return g * 10.0f; });
  Tensor y = x * 3.0f;
  HookHandle observe = y.register_hook([&seen](const Tensor& g) {
    seen = g.clone();
    return Tensor();  // keep unchanged
  });
  HookHandle double_it = y.register_hook([](const Tensor& g) { return g * 2.0f; });
  y.sum().backward();
  EXPECT_EQ(seen.to_vector(), (std::vector<float>{1, 1}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{60, 60}));  // 1 ·2 (hook) ·3 (mul) ·10 (leaf hook)

  leaf_hook.remove();
  leaf_hook.remove();  // a second remove is harmless
  EXPECT_FALSE(leaf_hook.active());
  x.zero_grad();
  (x * 3.0f).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{3, 3}));
}

TEST(Engine, HookReturningAWrongShapeIsAShapeError) {
  Tensor x = vec({1, 2}).requires_grad_();
  x.register_hook([](const Tensor&) { return zeros({3}); });
  try {
    (x * 1.0f).sum().backward();
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "gradient hook: expected the returned gradient to have shape [2], got [3]");
  }
}

TEST(Engine, RegisterHookOnATensorWithoutGradIsAStateError) {
  Tensor x = vec({1});
  EXPECT_THROW(x.register_hook([](const Tensor& g) { return g; }), StateError);
}

TEST(Engine, NodesRecordOpAttributesShapesAndModuleScope) {
  Tensor a = ones({2, 3}).requires_grad_();
  Tensor b = ones({3});
  Tensor y;
  {
    ScopeGuard scope("features.0");
    y = a * 2.0f + b;
  }
  const auto& node = y.grad_fn();
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->op, "add");
  EXPECT_EQ(node->scope, "features.0");
  EXPECT_EQ(node->input_shapes, (std::vector<Shape>{{2, 3}, {3}}));
  EXPECT_EQ(node->output_shape, (Shape{2, 3}));
  ASSERT_EQ(node->next.size(), 2u);
  EXPECT_EQ(node->next[1], nullptr);  // b needs no gradient
  EXPECT_EQ(node->next[0]->op, "mul_scalar");
  EXPECT_DOUBLE_EQ(std::get<double>(*node->next[0]->attr("other")), 2.0);
  EXPECT_EQ(current_scope(), "");
}

// A user-defined op through record(): straight-through rounding, like fake quantisation.
Tensor round_ste(const Tensor& x) {
  Tensor out = empty_like(x);
  for (std::int64_t i = 0; i < x.numel(); ++i) out.data<float>()[i] = std::nearbyint(x.data<float>()[i]);
  return record("round_ste", out, {x}, [](const Tensor& g) { return TensorList{g}; }, {{"bits", std::int64_t{8}}});
}

TEST(Engine, UserDefinedOpsJoinTheGraphLikeBuiltIns) {
  Tensor x = vec({0.4f, 1.6f}).requires_grad_();
  Tensor y = round_ste(x) * x;
  EXPECT_EQ(y.grad_fn()->next[0]->attr_int("bits"), 8);
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0.4f + 0.0f, 1.6f + 2.0f}));
}

TEST(Engine, RecordRefusesAnOutputThatAlreadyHasAGraph) {
  Tensor x = vec({1}).requires_grad_();
  Tensor y = x * 2.0f;
  EXPECT_THROW(record("bad", y, {x}, [](const Tensor& g) { return TensorList{g}; }), InternalError);
}

TEST(Gradcheck, AcceptsCorrectGradientsAndReportsWrongOnes) {
  Tensor a = vec({0.5f, -1.0f, 2.0f}).requires_grad_();
  Tensor b = vec({1.5f, 0.25f, -0.75f}).requires_grad_();
  auto ok = gradcheck([](const TensorList& in) { return in[0] * in[1] + in[0] / (in[1] * in[1] + 1.0f); }, {a, b});
  EXPECT_TRUE(ok.ok) << ok.message;

  auto wrong_double = [](const TensorList& in) {
    const Tensor& x = in[0];
    Tensor out = x.detach() * 2.0f;
    return record("wrong", out, {x}, [](const Tensor& g) { return TensorList{g * 3.0f}; });
  };
  auto bad = gradcheck(wrong_double, {a});
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.message.find("gradcheck: input 0 (shape [3]) element 0: analytic "), std::string::npos) << bad.message;
}

}  // namespace
}  // namespace shrink
