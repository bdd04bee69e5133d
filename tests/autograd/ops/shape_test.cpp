// Tests of autograd/ops/shape.cpp: reshape, flatten, transpose, permute, unsqueeze, squeeze,
// narrow, slice, cat.
#include <gtest/gtest.h>

#include <algorithm>

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

using Dims = std::vector<std::int64_t>;

bool shares_data(const Tensor& a, const Tensor& b) { return a.raw_data() == b.raw_data(); }

// permute by direct index arithmetic: the reference for the strided/tiled copy kernel.
std::vector<float> naive_permute(const Tensor& x, const Dims& perm) {
  const Shape& s = x.shape();
  const std::size_t n = s.size();
  Shape os(n);
  for (std::size_t i = 0; i < n; ++i) os[i] = s[perm[i]];
  std::vector<std::int64_t> xstride(n, 1);
  for (std::size_t i = n - 1; i-- > 0;) xstride[i] = xstride[i + 1] * s[i + 1];
  const auto xv = x.to_vector();
  std::vector<float> out(xv.size());
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(out.size()); ++k) {
    std::int64_t rem = k, src = 0;
    for (std::size_t i = n; i-- > 0;) {
      src += (rem % os[i]) * xstride[perm[i]];
      rem /= os[i];
    }
    out[static_cast<std::size_t>(k)] = xv[static_cast<std::size_t>(src)];
  }
  return out;
}

// ---- reshape, flatten, unsqueeze, squeeze (views) ----------------------------------------------

TEST(Shape, ReshapeSharesDataAndInfersOneMinusOne) {
  Tensor x = normal_leaf({2, 3, 4});
  Tensor y = reshape(x, {4, -1});
  EXPECT_EQ(y.shape(), (Shape{4, 6}));
  EXPECT_TRUE(shares_data(x, y));
  EXPECT_EQ(y.grad_fn()->attr_ints("shape"), (Dims{4, 6}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return reshape(in[0], {3, -1, 2}); }, {x}));
}

TEST(Shape, ReshapeErrorsArePinned) {
  Tensor x = zeros({2, 3});
  EXPECT_EQ(error_of<ShapeError>([&] { reshape(x, {-1, -1}); }),
            "reshape: expected at most one -1 in the shape, got [-1, -1]");
  EXPECT_EQ(error_of<ShapeError>([&] { reshape(x, {4, 2}); }),
            "reshape: expected a shape with 6 elements for input [2, 3], got [4, 2] (8 elements)");
  EXPECT_EQ(error_of<ShapeError>([&] { reshape(x, {4, -1}); }), "reshape: cannot reshape [2, 3] (6 elements) into [4, -1]");
  EXPECT_EQ(error_of<ShapeError>([&] { reshape(x, {2, -3}); }), "reshape: expected sizes >= 0 or -1, got [2, -3]");
}

TEST(Shape, FlattenMatchesPyTorchAndSharesData) {
  expect_matches_torch("flatten_1_2", {"x"}, [](const TensorList& in) { return flatten(in[0], 1, 2); });
  Tensor x = normal_leaf({2, 3, 4, 5});
  Tensor y = flatten(x, 1);
  EXPECT_EQ(y.shape(), (Shape{2, 60}));
  EXPECT_TRUE(shares_data(x, y));
  EXPECT_EQ(y.grad_fn()->op, "flatten");
  EXPECT_EQ(y.grad_fn()->attr_int("start_dim"), 1);
  EXPECT_EQ(y.grad_fn()->attr_int("end_dim"), 3);
  EXPECT_EQ(flatten(x).shape(), Shape{120});
  EXPECT_EQ(flatten(x, -2, -2).shape(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(flatten(scalar_tensor(1.0)).shape(), Shape{1});
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return flatten(in[0], 0, 2); }, {normal_leaf({2, 3, 2})}));
  EXPECT_EQ(error_of<ValueError>([&] { flatten(x, -1, 0); }),
            "flatten: expected start_dim <= end_dim, got start_dim -1 (dim 3) and end_dim 0 (dim 0) for shape [2, 3, 4, 5]");
  EXPECT_EQ(error_of<IndexError>([&] { flatten(x, 4); }), "flatten: expected dim in range [-4, 3], got 4");
}

