// Broadcasting kernels (autograd/kernels/broadcast.h): shape inference, strides, binary_map,
// unary_map and sum_to, checked against naive index-by-index reference implementations.
#include "autograd/kernels/broadcast.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <functional>

#include "autograd/generator.h"
#include "tests/support/fixtures.h"

namespace shrink {
namespace {

using kernels::broadcast_shapes;
using kernels::broadcastable_to;
using kernels::sum_to;

// Row-major coordinates of flat index i in `shape`.
std::vector<std::int64_t> unravel(std::int64_t i, const Shape& shape) {
  std::vector<std::int64_t> c(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    c[d] = i % shape[d];
    i /= shape[d];
  }
  return c;
}

// Flat index in `shape` of output coordinates `c` (right-aligned; size-1 dims read index 0).
std::int64_t broadcast_index(const std::vector<std::int64_t>& c, const Shape& shape) {
  std::int64_t idx = 0;
  const std::size_t off = c.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d) idx = idx * shape[d] + (shape[d] == 1 ? 0 : c[d + off]);
  return idx;
}

// out[i] = f(a[..], b[..]) element by element, independently of the kernel's row decomposition.
Tensor naive_binary(const Tensor& a, const Tensor& b, const Shape& shape, const std::function<float(float, float)>& f) {
  Tensor out = empty(shape);
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* po = out.data<float>();
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    const auto c = unravel(i, shape);
    po[i] = f(pa[broadcast_index(c, a.shape())], pb[broadcast_index(c, b.shape())]);
  }
  return out;
}

// sum of g over the dims broadcast from `shape`, accumulated in double.
Tensor naive_sum_to(const Tensor& g, const Shape& shape) {
  std::vector<double> acc(static_cast<std::size_t>(shape_numel(shape)), 0.0);
  const float* pg = g.data<float>();
  for (std::int64_t i = 0; i < g.numel(); ++i) acc[broadcast_index(unravel(i, g.shape()), shape)] += pg[i];
  return from_vector(std::vector<float>(acc.begin(), acc.end()), shape);
}

Tensor random(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  return randn(shape, &gen);
}

// ---- broadcast_shapes / broadcastable_to / broadcast_strides ------------------------------------

TEST(Broadcast, ShapesCombineRightAlignedLikeNumPy) {
  EXPECT_EQ(broadcast_shapes({3, 1, 4}, {2, 4}, "t"), (Shape{3, 2, 4}));
  EXPECT_EQ(broadcast_shapes({2, 4}, {3, 1, 4}, "t"), (Shape{3, 2, 4}));
  EXPECT_EQ(broadcast_shapes({5}, {2, 3, 5}, "t"), (Shape{2, 3, 5}));
  EXPECT_EQ(broadcast_shapes({}, {2, 3}, "t"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({2, 3}, {}, "t"), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({}, {}, "t"), (Shape{}));
  EXPECT_EQ(broadcast_shapes({4, 1}, {1, 3}, "t"), (Shape{4, 3}));
  EXPECT_EQ(broadcast_shapes({1}, {1, 1, 1}, "t"), (Shape{1, 1, 1}));
  // Size 0 broadcasts like any other size: 1 stretches to 0.
  EXPECT_EQ(broadcast_shapes({0, 1}, {3}, "t"), (Shape{0, 3}));
  EXPECT_EQ(broadcast_shapes({1}, {0}, "t"), (Shape{0}));
}

TEST(Broadcast, IncompatibleShapesThrowShapeErrorNamingOpShapesAndDim) {
  try {
    broadcast_shapes({2, 3}, {3, 2}, "where");
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "where: expected broadcastable shapes, got [2, 3] and [3, 2] (dim 0 of the result: 2 vs "
                 "3; sizes must be equal or 1)");
  }
  try {
    broadcast_shapes({7, 2, 5}, {4, 5}, "add");
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(),
                 "add: expected broadcastable shapes, got [7, 2, 5] and [4, 5] (dim 1 of the result: 2 "
                 "vs 4; sizes must be equal or 1)");
  }
  EXPECT_THROW(broadcast_shapes({0}, {2}, "t"), ShapeError);
}

