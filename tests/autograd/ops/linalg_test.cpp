// Tests of autograd/ops/linalg.cpp: matmul and linear.
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/autograd/ops/nn_ops_testing.h"

namespace shrink {
namespace {

using testing::error_of;
using testing::gradchecks;
using testing::randn_leaf;

Tensor matmul2(const TensorList& in) { return matmul(in[0], in[1]); }

TEST(Matmul, MatchesTorchForEveryOperandLayout) {
  for (const char* c :
       {"matmul_2d", "matmul_batched", "matmul_batched_shared_right", "matmul_shared_left", "matmul_4d",
        "matmul_vec_left", "matmul_vec_right", "matmul_dot", "matmul_vec_left_batched", "matmul_batched_vec_right"})
    testing::expect_matches_torch(c, {"a", "b"}, matmul2);
}

TEST(Matmul, OutputShapesDropVectorDims) {
  EXPECT_EQ(matmul(zeros({4}), zeros({4})).shape(), Shape{});
  EXPECT_EQ(matmul(zeros({4}), zeros({4, 5})).shape(), (Shape{5}));
  EXPECT_EQ(matmul(zeros({3, 4}), zeros({4})).shape(), (Shape{3}));
  EXPECT_EQ(matmul(zeros({2, 3, 4}), zeros({4})).shape(), (Shape{2, 3}));
  EXPECT_EQ(matmul(zeros({4}), zeros({2, 4, 5})).shape(), (Shape{2, 5}));
  EXPECT_EQ(matmul(zeros({3, 4}), zeros({2, 4, 5})).shape(), (Shape{2, 3, 5}));
}

TEST(Matmul, GradcheckOnEveryLayout) {
  const std::vector<std::pair<Shape, Shape>> layouts = {
      {{3, 5}, {5, 2}}, {{2, 3, 4}, {2, 4, 3}}, {{2, 3, 4}, {4, 3}}, {{3, 4}, {2, 4, 3}}, {{2, 2, 2, 3}, {2, 2, 3, 2}},
      {{4}, {4, 3}},    {{3, 4}, {4}},          {{5}, {5}},          {{3}, {2, 3, 2}}};
  std::uint64_t seed = 10;
  for (const auto& [sa, sb] : layouts) {
    SCOPED_TRACE(shape_str(sa) + " x " + shape_str(sb));
    EXPECT_TRUE(gradchecks(matmul2, {randn_leaf(sa, seed), randn_leaf(sb, seed + 1)}));
    seed += 2;
  }
}

TEST(Matmul, GradientOnlyForInputsThatRequireIt) {
  Tensor a = randn_leaf({3, 4}, 1);
  Tensor b = randn({4, 2});
  matmul(a, b).sum().backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  EXPECT_TRUE(testing::tensors_close(a.grad(), matmul(ones({3, 2}), transpose(b, 0, 1)), 1e-6, 1e-6));
}

TEST(Matmul, EmptyDimsGiveEmptyOrZeroResults) {
  EXPECT_EQ(matmul(zeros({0, 3}), zeros({3, 4})).shape(), (Shape{0, 4}));
  Tensor a = randn_leaf({2, 0}, 1), b = randn_leaf({0, 3}, 2);
  Tensor out = matmul(a, b);
  EXPECT_TRUE(testing::tensors_identical(out, zeros({2, 3})));
  out.sum().backward();
  EXPECT_EQ(a.grad().shape(), (Shape{2, 0}));
  EXPECT_EQ(b.grad().shape(), (Shape{0, 3}));
}

TEST(Matmul, RecordsItsNode) {
  Tensor out = matmul(randn_leaf({2, 3}, 1), randn({3, 4}));
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "matmul");
  EXPECT_EQ(out.grad_fn()->input_shapes, (std::vector<Shape>{{2, 3}, {3, 4}}));
}

TEST(Matmul, ErrorsNameBothShapes) {
  EXPECT_EQ(error_of<ShapeError>([] {
              matmul(zeros({2, 3}), zeros({4, 5}));
            }),
            "matmul: expected a.shape[-1] == b.shape[-2], got [2, 3] and [4, 5]");
  EXPECT_EQ(error_of<ShapeError>([] {
              matmul(zeros({3}), zeros({4, 5}));
            }),
            "matmul: expected a.shape[0] == b.shape[-2], got [3] and [4, 5]");
  EXPECT_EQ(error_of<ShapeError>([] {
              matmul(zeros({2, 3}), zeros({4}));
            }),
            "matmul: expected a.shape[-1] == b.shape[0], got [2, 3] and [4]");
  EXPECT_EQ(error_of<ShapeError>([] {
              matmul(zeros({2, 3, 4}), zeros({5, 4, 6}));
            }),
            "matmul: expected equal batch dims, got [2, 3, 4] and [5, 4, 6]. Hint: batch dims must match exactly; "
            "only an operand without batch dims (1-D or 2-D) is shared across the batch");
  EXPECT_EQ(error_of<ShapeError>([] { matmul(scalar_tensor(1.0), zeros({2})); }),
            "matmul: expected operands with at least 1 dim, got [] and [2]");
  EXPECT_EQ(error_of<ValueError>([] {
              matmul(zeros({2, 2}, DType::Int64), zeros({2, 2}));
            }),
            "matmul: expected float32 tensors, got int64 and float32");
}

TEST(Matmul, ResultsDoNotDependOnTheThreadCount) {
  // One large GEMM (shared right operand), many small products (parallel over the batch) and a
  // shared left operand (gradient accumulated over the batch), forward and backward.
  const std::vector<std::pair<Shape, Shape>> layouts = {
      {{128, 784}, {784, 300}}, {{4, 32, 784}, {784, 40}}, {{1200, 8, 9}, {1200, 9, 7}}, {{8, 9}, {1200, 9, 7}}};
  for (const auto& [sa, sb] : layouts) {
    SCOPED_TRACE(shape_str(sa) + " x " + shape_str(sb));
    testing::expect_thread_count_invariant([&] {
      Tensor a = randn_leaf(sa, 3), b = randn_leaf(sb, 4);
      Tensor out = matmul(a, b);
      Generator gen(5);
      out.backward(randn(out.shape(), &gen));
      return TensorList{out, a.grad(), b.grad()};
    });
  }
}

Tensor linear3(const TensorList& in) { return linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor()); }