TEST(Shape, UnsqueezeAndSqueezeShareDataAndRoundTrip) {
  Tensor x = normal_leaf({2, 1, 3});
  EXPECT_EQ(unsqueeze(x, 0).shape(), (Shape{1, 2, 1, 3}));
  EXPECT_EQ(unsqueeze(x, 3).shape(), (Shape{2, 1, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -1).shape(), (Shape{2, 1, 3, 1}));
  EXPECT_EQ(unsqueeze(x, -4).shape(), (Shape{1, 2, 1, 3}));
  EXPECT_EQ(unsqueeze(scalar_tensor(1.0), 0).shape(), Shape{1});
  EXPECT_EQ(squeeze(x).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(x, 1).shape(), (Shape{2, 3}));
  EXPECT_EQ(squeeze(x, -3).shape(), (Shape{2, 1, 3}));  // size 2: unchanged, like PyTorch
  EXPECT_EQ(squeeze(scalar_tensor(1.0), 0).shape(), Shape{});
  EXPECT_EQ(squeeze(ones({1, 1})).shape(), Shape{});
  EXPECT_TRUE(shares_data(x, unsqueeze(x, 1)));
  EXPECT_TRUE(shares_data(x, squeeze(x)));
  Tensor s = squeeze(unsqueeze(x, 0));
  EXPECT_EQ(s.grad_fn()->attr_ints("dims"), (Dims{0, 2}));
  EXPECT_EQ(unsqueeze(x, -1).grad_fn()->attr_int("dim"), 3);
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return squeeze(unsqueeze(in[0], 2), 1); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return squeeze(in[0]); }, {x}));
  EXPECT_EQ(error_of<IndexError>([&] { unsqueeze(x, 4); }), "unsqueeze: expected dim in range [-4, 3], got 4");
  EXPECT_EQ(error_of<IndexError>([&] { squeeze(x, 3); }), "squeeze: expected dim in range [-3, 2], got 3");
}

TEST(Shape, UnsqueezeAndSqueezeShapesMatchPyTorch) {
  const std::string c = "squeeze_unsqueeze";
  Tensor x = rs_input(c, "x");
  for (const auto& [d, shape] : testing::rs_attr(c, "unsqueeze").items())
    EXPECT_EQ(unsqueeze(x, std::stoll(d)).shape(), shape.get<Shape>()) << "unsqueeze " << d;
  for (const auto& [d, shape] : testing::rs_attr(c, "squeeze").items())
    EXPECT_EQ(squeeze(x, std::stoll(d)).shape(), shape.get<Shape>()) << "squeeze " << d;
  EXPECT_EQ(squeeze(x).shape(), testing::rs_attr(c, "squeeze_all").get<Shape>());
  EXPECT_TENSOR_NEAR(unsqueeze(x, -1), rs_output(c, "unsqueeze_m1"), 0, 0);
}

// ---- transpose, permute (copies) ---------------------------------------------------------------

TEST(Shape, TransposeAndPermuteMatchPyTorch) {
  expect_matches_torch("transpose_0_2", {"x"}, [](const TensorList& in) { return transpose(in[0], 0, -1); });
  EXPECT_TENSOR_NEAR(transpose(rs_input("transpose_big", "x"), 1, 0), rs_output("transpose_big", "out"), 0, 0);
  expect_matches_torch("permute_2031", {"x"}, [](const TensorList& in) { return permute(in[0], {2, 0, -1, 1}); });
  EXPECT_TENSOR_NEAR(permute(rs_input("permute_last_first", "x"), {3, 1, 2, 0}), rs_output("permute_last_first", "out"),
                     0, 0);
}

