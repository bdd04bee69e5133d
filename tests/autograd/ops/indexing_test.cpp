// Tests of autograd/ops/indexing.cpp: index_select, where, masked_fill.
#include <gtest/gtest.h>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/autograd/ops/reduce_shape_testing.h"

namespace shrink {
namespace {

using testing::error_of;
using testing::expect_matches_torch;
using testing::gradchecks;
using testing::normal_leaf;
using testing::rs_input;
using testing::rs_output;

Tensor index(const std::vector<std::int64_t>& v) { return from_vector(v, {static_cast<std::int64_t>(v.size())}); }

// ---- index_select ----------------------------------------------------------------------------

TEST(Indexing, IndexSelectMatchesPyTorchWithRepeatedIndices) {
  expect_matches_torch("index_select_dim1", {"x"}, [](const TensorList& in) { return index_select(in[0], 1, in[1]); },
                       {"index"});
  expect_matches_torch("index_select_dim0", {"x"}, [](const TensorList& in) { return index_select(in[0], 0, in[1]); },
                       {"index"});
  expect_matches_torch("index_select_last", {"x"}, [](const TensorList& in) { return index_select(in[0], -1, in[1]); },
                       {"index"});
}

TEST(Indexing, IndexSelectShapesDtypesAndAttributes) {
  Tensor x = normal_leaf({2, 3, 4});
  EXPECT_EQ(index_select(x, 1, scalar_tensor(2, DType::Int64)).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(index_select(x, 2, index({})).shape(), (Shape{2, 3, 0}));
  Tensor y = index_select(x, -2, index({0, 2}));
  EXPECT_EQ(y.grad_fn()->op, "index_select");
  EXPECT_EQ(y.grad_fn()->attr_int("dim"), 1);
  Tensor labels = from_vector(std::vector<std::int64_t>{5, 6, 7}, {3});
  EXPECT_EQ(index_select(labels, 0, index({2, 0})).to_vector(), (std::vector<float>{7, 5}));
  EXPECT_EQ(index_select(labels, 0, index({2, 0})).dtype(), DType::Int64);
}

TEST(Indexing, IndexSelectGradcheck) {
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return index_select(in[0], 1, index({2, 0, 2, 2})); },
                         {normal_leaf({2, 3, 4})}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return index_select(in[0], 0, index({1, 1, 0})); },
                         {normal_leaf({3, 5})}));
}

TEST(Indexing, IndexSelectKeepsItsOwnCopyOfTheIndex) {
  Tensor x = normal_leaf({4});
  Tensor idx = index({0, 1});
  Tensor y = index_select(x, 0, idx);
  idx.data<std::int64_t>()[0] = 3;  // changed after the forward: backward must not see it
  y.backward(ones({2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{1, 1, 0, 0}));
}

TEST(Indexing, IndexSelectErrorsArePinned) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(error_of<IndexError>([&] { index_select(x, 1, index({0, 3})); }),
            "index_select: expected indices in [0, 3) for dim 1 of shape [2, 3, 4], got 3 at position 1");
  EXPECT_EQ(error_of<IndexError>([&] { index_select(x, 1, index({-1})); }),
            "index_select: expected indices in [0, 3) for dim 1 of shape [2, 3, 4], got -1 at position 0");
  EXPECT_EQ(error_of<ValueError>([&] { index_select(x, 0, zeros({1})); }),
            "index_select: expected an int64 index tensor, got float32");
  EXPECT_EQ(error_of<ShapeError>([&] { index_select(x, 0, zeros({1, 1}, DType::Int64)); }),
            "index_select: expected a 1-D index tensor, got shape [1, 1]");
  EXPECT_EQ(error_of<ShapeError>([&] { index_select(scalar_tensor(1.0), 0, index({0})); }),
            "index_select: expected a tensor with at least one dim, got shape []. Hint: unsqueeze(x, 0) first");
  EXPECT_EQ(error_of<IndexError>([&] { index_select(x, 3, index({0})); }),
            "index_select: expected dim in range [-3, 2], got 3");
}

TEST(Indexing, IndexSelectBackwardIsDeterministicWithManyRepeats) {
  Generator g(8);
  // a: many (row, column block) tasks; b: dim 0 of a wide tensor, split into column blocks.
  const Tensor rows = randint(0, 50, {600}, &g), cols = randint(0, 300, {5000}, &g);
  const Tensor a = randn({64, 300}, &g), b = randn({50, 2100}, &g);
  auto grads = [&] {
    Tensor xa = a.detach(), xb = b.detach();
    xa.requires_grad_();
    xb.requires_grad_();
    Generator gg(9);
    index_select(xa, 1, cols).backward(randn({64, 5000}, &gg));
    index_select(xb, 0, rows).backward(randn({600, 2100}, &gg));
    return TensorList{xa.grad(), xb.grad()};
  };
  testing::expect_thread_count_invariant(grads);
  // The scatter-add counts every repeat: summing the gradient of out = x[idx] with ones gives
  // the number of times each index occurs.
  Tensor x = normal_leaf({50});
  index_select(x, 0, rows).backward(ones({600}));
  std::vector<float> counts(50, 0);
  for (float r : rows.to_vector()) counts[static_cast<std::size_t>(r)] += 1;
  EXPECT_EQ(x.grad().to_vector(), counts);
}