TEST(Broadcast, BroadcastableToIsOneDirectional) {
  EXPECT_TRUE(broadcastable_to({3}, {2, 3}));
  EXPECT_TRUE(broadcastable_to({1, 3}, {4, 3}));
  EXPECT_TRUE(broadcastable_to({}, {2}));
  EXPECT_TRUE(broadcastable_to({}, {}));
  EXPECT_TRUE(broadcastable_to({2, 1, 1}, {2, 5, 6}));
  EXPECT_TRUE(broadcastable_to({2, 3}, {2, 3}));
  EXPECT_FALSE(broadcastable_to({2, 3}, {3}));     // more dims than the target
  EXPECT_FALSE(broadcastable_to({1, 3}, {3}));     // even when the extra dim is 1
  EXPECT_FALSE(broadcastable_to({4, 3}, {1, 3}));  // target's 1 cannot grow
  EXPECT_FALSE(broadcastable_to({2}, {2, 3}));
  EXPECT_FALSE(broadcastable_to({2}, {}));
}

TEST(Broadcast, StridesAreZeroOnBroadcastDims) {
  EXPECT_EQ(kernels::broadcast_strides({3, 1, 4}, 4), (std::vector<std::int64_t>{0, 4, 0, 1}));
  EXPECT_EQ(kernels::broadcast_strides({2, 3}, 2), (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(kernels::broadcast_strides({}, 2), (std::vector<std::int64_t>{0, 0}));
}

// ---- binary_map / unary_map ---------------------------------------------------------------------

TEST(Broadcast, BinaryMapMatchesTheNaiveReferenceForEveryInnerStrideCase) {
  const auto f = [](float x, float y) { return x * 2.0f - y; };
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 1, 4}, {2, 4}},  // both inner dims contiguous after broadcasting rows
      {{2, 3, 5}, {3, 1}},  // b broadcast along the inner dim
      {{3, 1}, {2, 3, 5}},  // a broadcast along the inner dim
      {{4, 1}, {1, 1}},     // both broadcast along the inner dim
      {{}, {2, 3}},         // zero-dim operand
      {{6, 7}, {6, 7}},     // same shape (the fast path)
      {{2, 1, 3, 1}, {5, 1, 4}},
  };
  std::uint64_t seed = 1;
  for (const auto& [sa, sb] : cases) {
    SCOPED_TRACE(shape_str(sa) + " with " + shape_str(sb));
    Tensor a = random(sa, seed++), b = random(sb, seed++);
    const Shape shape = broadcast_shapes(sa, sb, "t");
    Tensor out = kernels::binary_map(a, b, "t", f);
    EXPECT_TRUE(testing::tensors_identical(out, naive_binary(a, b, shape, f)));
  }
}

TEST(Broadcast, BinaryMapOfEmptyOperandsGivesAnEmptyResult) {
  Tensor out = kernels::binary_map(zeros({2, 0, 1}), ones({3}), "t", [](float x, float y) { return x + y; });
  EXPECT_EQ(out.shape(), (Shape{2, 0, 3}));
  EXPECT_EQ(out.numel(), 0);
}

TEST(Broadcast, KernelAddIsTheBroadcastSum) {
  Tensor a = from_vector(std::vector<float>{1, 2, 3}, {3}), b = from_vector(std::vector<float>{10, 20}, {2, 1});
  Tensor out = kernels::add(a, b);
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(out.to_vector(), (std::vector<float>{11, 12, 13, 21, 22, 23}));
  EXPECT_FALSE(out.requires_grad());
}

