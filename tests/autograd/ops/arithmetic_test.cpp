// Arithmetic ops (autograd/ops/arithmetic.cpp): add, sub, mul, div (tensor and scalar forms), neg,
// reciprocal, pow (scalar and tensor exponent) and the Tensor operators built on them.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/generator.h"
#include "autograd/node.h"
#include "tests/autograd/ops/elementwise_testing.h"

namespace shrink {
namespace {

using testing::expect_matches_torch;
using testing::gradchecks;
using testing::leaf;

Tensor random_leaf(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, &gen);
  t.requires_grad_();
  return t;
}

// Values in ±[0.5, 1.5] with alternating signs: safe divisors.
Tensor away_from_zero_leaf(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = rand(shape, &gen);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = (p[i] + 0.5f) * (i % 2 ? -1.0f : 1.0f);
  t.requires_grad_();
  return t;
}

// Values in [0.5, 2.0]: safe bases of non-integer powers.
Tensor positive_leaf(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  Tensor t = rand(shape, &gen);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = 0.5f + 1.5f * p[i];
  t.requires_grad_();
  return t;
}

// ---- forward and gradients against PyTorch ----------------------------------------------------

TEST(Arithmetic, AddBroadcasts3x1x4With2x4AndReducesGradientsLikeTorch) {
  expect_matches_torch("add_broadcast_3x1x4_2x4", {"a", "b"}, [](const TensorList& x) { return add(x[0], x[1]); });
  Tensor out = add(testing::elementwise_input("add_broadcast_3x1x4_2x4", "a"),
                   testing::elementwise_input("add_broadcast_3x1x4_2x4", "b"));
  EXPECT_EQ(out.shape(), (Shape{3, 2, 4}));
}

TEST(Arithmetic, SubBroadcasts5With2x3x5LikeTorch) {
  expect_matches_torch("sub_broadcast_5_2x3x5", {"a", "b"}, [](const TensorList& x) { return sub(x[0], x[1]); });
}

TEST(Arithmetic, MulOfZeroDimTensorAnd2x3SumsTheScalarGradientLikeTorch) {
  expect_matches_torch("mul_scalar_tensor_2x3", {"a", "b"}, [](const TensorList& x) { return mul(x[0], x[1]); });
}

TEST(Arithmetic, MulBroadcasts4x1With1x3LikeTorch) {
  expect_matches_torch("mul_broadcast_4x1_1x3", {"a", "b"}, [](const TensorList& x) { return mul(x[0], x[1]); });
}

TEST(Arithmetic, DivBroadcastsLikeTorch) {
  expect_matches_torch("div_broadcast_2x3_3", {"a", "b"}, [](const TensorList& x) { return div(x[0], x[1]); });
}

TEST(Arithmetic, ScalarFormsMatchTorch) {
  expect_matches_torch("add_scalar", {"a"}, [](const TensorList& x) { return add(x[0], 1.5f); });
  expect_matches_torch("sub_scalar", {"a"}, [](const TensorList& x) { return sub(x[0], 0.75f); });
  expect_matches_torch("mul_scalar", {"a"}, [](const TensorList& x) { return mul(x[0], -2.5f); });
  expect_matches_torch("div_scalar", {"a"}, [](const TensorList& x) { return div(x[0], 3.0f); });
}

TEST(Arithmetic, NegAndReciprocalMatchTorch) {
  expect_matches_torch("neg", {"x"}, [](const TensorList& x) { return neg(x[0]); });
  expect_matches_torch("reciprocal", {"x"}, [](const TensorList& x) { return reciprocal(x[0]); });
}

TEST(Arithmetic, PowWithScalarExponentMatchesTorch) {
  expect_matches_torch("pow_scalar_2", {"x"}, [](const TensorList& x) { return pow(x[0], 2.0f); });
  expect_matches_torch("pow_scalar_3", {"x"}, [](const TensorList& x) { return pow(x[0], 3.0f); });
  expect_matches_torch("pow_scalar_0_5", {"x"}, [](const TensorList& x) { return pow(x[0], 0.5f); });
  expect_matches_torch("pow_scalar_m1_5", {"x"}, [](const TensorList& x) { return pow(x[0], -1.5f); });
}

TEST(Arithmetic, PowWithZeroExponentHasZeroGradientEvenAtZeroLikeTorch) {
  expect_matches_torch("pow_scalar_0_with_zero", {"x"}, [](const TensorList& x) { return pow(x[0], 0.0f); });
}

TEST(Arithmetic, PowWithTensorExponentOnPositiveBasesMatchesTorch) {
  expect_matches_torch("pow_tensor_positive_base", {"a", "b"}, [](const TensorList& x) { return pow(x[0], x[1]); });
}

TEST(Arithmetic, PowWithTensorExponentUsesTorchsZeroGradientRulesAtZeroBase) {
  // d/da = 0 where b == 0; d/db = 0 where a == 0 and b >= 0 (instead of 0·inf = NaN).
  expect_matches_torch("pow_tensor_zero_base", {"a", "b"}, [](const TensorList& x) { return pow(x[0], x[1]); });
}

TEST(Arithmetic, PowOfZeroToNegativeExponentGivesInfiniteGradientsLikeTorch) {
  Tensor a = leaf({0.0f}, {1}), b = leaf({-1.0f}, {1});
  Tensor out = pow(a, b);
  EXPECT_EQ(out.item(), std::numeric_limits<float>::infinity());
  out.backward(ones({1}));
  EXPECT_EQ(a.grad().item(), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(b.grad().item(), -std::numeric_limits<float>::infinity());
}

// ---- operators ----------------------------------------------------------------------------------

TEST(Arithmetic, OperatorsComputeExactlyWhatTheFreeFunctionsCompute) {
  Tensor a = random_leaf({2, 3}, 1), b = away_from_zero_leaf({3}, 2);
  EXPECT_TRUE(testing::tensors_identical(a + b, add(a, b)));
  EXPECT_TRUE(testing::tensors_identical(a - b, sub(a, b)));
  EXPECT_TRUE(testing::tensors_identical(a * b, mul(a, b)));
  EXPECT_TRUE(testing::tensors_identical(a / b, div(a, b)));
  EXPECT_TRUE(testing::tensors_identical(a + 2.0f, add(a, 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(a - 2.0f, sub(a, 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(a * 2.0f, mul(a, 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(a / 2.0f, div(a, 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(2.0f + a, add(a, 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(2.0f * a, mul(a, 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(-a, neg(a)));
  EXPECT_TRUE(testing::tensors_identical(2.0f - a, add(neg(a), 2.0f)));
  EXPECT_TRUE(testing::tensors_identical(2.0f / b, mul(reciprocal(b), 2.0f)));
  EXPECT_EQ((a + b).grad_fn()->op, "add");
  EXPECT_EQ((a / b).grad_fn()->op, "div");
  EXPECT_EQ((-a).grad_fn()->op, "neg");
  EXPECT_EQ((a * 2.0f).grad_fn()->op, "mul_scalar");
}

TEST(Arithmetic, ScalarOnTheLeftOperatorsHaveTheRightValuesAndGradients) {
  Tensor x = leaf({1.0f, 2.0f, 4.0f}, {3});
  Tensor y = (3.0f - x) + (8.0f / x);  // 3 - x + 8/x; d/dx = -1 - 8/x²
  EXPECT_EQ(y.to_vector(), (std::vector<float>{10.0f, 5.0f, 1.0f}));
  y.backward(ones({3}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{-9.0f, -3.0f, -1.5f}));
}

// ---- gradcheck ----------------------------------------------------------------------------------

TEST(Arithmetic, BinaryOpsGradcheckOverBroadcastingShapes) {
  const std::vector<std::pair<Shape, Shape>> shapes = {{{3, 1, 4}, {2, 4}}, {{5}, {2, 3, 5}}, {{}, {2, 3}},
                                                       {{2, 1}, {1, 3}},    {{3, 5}, {3, 5}}, {{2, 3}, {}}};
  std::uint64_t seed = 10;
  for (const auto& [sa, sb] : shapes) {
    SCOPED_TRACE(shape_str(sa) + " with " + shape_str(sb));
    Tensor a = random_leaf(sa, seed++), b = random_leaf(sb, seed++), d = away_from_zero_leaf(sb, seed++);
    EXPECT_TRUE(gradchecks([](const TensorList& x) { return add(x[0], x[1]); }, {a, b}));
    EXPECT_TRUE(gradchecks([](const TensorList& x) { return sub(x[0], x[1]); }, {a, b}));
    EXPECT_TRUE(gradchecks([](const TensorList& x) { return mul(x[0], x[1]); }, {a, b}));
    EXPECT_TRUE(gradchecks([](const TensorList& x) { return div(x[0], x[1]); }, {a, d}));
  }
}

TEST(Arithmetic, ScalarFormsNegAndReciprocalGradcheck) {
  Tensor a = random_leaf({3, 5}, 30), d = away_from_zero_leaf({7}, 31);
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return add(x[0], 0.3f); }, {a}));
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return sub(x[0], -1.2f); }, {a}));
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return mul(x[0], -1.7f); }, {a}));
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return div(x[0], 0.6f); }, {a}));
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return neg(x[0]); }, {a}));
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return reciprocal(x[0]); }, {d}));
  EXPECT_TRUE(gradchecks([](const TensorList& x) { return 2.0f / x[0] - 1.0f * x[0]; }, {d}));
}