// ---- where -----------------------------------------------------------------------------------

TEST(Indexing, WhereMatchesPyTorchWithBroadcasting) {
  expect_matches_torch("where_broadcast", {"a", "b"}, [](const TensorList& in) { return where(in[2], in[0], in[1]); },
                       {"cond"});
  expect_matches_torch("where_float_cond", {"a", "b"}, [](const TensorList& in) { return where(in[2], in[0], in[1]); },
                       {"cond"});
}

TEST(Indexing, WhereGradcheck) {
  Tensor cond = from_vector(std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0}, {2, 3});
  EXPECT_TRUE(gradchecks([&](const TensorList& in) { return where(cond, in[0], in[1]); },
                         {normal_leaf({2, 3}, 1), normal_leaf({3}, 2)}));
  Tensor fcond = from_vector(std::vector<float>{0.5f, 0, -2}, {3, 1});
  EXPECT_TRUE(gradchecks([&](const TensorList& in) { return where(fcond, in[0], in[1]); },
                         {normal_leaf({1, 4}, 3), normal_leaf({3, 4}, 4)}));
  Tensor y = where(cond, normal_leaf({2, 3}), zeros({2, 3}));
  EXPECT_EQ(y.grad_fn()->op, "where");
}

TEST(Indexing, WhereErrorsArePinned) {
  Tensor a = zeros({2, 3});
  EXPECT_EQ(error_of<ValueError>([&] { where(zeros({2, 3}, DType::Int64), a, a); }),
            "where: expected cond of dtype uint8 or float32, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { where(a, zeros({2, 3}, DType::Int64), a); }),
            "where: expected float32 tensors a and b, got int64 and float32");
  EXPECT_EQ(error_of<ShapeError>([&] { where(zeros({4}, DType::UInt8), a, a); }),
            "where: expected broadcastable shapes, got [4] and [2, 3] (dim 1 of the result: 4 vs 3; sizes must be "
            "equal or 1)");
  EXPECT_EQ(error_of<ShapeError>([&] { where(a, a, zeros({3, 3})); }),
            "where: expected broadcastable shapes, got [2, 3] and [3, 3] (dim 0 of the result: 2 vs 3; sizes must be "
            "equal or 1)");
}

// ---- masked_fill -----------------------------------------------------------------------------

TEST(Indexing, MaskedFillMatchesPyTorchAndZeroesFilledGradients) {
  expect_matches_torch("masked_fill", {"x"}, [](const TensorList& in) { return masked_fill(in[0], in[1], -2.5f); },
                       {"mask"});
  Tensor x = normal_leaf({2, 3});
  Tensor fmask = from_vector(std::vector<float>{0, 1, 0, 3, 0, 0}, {2, 3});
  Tensor y = masked_fill(x, fmask, 7.0f);
  EXPECT_EQ(y.at({0, 1}), 7.0);
  EXPECT_EQ(y.at({1, 0}), 7.0);
  EXPECT_EQ(y.at({1, 2}), x.at({1, 2}));
  EXPECT_EQ(y.grad_fn()->op, "masked_fill");
  EXPECT_EQ(std::get<double>(*y.grad_fn()->attr("value")), 7.0);
  y.backward(ones({2, 3}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{1, 0, 1, 0, 1, 1}));
  EXPECT_TRUE(gradchecks([&](const TensorList& in) { return masked_fill(in[0], from_vector(std::vector<std::uint8_t>{1, 0}, {2, 1}), 1.0f); },
                         {normal_leaf({2, 3})}));
}

TEST(Indexing, MaskedFillErrorsArePinned) {
  Tensor x = zeros({2, 3});
  EXPECT_EQ(error_of<ShapeError>([&] { masked_fill(x, zeros({4}, DType::UInt8), 0.0f); }),
            "masked_fill: expected a mask that broadcasts to the input shape [2, 3], got mask shape [4]");
  EXPECT_EQ(error_of<ShapeError>([&] { masked_fill(x, zeros({2, 2, 3}, DType::UInt8), 0.0f); }),
            "masked_fill: expected a mask that broadcasts to the input shape [2, 3], got mask shape [2, 2, 3]");
  EXPECT_EQ(error_of<ValueError>([&] { masked_fill(x, zeros({3}, DType::Int64), 0.0f); }),
            "masked_fill: expected a mask of dtype uint8 or float32, got int64");
  EXPECT_EQ(error_of<ValueError>([&] { masked_fill(zeros({3}, DType::Int64), zeros({3}), 0.0f); }),
            "masked_fill: expected a float32 tensor, got int64");
}

TEST(Indexing, LargeSelectsDoNotDependOnThreadCount) {
  Generator g(6);
  const Tensor a = randn({300, 400}, &g), b = randn({400}, &g), c = randn({300, 1}, &g);
  const Tensor rows = randint(0, 300, {500}, &g);
  testing::expect_thread_count_invariant([&] {
    Tensor xa = a.detach(), xb = b.detach();
    xa.requires_grad_();
    xb.requires_grad_();
    Tensor y = where(c, xa, xb) + masked_fill(xa, c, 0.5f);
    y.backward(ones_like(y));
    return TensorList{y, xa.grad(), xb.grad(), index_select(a, 0, rows)};
  });
}

}  // namespace
}  // namespace shrink
