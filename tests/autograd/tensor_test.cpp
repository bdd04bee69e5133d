#include "autograd/tensor.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tests/support/fixtures.h"

namespace shrink {
namespace {

TEST(Tensor, FactoriesHaveShapeDtypeAndValues) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.dtype(), DType::Float32);
  EXPECT_EQ(z.at({1, 2}), 0.0);
  EXPECT_EQ(ones({4}).at({3}), 1.0);
  EXPECT_EQ(full({2}, 2.5).at({1}), 2.5);
  Tensor a = arange(5, DType::Int64);
  EXPECT_EQ(a.dtype(), DType::Int64);
  EXPECT_EQ(a.at({4}), 4.0);
  Tensor b = arange(0.0, 1.0, 0.25);
  EXPECT_EQ(b.numel(), 4);
  EXPECT_FLOAT_EQ(b.at({3}), 0.75f);
  EXPECT_EQ(scalar_tensor(3.0).dim(), 0);
  EXPECT_EQ(scalar_tensor(3.0).item(), 3.0f);
}

TEST(Tensor, StorageIs64ByteAligned) {
  for (std::int64_t n : {1, 3, 17, 1000, 100000}) {
    Tensor t = empty({n});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u) << n;
  }
}

TEST(Tensor, RandomFactoriesAreReproducibleFromSeed) {
  Generator g1(42), g2(42);
  EXPECT_TRUE(testing::tensors_identical(randn({100}, &g1), randn({100}, &g2)));
  manual_seed(3);
  Tensor r1 = rand({50});
  manual_seed(3);
  Tensor r2 = rand({50});
  EXPECT_TRUE(testing::tensors_identical(r1, r2));
  for (float v : r1.to_vector()) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LT(v, 1.0f);
  }
  Tensor ints = randint(2, 5, {200}, &g1);
  EXPECT_EQ(ints.dtype(), DType::Int64);
  for (float v : ints.to_vector()) {
    EXPECT_GE(v, 2);
    EXPECT_LT(v, 5);
  }
}

TEST(Tensor, RandnHasStandardNormalMoments) {
  Generator g(1);
  const auto v = randn({20000}, &g).to_vector();
  double m = 0, s = 0;
  for (float x : v) m += x;
  m /= v.size();
  for (float x : v) s += (x - m) * (x - m);
  s /= v.size();
  EXPECT_NEAR(m, 0.0, 0.03);
  EXPECT_NEAR(s, 1.0, 0.05);
}

TEST(Tensor, GeneratorStateRoundTripsExactly) {
  Generator g(9);
  randn({10}, &g);
  const std::string state = g.state();
  Tensor a = randn({10}, &g);
  g.set_state(state);
  EXPECT_TRUE(testing::tensors_identical(a, randn({10}, &g)));
  EXPECT_THROW(g.set_state("not a state"), ValueError);
}

TEST(Tensor, CopiesAliasCloneDeepCopiesDetachShares) {
  Tensor a = zeros({3});
  Tensor alias = a;
  alias.set({0}, 5);
  EXPECT_EQ(a.at({0}), 5.0);
  Tensor c = a.clone();
  c.set({1}, 7);
  EXPECT_EQ(a.at({1}), 0.0);
  Tensor d = a.detach();
  d.set({2}, 9);
  EXPECT_EQ(a.at({2}), 9.0);
  EXPECT_FALSE(d.requires_grad());
}

TEST(Tensor, FromVectorChecksCountAndConvertsDtypes) {
  Tensor t = from_vector(std::vector<float>{1.5f, -2.7f, 3.0f, 4.0f}, {2, 2});
  EXPECT_EQ(t.at({1, 0}), 3.0);
  Tensor i = t.to(DType::Int64);
  EXPECT_EQ(i.at({0, 1}), -2.0);  // truncation toward zero like PyTorch
  try {
    from_vector(std::vector<float>{1, 2, 3}, {2, 2});
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_STREQ(e.what(), "from_vector: expected 4 values for shape [2, 2], got 3");
  }
}

TEST(Tensor, ItemAndAtValidate) {
  Tensor t = zeros({2, 2});
  try {
    t.item();
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Tensor::item: expected a tensor with one element, got shape [2, 2]");
  }
  try {
    t.at({0, 2});
    FAIL();
  } catch (const IndexError& e) {
    EXPECT_STREQ(e.what(), "Tensor::at: index 2 is out of range for dim 1 of size 2 (shape [2, 2])");
  }
  EXPECT_THROW(t.at({0}), IndexError);
  EXPECT_THROW(t.data<std::int64_t>(), ValueError);
  EXPECT_THROW(Tensor().shape(), StateError);
}

TEST(Tensor, InPlaceOnTensorRequiringGradIsRefusedUnlessNoGrad) {
  Tensor w = ones({2}).requires_grad_();
  try {
    w.mul_(2.0f);
    FAIL();
  } catch (const StateError& e) {
    EXPECT_STREQ(e.what(),
                 "Tensor::mul_: expected a tensor that does not require grad, got one that does (an in-place "
                 "change would corrupt the gradient). Hint: wrap parameter updates in NoGradGuard");
  }
  {
    NoGradGuard guard;
    w.mul_(2.0f).add_(ones({2}), 0.5f);
  }
  EXPECT_EQ(w.at({0}), 2.5);
}

TEST(Tensor, InPlaceArithmetic) {
  Tensor t = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  t.add_(from_vector(std::vector<float>{10, 20}, {2}), 2.0f);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{21, 42, 23, 44}));
  t.mul_(from_vector(std::vector<float>{1, 0}, {2}));
  EXPECT_EQ(t.to_vector(), (std::vector<float>{21, 0, 23, 0}));
  t.clamp_(0, 22).div_(2);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{10.5f, 0, 11, 0}));
  t.copy_(from_vector(std::vector<std::int64_t>{1, 2, 3, 4}, {4}));
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_THROW(t.copy_(zeros({3})), ShapeError);
  EXPECT_THROW(t.add_(zeros({3})), ShapeError);
}

TEST(Tensor, PrintsLikePyTorch) {
  Tensor t = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(t.to_string(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])");
  EXPECT_EQ(arange(3, DType::Int64).to_string(), "tensor([0, 1, 2], dtype=int64)");
  Tensor w = ones({2}).requires_grad_();
  EXPECT_EQ(w.to_string(), "tensor([1.0000, 1.0000], requires_grad=True)");
  EXPECT_EQ((w * 2.0f).to_string(), "tensor([2.0000, 2.0000], grad_fn=<mul_scalar>)");
}

TEST(Tensor, RequiresGradOnlyOnFloatLeaves) {
  Tensor w = ones({2}).requires_grad_();
  Tensor y = w * 2.0f;
  try {
    y.requires_grad_();
    FAIL();
  } catch (const StateError& e) {
    EXPECT_STREQ(e.what(), "Tensor::requires_grad_: expected a leaf tensor, got the result of 'mul_scalar'. Hint: "
                           "call detach() first to make a new leaf");
  }
  try {
    zeros({2}, DType::Int64).requires_grad_();
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "Tensor::requires_grad_: expected a float32 tensor (only floating tensors have "
                           "gradients), got int64");
  }
}

}  // namespace
}  // namespace shrink