TEST(Shape, PermuteMatchesIndexArithmeticForEveryOrder) {
  // Odd sizes and a size-1 dim exercise partial tiles, merged dims and the row/tiled paths.
  Generator g(2);
  Tensor x = randn({3, 1, 40, 33}, &g);
  Dims perm{0, 1, 2, 3};
  do {
    SCOPED_TRACE(shape_str(perm));
    EXPECT_EQ(permute(x, perm).to_vector(), naive_permute(x, perm));
  } while (std::next_permutation(perm.begin(), perm.end()));
}

TEST(Shape, PermuteWorksForIntegerDtypes) {
  Tensor f = arange(60).reshape({3, 4, 5});
  for (DType dt : {DType::Int64, DType::UInt8, DType::Int8}) {
    Tensor p = permute(f.to(dt), {2, 0, 1});
    EXPECT_EQ(p.dtype(), dt);
    EXPECT_EQ(p.to_vector(), permute(f, {2, 0, 1}).to_vector());
  }
}

TEST(Shape, MovingOnlySizeOneDimsSharesData) {
  Tensor x = normal_leaf({3, 1, 4});
  Tensor t = transpose(x, 0, 1);
  EXPECT_EQ(t.shape(), (Shape{1, 3, 4}));
  EXPECT_TRUE(shares_data(x, t));
  EXPECT_TRUE(shares_data(x, permute(x, {0, 1, 2})));
  EXPECT_FALSE(shares_data(x, transpose(x, 0, 2)));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return transpose(in[0], 1, 0); }, {x}));
}

TEST(Shape, TransposeAndPermuteGradcheckAndRecordAttributes) {
  Tensor x = normal_leaf({2, 3, 4});
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return transpose(in[0], 0, 2); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return permute(in[0], {1, 2, 0}); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return permute(in[0], {2, 1, 0}); }, {normal_leaf({3, 5, 2})}));
  Tensor t = transpose(x, -1, 0);
  EXPECT_EQ(t.grad_fn()->op, "transpose");
  EXPECT_EQ(t.grad_fn()->attr_int("dim0"), 2);
  EXPECT_EQ(t.grad_fn()->attr_int("dim1"), 0);
  EXPECT_EQ(permute(x, {-1, 0, 1}).grad_fn()->attr_ints("dims"), (Dims{2, 0, 1}));
}

TEST(Shape, PermuteErrorsArePinned) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(error_of<ShapeError>([&] { permute(x, {0, 1}); }),
            "permute: expected 3 dims (one per dim of the input [2, 3, 4]), got [0, 1]");
  EXPECT_EQ(error_of<ValueError>([&] { permute(x, {0, -3, 1}); }),
            "permute: expected a permutation of the 3 dims, got [0, -3, 1] (dim 0 appears more than once)");
  EXPECT_EQ(error_of<IndexError>([&] { permute(x, {0, 1, 3}); }), "permute: expected dim in range [-3, 2], got 3");
  EXPECT_EQ(error_of<IndexError>([&] { transpose(x, 0, -4); }), "transpose: expected dim in range [-3, 2], got -4");
}

// ---- narrow, slice ---------------------------------------------------------------------------

TEST(Shape, NarrowMatchesPyTorch) {
  expect_matches_torch("narrow", {"x"}, [](const TensorList& in) { return narrow(in[0], 2, -3, 2); });
  Tensor x = normal_leaf({2, 3, 4});
  Tensor n = narrow(x, -1, 1, 2);
  EXPECT_EQ(n.grad_fn()->op, "narrow");
  EXPECT_EQ(n.grad_fn()->attr_int("dim"), 2);
  EXPECT_EQ(narrow(x, 2, 4, 0).shape(), (Shape{2, 3, 0}));
  EXPECT_TRUE(shares_data(x, narrow(x, 1, 0, 3)));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return narrow(in[0], 1, 1, 2); }, {x}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return narrow(in[0], 0, 1, 1); }, {x}));
}