TEST(Linear, MatchesTorch) {
  testing::expect_matches_torch("linear_2d", {"x", "weight", "bias"}, linear3);
  testing::expect_matches_torch("linear_3d", {"x", "weight", "bias"}, linear3);
  testing::expect_matches_torch("linear_1d_no_bias", {"x", "weight"}, linear3);
}

TEST(Linear, GradcheckWithAndWithoutBiasAndLeadingDims) {
  EXPECT_TRUE(gradchecks(linear3, {randn_leaf({5, 4}, 1), randn_leaf({3, 4}, 2), randn_leaf({3}, 3)}));
  EXPECT_TRUE(gradchecks(linear3, {randn_leaf({2, 3, 4}, 4), randn_leaf({5, 4}, 5), randn_leaf({5}, 6)}));
  EXPECT_TRUE(gradchecks(linear3, {randn_leaf({2, 1, 3, 2}, 7), randn_leaf({3, 2}, 8)}));
  EXPECT_TRUE(gradchecks(linear3, {randn_leaf({4}, 9), randn_leaf({3, 4}, 10), randn_leaf({3}, 11)}));
}

TEST(Linear, EqualsMatmulWithTransposedWeightPlusBias) {
  Tensor x = randn({7, 6}), w = randn({5, 6}), b = randn({5});
  EXPECT_TENSOR_NEAR(linear(x, w, b), matmul(x, transpose(w, 0, 1)) + b, 1e-5, 1e-5);
}

