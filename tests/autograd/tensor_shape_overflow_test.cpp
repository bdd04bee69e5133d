// Element counts that do not fit in int64 must fail instead of wrapping around: a hostile file's
// dataset of shape [2^62 + 1, 4] once loaded as a 4-element tensor (heap overflow on the next op).
#include <gtest/gtest.h>

#include "autograd/tensor.h"
#include "tests/support/errors.h"

namespace shrink {
namespace {

using testing::expect_message;

constexpr std::int64_t kHuge = (std::int64_t{1} << 62) + 1;

TEST(TensorShapeOverflow, ShapeNumelRefusesAWrappingProduct) {
  expect_message<ShapeError>([] { shape_numel({kHuge, 4}); },
                             "shape_numel: expected a shape whose element count fits in int64, got "
                             "[4611686018427387905, 4]");
  EXPECT_EQ(shape_numel({kHuge, 1}), kHuge);
  EXPECT_EQ(shape_numel({kHuge, 4, 0}), 0);
}

TEST(TensorShapeOverflow, EmptyRefusesElementAndByteOverflow) {
  expect_message<ValueError>([] { Tensor::empty({kHuge, 4}); },
                             "empty: expected a shape whose size in bytes fits in int64, got "
                             "[4611686018427387905, 4] of float32");
  // 2^61 elements fit in int64, their 2^63 bytes do not.
  expect_message<ValueError>([] { Tensor::empty({std::int64_t{1} << 61}, DType::Int64); },
                             "empty: expected a shape whose size in bytes fits in int64, got "
                             "[2305843009213693952] of int64");
  EXPECT_EQ(Tensor::empty({kHuge, 4, 0}).numel(), 0);
}

}  // namespace
}  // namespace shrink