TEST(Shape, NarrowErrorsArePinned) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(error_of<IndexError>([&] { narrow(x, 2, 3, 2); }),
            "narrow: expected 0 <= length <= 1 (start 3 in dim 2 of shape [2, 3, 4]), got length 2");
  EXPECT_EQ(error_of<IndexError>([&] { narrow(x, 2, 1, -1); }),
            "narrow: expected 0 <= length <= 3 (start 1 in dim 2 of shape [2, 3, 4]), got length -1");
  EXPECT_EQ(error_of<IndexError>([&] { narrow(x, 2, -5, 1); }),
            "narrow: expected start in [-4, 4] for dim 2 of shape [2, 3, 4], got -5");
  EXPECT_EQ(error_of<IndexError>([&] { narrow(x, 3, 0, 1); }), "narrow: expected dim in range [-3, 2], got 3");
  EXPECT_EQ(error_of<IndexError>([&] { narrow(scalar_tensor(1.0), 0, 0, 1); }),
            "narrow: expected a tensor with at least one dim, got shape []");
}

TEST(Shape, SliceFollowsPythonRules) {
  expect_matches_torch("slice_step", {"x"}, [](const TensorList& in) { return slice(in[0], 2, -3, 10, 2); });
  expect_matches_torch("slice_outer", {"x"}, [](const TensorList& in) { return slice(slice(in[0], 0, 1, 100), 1, 0, 3, 2); });
  Tensor x = arange(10);
  EXPECT_EQ(slice(x, 0, 5, 1).shape(), Shape{0});
  EXPECT_EQ(slice(x, 0, -100, 100).to_vector(), x.to_vector());
  EXPECT_EQ(slice(x, 0, -4, -1, 2).to_vector(), (std::vector<float>{6, 8}));
  EXPECT_EQ(slice(x, 0, 1, 10, 3).to_vector(), (std::vector<float>{1, 4, 7}));
  EXPECT_EQ(slice(x, 0, 12, 20).shape(), Shape{0});
  Tensor y = normal_leaf({3, 7});
  Tensor s = slice(y, -1, -6, 7, 3);
  EXPECT_EQ(s.grad_fn()->op, "slice");
  EXPECT_EQ(s.grad_fn()->attr_int("start"), 1);
  EXPECT_EQ(s.grad_fn()->attr_int("end"), 7);
  EXPECT_EQ(s.grad_fn()->attr_int("step"), 3);
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return slice(in[0], 1, 1, 6, 2); }, {y}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return slice(in[0], 0, -2, 3); }, {y}));
  EXPECT_EQ(error_of<ValueError>([&] { slice(y, 1, 0, 3, 0); }), "slice: expected step >= 1, got 0");
  EXPECT_EQ(error_of<IndexError>([&] { slice(y, 2, 0, 3); }), "slice: expected dim in range [-2, 1], got 2");
}

// ---- cat -------------------------------------------------------------------------------------

TEST(Shape, CatMatchesPyTorchOnEveryDim) {
  expect_matches_torch("cat_dim1", {"a", "b", "c"}, [](const TensorList& in) { return cat(in, 1); });
  expect_matches_torch("cat_last", {"a", "b"}, [](const TensorList& in) { return cat(in, -1); });
  expect_matches_torch("cat_dim0", {"a", "b"}, [](const TensorList& in) { return cat(in, 0); });
}