TEST(Linear, BiasGradientIsTheColumnSumOverAllRows) {
  Tensor x = randn({2, 3, 4}), w = randn({5, 4});
  Tensor b = randn_leaf({5}, 1);
  Tensor out = linear(x, w, b);
  Generator gen(2);
  Tensor g = randn(out.shape(), &gen);
  out.backward(g);
  std::vector<float> expected(5, 0.0f);
  const auto gv = g.to_vector();
  for (std::size_t r = 0; r < 6; ++r)
    for (std::size_t j = 0; j < 5; ++j) expected[j] += gv[r * 5 + j];
  EXPECT_TENSOR_NEAR(b.grad(), from_vector(expected, {5}), 1e-5, 1e-5);
}

TEST(Linear, ZeroRowsGiveZeroWeightAndBiasGradients) {
  Tensor x = randn_leaf({0, 4}, 1), w = randn_leaf({3, 4}, 2), b = randn_leaf({3}, 3);
  Tensor out = linear(x, w, b);
  EXPECT_EQ(out.shape(), (Shape{0, 3}));
  out.sum().backward();
  EXPECT_TRUE(testing::tensors_identical(w.grad(), zeros({3, 4})));
  EXPECT_TRUE(testing::tensors_identical(b.grad(), zeros({3})));
}

TEST(Linear, RecordsFeaturesAndBiasAttributes) {
  Tensor out = linear(randn_leaf({2, 4}, 1), randn({3, 4}));
  ASSERT_TRUE(out.grad_fn());
  EXPECT_EQ(out.grad_fn()->op, "linear");
  EXPECT_EQ(out.grad_fn()->attr_int("in_features"), 4);
  EXPECT_EQ(out.grad_fn()->attr_int("out_features"), 3);
  EXPECT_EQ(std::get<bool>(*out.grad_fn()->attr("bias")), false);
}

TEST(Linear, ErrorsNameTheShapes) {
  EXPECT_EQ(error_of<ShapeError>([] {
              linear(zeros({2, 5}), zeros({3, 4}));
            }),
            "linear: expected input of shape [..., 4] (in_features of weight [3, 4]), got [2, 5]");
  EXPECT_EQ(error_of<ShapeError>([] {
              linear(zeros({2, 4, 2, 2}), zeros({3, 16}));
            }),
            "linear: expected input of shape [..., 16] (in_features of weight [3, 16]), got [2, 4, 2, 2]. "
            "Hint: flatten the input first (flatten(x, 1))");
  EXPECT_EQ(error_of<ShapeError>([] {
              linear(zeros({2, 4}), zeros({4}));
            }),
            "linear: expected weight of shape [out_features, in_features], got [4]");
  EXPECT_EQ(error_of<ShapeError>([] {
              linear(zeros({2, 4}), zeros({3, 4}), zeros({4}));
            }),
            "linear: expected bias of shape [3], got [4]");
  EXPECT_EQ(error_of<ShapeError>([] {
              linear(scalar_tensor(1.0), zeros({3, 4}));
            }),
            "linear: expected input of shape [..., 4], got []");
  EXPECT_EQ(error_of<ValueError>([] {
              linear(zeros({2, 4}, DType::Int64), zeros({3, 4}));
            }),
            "linear: expected float32 input, weight and bias, got int64, float32 and none");
}

TEST(Linear, ResultsDoNotDependOnTheThreadCount) {
  // The weight gradient is one GEMM whose reduction runs over all 300 rows; the bias gradient
  // a column sum over them.
  testing::expect_thread_count_invariant([] {
    Tensor x = randn_leaf({3, 100, 784}, 1), w = randn_leaf({120, 784}, 2, 0.05f), b = randn_leaf({120}, 3);
    Tensor out = linear(x, w, b);
    Generator gen(4);
    out.backward(randn(out.shape(), &gen));
    return TensorList{out, x.grad(), w.grad(), b.grad()};
  });
}

}  // namespace
}  // namespace shrink