TEST(Broadcast, MapsRejectNonFloatTensorsNamingTheOp) {
  Tensor i = arange(3, DType::Int64), f = ones({3});
  try {
    kernels::binary_map(f, i, "sub", [](float x, float y) { return x - y; });
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "sub: expected float32 tensors, got float32 and int64");
  }
  try {
    kernels::unary_map(i, "my_op", [](float x) { return x; });
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "my_op: expected a float32 tensor, got int64");
  }
}

// ---- sum_to -------------------------------------------------------------------------------------

TEST(Broadcast, SumToReducesEveryBroadcastDim) {
  Tensor g = random({2, 3, 4}, 20);
  for (const Shape& shape :
       {Shape{3, 1}, Shape{4}, Shape{}, Shape{1, 1, 1}, Shape{2, 1, 4}, Shape{1, 3, 4}, Shape{2, 3, 1}, Shape{1}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor out = sum_to(g, shape);
    EXPECT_TENSOR_NEAR(out, naive_sum_to(g, shape), 1e-6, 1e-6);
  }
}

TEST(Broadcast, SumToOfSmallIntegersIsExact) {
  Tensor g = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(sum_to(g, {3}).to_vector(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(sum_to(g, {2, 1}).to_vector(), (std::vector<float>{6, 15}));
  EXPECT_EQ(sum_to(g, {}).to_vector(), (std::vector<float>{21}));
  EXPECT_EQ(sum_to(g, {}).shape(), (Shape{}));
}

TEST(Broadcast, SumToAccumulatesLongSumsWithoutFloatDrift) {
  // 0.1f summed 10⁶ times in float drifts by ~1%; the exact sum of the float values is 100000.0015.
  const double exact = 1e6 * double(0.1f);
  Tensor g = full({4, 1000000}, 0.1);
  EXPECT_NEAR(sum_to(g, {}).item<double>(), 4 * exact, 4 * exact * 1e-6);
  EXPECT_NEAR(sum_to(g, {4, 1}).at({3, 0}), exact, exact * 1e-6);
  Tensor tall = full({1000000, 2}, 0.1);
  EXPECT_NEAR(sum_to(tall, {2}).at({1}), exact, exact * 1e-6);
}

TEST(Broadcast, SumToTheSameShapeReturnsTheGradientItself) {
  Tensor g = random({3, 2}, 21);
  EXPECT_TRUE(sum_to(g, {3, 2}).is_same(g));
}

TEST(Broadcast, SumToOfAnEmptyGradientGivesZeros) {
  Tensor out = sum_to(zeros({0, 3}), {1, 3});
  EXPECT_EQ(out.to_vector(), (std::vector<float>{0, 0, 0}));
}

TEST(Broadcast, SumToAShapeThatDoesNotBroadcastThrowsShapeError) {
  try {
    sum_to(zeros({2, 3}), {4});
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "sum_to: expected a shape that broadcasts to [2, 3], got [4]");
  }
  EXPECT_THROW(sum_to(zeros({3}), {1, 3}), ShapeError);
}

// ---- determinism --------------------------------------------------------------------------------

TEST(Broadcast, LargeBinaryMapAndSumToGiveTheSameBitsOnOneAndTwoThreads) {
  const Tensor a = random({64, 1, 4099}, 30), b = random({3, 4099}, 31), c = random({64, 3, 4099}, 32);
  const auto f = [](float x, float y) { return x * y + 0.5f * x; };
  const auto run = [&] {
    return TensorList{kernels::binary_map(a, b, "t", f),
                      kernels::binary_map(c, c, "t", f),
                      kernels::binary_map(random({300, 1}, 33), random({4099}, 34), "t", f),
                      sum_to(c, {3, 1}),
                      sum_to(c, {4099}),
                      sum_to(c, {})};
  };
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  const TensorList one = run();
  omp_set_num_threads(2);
  const TensorList two = run();
  omp_set_num_threads(previous);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(testing::tensors_identical(one[i], two[i])) << i;
  EXPECT_TRUE(testing::tensors_identical(one[0], naive_binary(a, b, {64, 3, 4099}, f)));
}

}  // namespace
}  // namespace shrink