TEST(Shape, CatGradcheckRecordsSizesAndSkipsLegacyEmptyTensors) {
  Tensor a = normal_leaf({2, 3}, 1), b = normal_leaf({2, 1}, 2), c = normal_leaf({2, 2}, 3);
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return cat(in, 1); }, {a, b, c}));
  EXPECT_TRUE(gradchecks([](const TensorList& in) { return cat({in[0], in[1]}, 0); }, {a, normal_leaf({1, 3}, 4).detach()}));
  Tensor y = cat({a, b, c}, -1);
  EXPECT_EQ(y.grad_fn()->op, "cat");
  EXPECT_EQ(y.grad_fn()->attr_int("dim"), 1);
  EXPECT_EQ(y.grad_fn()->attr_ints("sizes"), (Dims{3, 1, 2}));
  // Like PyTorch, 1-D empty tensors are skipped whatever their rank mismatch.
  Tensor e = zeros({0});
  EXPECT_EQ(cat({e, a, e}, 1).to_vector(), a.to_vector());
  EXPECT_EQ(cat({e, e}).shape(), Shape{0});
  Tensor i = cat({arange(3).to(DType::Int64), arange(2).to(DType::Int64)});
  EXPECT_EQ(i.dtype(), DType::Int64);
  EXPECT_EQ(i.to_vector(), (std::vector<float>{0, 1, 2, 0, 1}));
}

TEST(Shape, CatErrorsNameTheTensorAndDim) {
  Tensor a = zeros({2, 3, 4});
  EXPECT_EQ(error_of<ValueError>([&] { cat({}); }), "cat: expected a non-empty list of tensors, got an empty list");
  EXPECT_EQ(error_of<ShapeError>([&] { cat({a, zeros({2, 1, 4}), zeros({2, 5, 5})}, 1); }),
            "cat: expected tensor 2 to match tensor 0 in every dim except dim 1, got shapes [2, 3, 4] and [2, 5, 5] "
            "(dim 2: 5 vs 4)");
  EXPECT_EQ(error_of<ShapeError>([&] { cat({a, zeros({3, 3, 4})}, -1); }),
            "cat: expected tensor 1 to match tensor 0 in every dim except dim 2, got shapes [2, 3, 4] and [3, 3, 4] "
            "(dim 0: 3 vs 2)");
  EXPECT_EQ(error_of<ShapeError>([&] { cat({a, zeros({2, 3})}); }),
            "cat: expected tensor 1 to have 3 dims like tensor 0, got shapes [2, 3, 4] and [2, 3]");
  EXPECT_EQ(error_of<ValueError>([&] { cat({a, zeros({2, 3, 4}, DType::Int64)}); }),
            "cat: expected tensor 1 to have dtype float32 like tensor 0, got int64");
  EXPECT_EQ(error_of<ShapeError>([&] { cat({scalar_tensor(1.0), scalar_tensor(2.0)}); }),
            "cat: expected tensors with at least one dim, got a 0-dim tensor at index 0. Hint: unsqueeze(x, 0) it first");
  EXPECT_EQ(error_of<IndexError>([&] { cat({a, a}, 3); }), "cat: expected dim in range [-3, 2], got 3");
  EXPECT_EQ(error_of<ValueError>([&] { cat({a, Tensor()}); }),
            "cat: expected defined tensors, got an undefined tensor at index 1");
}

// ---- determinism -----------------------------------------------------------------------------

TEST(Shape, LargeCopiesDoNotDependOnThreadCount) {
  Generator g(4);
  const Tensor m = randn({256, 300}, &g), t4 = randn({8, 64, 70, 3}, &g);
  testing::expect_thread_count_invariant([&] {
    Tensor x = t4.detach();
    x.requires_grad_();
    Tensor y = permute(x, {2, 0, 3, 1});
    y.backward(ones_like(y));
    return TensorList{transpose(m, 0, 1), y, x.grad(), slice(t4, 2, 1, 70, 3), narrow(m, 1, 7, 200),
                      cat({m, m, m}, 1), cat({t4, t4}, 0)};
  });
  EXPECT_EQ(transpose(m, 0, 1).to_vector(), naive_permute(m, {1, 0}));
  EXPECT_EQ(permute(t4, {2, 0, 3, 1}).to_vector(), naive_permute(t4, {2, 0, 3, 1}));
}

}  // namespace
}  // namespace shrink