TEST(Arithmetic, PowGradchecksForScalarAndTensorExponents) {
  Tensor x = positive_leaf({2, 3}, 40), any = random_leaf({5}, 41);
  for (float p : {2.0f, 3.0f, 0.5f, -1.5f, 1.0f})
    EXPECT_TRUE(gradchecks([p](const TensorList& t) { return pow(t[0], p); }, {x})) << "p = " << p;
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return pow(t[0], 3.0f); }, {any}));
  Tensor base = positive_leaf({2, 1, 3}, 42), exponent = random_leaf({4, 1}, 43);
  EXPECT_TRUE(gradchecks([](const TensorList& t) { return pow(t[0], t[1]); }, {base, exponent}));
}

// ---- which inputs get gradients; attributes -----------------------------------------------------

TEST(Arithmetic, OnlyInputsThatRequireGradReceiveGradients) {
  Tensor a = leaf({1, 2}, {2});
  Tensor b = from_vector(std::vector<float>{3, 4}, {2});
  (mul(a, b) + div(a, b) + pow(a, b)).sum().backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  Tensor c = from_vector(std::vector<float>{2, 2}, {2});
  Tensor e = leaf({1, 3}, {2});
  pow(c, e).sum().backward();  // d/de = 2^e·ln 2
  EXPECT_NEAR(e.grad().at({0}), 2 * std::log(2.0), 1e-6);
  EXPECT_NEAR(e.grad().at({1}), 8 * std::log(2.0), 1e-5);
}

TEST(Arithmetic, NodesRecordOpNamesAndScalarAttributes) {
  Tensor a = leaf({1, 2}, {2});
  Tensor s = add(a, 1.5f);
  EXPECT_EQ(s.grad_fn()->op, "add_scalar");
  ASSERT_NE(s.grad_fn()->attr("other"), nullptr);
  EXPECT_EQ(std::get<double>(*s.grad_fn()->attr("other")), 1.5);
  Tensor p = pow(a, 3.0f);
  EXPECT_EQ(p.grad_fn()->op, "pow_scalar");
  EXPECT_EQ(std::get<double>(*p.grad_fn()->attr("exponent")), 3.0);
  EXPECT_EQ(sub(a, 2.0f).grad_fn()->op, "sub_scalar");
  EXPECT_EQ(div(a, 2.0f).grad_fn()->op, "div_scalar");
  EXPECT_EQ(pow(a, a).grad_fn()->op, "pow");
  EXPECT_EQ(reciprocal(a).grad_fn()->op, "reciprocal");
  EXPECT_EQ(add(a, a).grad_fn()->input_shapes, (std::vector<Shape>{{2}, {2}}));
}

TEST(Arithmetic, EmptyTensorsBroadcastToEmptyResults) {
  Tensor a = zeros({0, 3}), b = ones({3});
  EXPECT_EQ(add(a, b).shape(), (Shape{0, 3}));
  EXPECT_EQ(mul(b, zeros({2, 0, 1})).shape(), (Shape{2, 0, 3}));
  EXPECT_EQ(neg(a).shape(), (Shape{0, 3}));
}

// ---- errors -------------------------------------------------------------------------------------

TEST(Arithmetic, IncompatibleShapesThrowShapeErrorNamingTheOpAndBothShapes) {
  Tensor a = zeros({3, 2}), b = zeros({4});
  try {
    add(a, b);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "add: expected broadcastable shapes, got [3, 2] and [4] (dim 1 of the result: 2 vs 4; "
                 "sizes must be equal or 1)");
  }
  try {
    mul(zeros({2, 3, 4}), zeros({5, 1}));
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "mul: expected broadcastable shapes, got [2, 3, 4] and [5, 1] (dim 1 of the result: 3 "
                 "vs 5; sizes must be equal or 1)");
  }
  EXPECT_THROW(sub(a, b), ShapeError);
  EXPECT_THROW(div(a, b), ShapeError);
  EXPECT_THROW(pow(a, b), ShapeError);
  EXPECT_THROW(a + b, ShapeError);
}

TEST(Arithmetic, NonFloatInputsThrowValueErrorNamingTheOp) {
  Tensor i = arange(3, DType::Int64), f = ones({3});
  try {
    add(i, f);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "add: expected float32 tensors, got int64 and float32");
  }
  try {
    mul(i, 2.0f);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "mul: expected a float32 tensor, got int64");
  }
  try {
    neg(from_vector(std::vector<std::uint8_t>{1, 0}, {2}));
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "neg: expected a float32 tensor, got uint8");
  }
  try {
    pow(f, i);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "pow: expected float32 tensors, got float32 and int64");
  }
  EXPECT_THROW(add(i, 1.0f), ValueError);
  EXPECT_THROW(sub(i, 1.0f), ValueError);
  EXPECT_THROW(div(i, 1.0f), ValueError);
  EXPECT_THROW(reciprocal(i), ValueError);
  EXPECT_THROW(pow(i, 2.0f), ValueError);
}

// ---- determinism --------------------------------------------------------------------------------

TEST(Arithmetic, LargeBroadcastingOpsAndTheirGradientsDoNotDependOnTheThreadCount) {
  Generator gen(5);
  const Tensor a0 = randn({300, 501}, &gen), b0 = randn({501}, &gen), c0 = randn({300, 1}, &gen);
  const Tensor g = randn({300, 501}, &gen);
  testing::expect_thread_count_invariant([&] {
    Tensor a = a0.clone(), b = b0.clone(), c = c0.clone();
    a.requires_grad_();
    b.requires_grad_();
    c.requires_grad_();
    Tensor y = pow(a * a + 1.0f, b) * c - a / (c * c + 1.0f) + reciprocal(c) - pow(a, 3.0f);
    y.backward(g);
    return TensorList{y, a.grad(), b.grad(), c.grad()};
  });
}

}  // namespace
}  // namespace shrink
