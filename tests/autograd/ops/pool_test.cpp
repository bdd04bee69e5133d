// Tests of autograd/ops/pool.cpp (max_pool2d, avg_pool2d, adaptive_avg_pool2d) and kernels/pool.h.
#include "autograd/kernels/pool.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink {
namespace {
using i64 = std::int64_t;

std::array<i64, 2> pair_attr(const nlohmann::json& attrs, const char* name, i64 fallback) {
  if (!attrs.contains(name)) return {fallback, fallback};
  return {attrs.at(name)[0].get<i64>(), attrs.at(name)[1].get<i64>()};
}

Pool2dParams pool_params(const nlohmann::json& a) {
  Pool2dParams p;
  p.kernel = pair_attr(a, "kernel_size", 1);
  p.stride = pair_attr(a, "stride", 0);
  p.padding = pair_attr(a, "padding", 0);
  p.dilation = pair_attr(a, "dilation", 1);
  p.ceil_mode = a.value("ceil_mode", false);
  p.count_include_pad = a.value("count_include_pad", true);
  return p;
}

class PoolFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(PoolFixture, ForwardAndGradientMatchPyTorch) {
  const std::string name = GetParam();
  const auto& c = testing::fixture_case("conv_pool", name);
  Tensor x = testing::fixture_tensor(c.at("inputs").at("x")).requires_grad_();
  Tensor y;
  if (name.rfind("max", 0) == 0)
    y = max_pool2d(x, pool_params(c.at("attrs")));
  else if (name.rfind("avg", 0) == 0)
    y = avg_pool2d(x, pool_params(c.at("attrs")));
  else
    y = adaptive_avg_pool2d(x, pair_attr(c.at("attrs"), "output_size", 1));
  EXPECT_TENSOR_NEAR(y, testing::fixture_tensor(c.at("outputs").at("out")), 1e-6, 1e-6);
  y.backward(testing::fixture_tensor(c.at("inputs").at("grad_out")));
  EXPECT_TENSOR_NEAR(x.grad(), testing::fixture_tensor(c.at("outputs").at("grad_x")), 1e-6, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Pooling, PoolFixture,
                         ::testing::Values("max_2x2", "max_2x2_odd_ties", "max_3x3_s2_p1_ceil",
                                           "max_3x2_s2_p1_ceil_drop_last", "max_dil2_overlap_ties",
                                           "avg_3x3_s2_p1_incl", "avg_3x3_s2_p1_excl", "avg_3x3_s2_p1_ceil_incl",
                                           "avg_3x2_s2_p1_ceil_excl", "avg_2x2_default_stride", "adaptive_7x5_to_3x2",
                                           "adaptive_6x6_to_4x4", "adaptive_5x7_to_1x1", "adaptive_3x4_to_5x6"));

Pool2dParams make(std::array<i64, 2> k, std::array<i64, 2> s, std::array<i64, 2> p, std::array<i64, 2> d = {1, 1},
                  bool ceil = false, bool include_pad = true) {
  Pool2dParams q;
  q.kernel = k, q.stride = s, q.padding = p, q.dilation = d, q.ceil_mode = ceil, q.count_include_pad = include_pad;
  return q;
}

// Distinct, well-separated values so that no finite-difference step changes a window's argmax.
Tensor distinct_input(const Shape& shape, std::uint64_t seed) {
  const i64 n = shape_numel(shape);
  Generator gen(seed);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (i64 i = 0; i < n; ++i) v[i] = static_cast<float>(i) * 0.1f - 0.05f * n;
  for (i64 i = n - 1; i > 0; --i) std::swap(v[i], v[static_cast<i64>(gen.uniform() * (i + 1)) % (i + 1)]);
  return from_vector(v, shape);
}

TEST(MaxPool2d, GradcheckAcrossKernelsStridesPaddingDilationAndCeilMode) {
  const std::vector<std::pair<Shape, Pool2dParams>> cases = {
      {{2, 2, 6, 6}, make({2, 2}, {0, 0}, {0, 0})},
      {{1, 2, 7, 5}, make({3, 3}, {2, 2}, {1, 1}, {1, 1}, true)},
      {{1, 2, 7, 8}, make({3, 2}, {1, 2}, {1, 1}, {2, 1})},
      {{1, 1, 6, 5}, make({3, 2}, {2, 2}, {1, 1}, {1, 1}, true)},
      {{1, 2, 5, 6}, make({2, 3}, {2, 1}, {1, 1}, {2, 2}, true)},
  };
  for (const auto& [shape, p] : cases) {
    Tensor x = distinct_input(shape, 3).requires_grad_();
    GradcheckOptions opt;
    opt.eps = 1e-2;  // values are 0.1 apart: the step never reorders a window
    const auto r = gradcheck([&](const TensorList& t) { return max_pool2d(t[0], p); }, {x}, opt);
    EXPECT_TRUE(r.ok) << shape_str(shape) << ": " << r.message;
  }
}

TEST(AvgPool2d, GradcheckAcrossPaddingCeilModeAndDivisorRules) {
  const std::vector<std::pair<Shape, Pool2dParams>> cases = {
      {{2, 2, 6, 6}, make({2, 2}, {0, 0}, {0, 0})},
      {{1, 2, 7, 8}, make({3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true)},
      {{1, 2, 7, 8}, make({3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false)},
      {{1, 2, 8, 7}, make({3, 2}, {2, 2}, {1, 1}, {1, 1}, true, true)},
      {{1, 2, 8, 7}, make({3, 2}, {2, 2}, {1, 1}, {1, 1}, true, false)},
      {{1, 1, 5, 9}, make({2, 4}, {1, 3}, {1, 2}, {1, 1}, true, false)},
  };
  Generator gen(4);
  for (const auto& [shape, p] : cases) {
    Tensor x = randn(shape, &gen).requires_grad_();
    const auto r = gradcheck([&](const TensorList& t) { return avg_pool2d(t[0], p); }, {x});
    EXPECT_TRUE(r.ok) << shape_str(shape) << ": " << r.message;
  }
}

TEST(AdaptiveAvgPool2d, GradcheckForShrinkingGrowingAndGlobalOutputs) {
  const std::vector<std::pair<Shape, std::array<i64, 2>>> cases = {
      {{2, 2, 7, 5}, {3, 2}}, {{1, 2, 6, 6}, {4, 4}}, {{2, 3, 5, 7}, {1, 1}}, {{1, 2, 3, 4}, {5, 6}}};
  Generator gen(5);
  for (const auto& [shape, out] : cases) {
    Tensor x = randn(shape, &gen).requires_grad_();
    const auto r = gradcheck([&, out = out](const TensorList& t) { return adaptive_avg_pool2d(t[0], out); }, {x});
    EXPECT_TRUE(r.ok) << shape_str(shape) << ": " << r.message;
  }
}

TEST(MaxPool2d, TiesSendTheGradientToTheFirstMaximum) {
  Tensor x = full({1, 1, 2, 4}, 1.0).requires_grad_();
  Tensor y = max_pool2d(x, make({2, 2}, {2, 2}, {0, 0}));
  y.sum().backward();
  // Each window's gradient lands on its top-left element, nothing else receives any.
  for (i64 h = 0; h < 2; ++h)
    for (i64 w = 0; w < 4; ++w) EXPECT_EQ(x.grad().at({0, 0, h, w}), h == 0 && w % 2 == 0 ? 1.0 : 0.0) << h << "," << w;
}

TEST(MaxPool2d, PaddingActsAsMinusInfinityAndNanPropagates) {
  Tensor x = full({1, 1, 3, 3}, -5.0);
  Tensor y = max_pool2d(x, make({3, 3}, {1, 1}, {1, 1}));
  for (float v : y.to_vector()) EXPECT_EQ(v, -5.0f);  // never 0 from the padding
  x.set({0, 0, 1, 1}, std::nan(""));
  y = max_pool2d(x, make({2, 2}, {1, 1}, {0, 0}));
  for (float v : y.to_vector()) EXPECT_TRUE(std::isnan(v));
}

// PyTorch's max-pool scan (row-major over the in-range window, first maximum, NaN wins), as the
// reference for the packet and AVX-512 paths: outputs and the count of windows choosing each input.
void reference_max_pool(const std::vector<float>& x, i64 H, i64 W, const Pool2dParams& p, i64 OH, i64 OW,
                        std::vector<float>& out, std::vector<float>& counts) {
  const i64 sh = p.stride[0] ? p.stride[0] : p.kernel[0], sw = p.stride[1] ? p.stride[1] : p.kernel[1];
  out.assign(static_cast<std::size_t>(OH * OW), 0.0f);
  counts.assign(x.size(), 0.0f);
  for (i64 oh = 0; oh < OH; ++oh)
    for (i64 ow = 0; ow < OW; ++ow) {
      i64 h0 = oh * sh - p.padding[0], w0 = ow * sw - p.padding[1];
      const i64 h1 = std::min(h0 + (p.kernel[0] - 1) * p.dilation[0] + 1, H);
      const i64 w1 = std::min(w0 + (p.kernel[1] - 1) * p.dilation[1] + 1, W);
      while (h0 < 0) h0 += p.dilation[0];
      while (w0 < 0) w0 += p.dilation[1];
      float m = -std::numeric_limits<float>::infinity();
      i64 mi = h0 * W + w0;
      for (i64 h = h0; h < h1; h += p.dilation[0])
        for (i64 w = w0; w < w1; w += p.dilation[1])
          if (x[h * W + w] > m || std::isnan(x[h * W + w])) m = x[h * W + w], mi = h * W + w;
      out[oh * OW + ow] = m;
      counts[mi] += 1.0f;
    }
}

TEST(MaxPool2d, MatchesPyTorchsScanWithTiesNansAndPartialPackets) {
  const std::vector<std::pair<Shape, Pool2dParams>> cases = {
      {{2, 3, 9, 37}, make({2, 2}, {2, 2}, {0, 0})},                  // 2x2: 18 outputs per row
      {{1, 2, 6, 70}, make({2, 2}, {0, 0}, {0, 0})},                  // 2x2: 35 per row
      {{2, 2, 11, 37}, make({3, 3}, {2, 2}, {1, 1}, {1, 1}, true)},   // strided, ceil mode
      {{1, 3, 12, 40}, make({3, 2}, {1, 3}, {1, 1}, {2, 2}, false)},  // dilation, stride 3
  };
  Generator gen(12);
  for (const auto& [shape, p] : cases) {
    std::vector<float> v = randint(-2, 3, shape, &gen).to(DType::Float32).to_vector();
    for (std::size_t i = 0; i < v.size(); i += 23) v[i] = std::nanf("");  // scattered NaNs
    for (std::size_t i = 5; i < v.size(); i += 31) v[i] = -std::numeric_limits<float>::infinity();
    Tensor x = from_vector(v, shape).requires_grad_();
    Tensor y = max_pool2d(x, p);
    y.backward(ones_like(y));
    const i64 H = shape[2], W = shape[3], OH = y.size(2), OW = y.size(3), planes = shape[0] * shape[1];
    const auto got = y.to_vector(), grad = x.grad().to_vector();
    for (i64 q = 0; q < planes; ++q) {
      std::vector<float> plane(v.begin() + q * H * W, v.begin() + (q + 1) * H * W), out, counts;
      reference_max_pool(plane, H, W, p, OH, OW, out, counts);
      for (i64 i = 0; i < OH * OW; ++i) {
        const float a = got[q * OH * OW + i], e = out[i];
        ASSERT_TRUE((std::isnan(a) && std::isnan(e)) || a == e) << shape_str(shape) << " plane " << q << " out " << i;
      }
      for (i64 i = 0; i < H * W; ++i)
        ASSERT_EQ(grad[q * H * W + i], counts[i]) << shape_str(shape) << " plane " << q << " input " << i;
    }
  }
}

TEST(MaxPool2d, WithoutGradThe2x2ValuesAreTheIndexedPathsBitForBit) {
  // Inference skips the indices of the 2x2 stride-2 pool (vectorised); ties between +0 and -0
  // show the scan order, NaNs must win, and rows of 3, 18 and 35 outputs leave partial packets.
  Generator gen(13);
  for (const Shape& shape : std::vector<Shape>{{2, 3, 9, 37}, {1, 2, 6, 70}, {1, 1, 4, 7}}) {
    std::vector<float> v = randint(-1, 2, shape, &gen).to(DType::Float32).to_vector();
    for (std::size_t i = 0; i < v.size(); i += 3)
      if (v[i] == 0.0f) v[i] = -0.0f;
    for (std::size_t i = 0; i < v.size(); i += 29) v[i] = std::nanf("");
    for (std::size_t i = 7; i < v.size(); i += 31) v[i] = -std::numeric_limits<float>::infinity();
    const Tensor x = from_vector(v, shape).requires_grad_();
    const Pool2dParams p = make({2, 2}, {2, 2}, {0, 0});
    const Tensor indexed = max_pool2d(x, p);
    Tensor values;
    {
      NoGradGuard no_grad;
      values = max_pool2d(x, p);
    }
    const auto a = values.to_vector(), e = indexed.to_vector();
    ASSERT_EQ(a.size(), e.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      ASSERT_TRUE((std::isnan(a[i]) && std::isnan(e[i])) ||
                  std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(e[i]))
          << shape_str(shape) << " output " << i << ": " << a[i] << " vs " << e[i];
  }
}

TEST(Pooling, OutputSizeFollowsPyTorchsCeilModeRule) {
  using kernels::pool_output_size;
  EXPECT_EQ(pool_output_size(6, 2, 2, 0, 1, false), 3);
  EXPECT_EQ(pool_output_size(7, 2, 2, 0, 1, false), 3);
  EXPECT_EQ(pool_output_size(7, 2, 2, 0, 1, true), 4);
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, 1, true), 3);  // a 4th window would start in the right padding
  EXPECT_EQ(pool_output_size(7, 3, 2, 1, 1, true), 4);
  EXPECT_EQ(pool_output_size(9, 3, 1, 1, 2, false), 7);
  EXPECT_EQ(pool_output_size(2, 3, 1, 0, 1, false), 0);
}

TEST(Pooling, RecordsAttributesOnTheNode) {
  Tensor x = randn({1, 1, 8, 8}).requires_grad_();
  Tensor y = max_pool2d(x, make({3, 3}, {0, 0}, {1, 1}, {2, 2}, true));
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, "max_pool2d");
  EXPECT_EQ(y.grad_fn()->attr_ints("kernel"), (std::vector<i64>{3, 3}));
  EXPECT_EQ(y.grad_fn()->attr_ints("stride"), (std::vector<i64>{3, 3}));  // 0 resolved to the kernel
  EXPECT_EQ(y.grad_fn()->attr_ints("padding"), (std::vector<i64>{1, 1}));
  EXPECT_EQ(y.grad_fn()->attr_ints("dilation"), (std::vector<i64>{2, 2}));
  EXPECT_EQ(std::get<bool>(*y.grad_fn()->attr("ceil_mode")), true);
  Tensor a = avg_pool2d(x, make({2, 2}, {1, 1}, {0, 0}, {1, 1}, false, false));
  EXPECT_EQ(a.grad_fn()->op, "avg_pool2d");
  EXPECT_EQ(std::get<bool>(*a.grad_fn()->attr("count_include_pad")), false);
  Tensor ad = adaptive_avg_pool2d(x, {3, 2});
  EXPECT_EQ(ad.grad_fn()->op, "adaptive_avg_pool2d");
  EXPECT_EQ(ad.grad_fn()->attr_ints("output_size"), (std::vector<i64>{3, 2}));
}

TensorList pools_with_threads(int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Generator gen(8);
  Tensor x = randn({8, 16, 17, 15}, &gen).requires_grad_();
  Tensor y1 = max_pool2d(x, make({3, 3}, {2, 2}, {1, 1}, {1, 1}, true));
  Tensor y2 = max_pool2d(x, make({2, 2}, {2, 2}, {0, 0}));
  Tensor y3 = avg_pool2d(x, make({3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false));
  Tensor y4 = adaptive_avg_pool2d(x, {4, 3});
  Tensor loss = (y1 * randn(y1.shape(), &gen)).sum() + (y2 * randn(y2.shape(), &gen)).sum() +
                (y3 * randn(y3.shape(), &gen)).sum() + (y4 * randn(y4.shape(), &gen)).sum();
  loss.backward();
  omp_set_num_threads(saved);
  return {y1.detach(), y2.detach(), y3.detach(), y4.detach(), x.grad()};
}

TEST(Pooling, OneAndTwoThreadsGiveBitIdenticalResults) {
  const TensorList one = pools_with_threads(1), two = pools_with_threads(2);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(testing::tensors_identical(one[i], two[i])) << i;
}

using testing::expect_message;

TEST(Pooling, RejectsBadArgumentsWithClearMessages) {
  Tensor x = zeros({1, 2, 4, 4});
  expect_message<ShapeError>(
      [&] {
        max_pool2d(zeros({2, 4, 4}), make({2, 2}, {0, 0}, {0, 0}));
      },
      "max_pool2d: expected a 4-D input [N, C, H, W], got shape [2, 4, 4]. Hint: a single "
      "image needs a batch dimension: unsqueeze(x, 0)");
  expect_message<ValueError>(
      [&] {
        avg_pool2d(x.to(DType::Int64), make({2, 2}, {0, 0}, {0, 0}));
      },
      "avg_pool2d: expected a float32 input, got int64");
  expect_message<ValueError>(
      [&] {
        adaptive_avg_pool2d(Tensor(), {1, 1});
      },
      "adaptive_avg_pool2d: expected a defined input, got an undefined tensor");
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, make({0, 2}, {0, 0}, {0, 0}));
      },
      "max_pool2d: expected kernel > 0, got [0, 2]");
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, make({2, 2}, {-1, 2}, {0, 0}));
      },
      "max_pool2d: expected stride >= 0 (0 = kernel size), got [-1, 2]");
  expect_message<ValueError>(
      [&] {
        avg_pool2d(x, make({2, 2}, {0, 0}, {0, -1}));
      },
      "avg_pool2d: expected padding >= 0, got [0, -1]");
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, make({2, 2}, {0, 0}, {0, 0}, {0, 1}));
      },
      "max_pool2d: expected dilation > 0, got [0, 1]");
  expect_message<ValueError>(
      [&] {
        avg_pool2d(x, make({2, 2}, {0, 0}, {0, 0}, {2, 2}));
      },
      "avg_pool2d: expected dilation [1, 1] (average pooling has no dilation), got [2, 2]");
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, make({3, 3}, {1, 1}, {2, 1}));
      },
      "max_pool2d: expected padding at most half the kernel ([1, 1] for kernel [3, 3]), got "
      "[2, 1]");
  expect_message<ShapeError>(
      [&] {
        max_pool2d(x, make({5, 2}, {1, 1}, {0, 0}));
      },
      "max_pool2d: output size would be 0 or negative: 0x3 (input [1, 2, 4, 4], kernel [5, 2], "
      "stride [1, 1], padding [0, 0], dilation [1, 1])");
  expect_message<ShapeError>(
      [&] {
        avg_pool2d(x, make({2, 5}, {2, 2}, {0, 0}));
      },
      "avg_pool2d: output size would be 0 or negative: 2x0 (input [1, 2, 4, 4], kernel [2, 5], "
      "stride [2, 2], padding [0, 0])");
  expect_message<ValueError>(
      [&] {
        adaptive_avg_pool2d(x, {0, 2});
      },
      "adaptive_avg_pool2d: expected output_size > 0, got [0, 2]");
  expect_message<ShapeError>(
      [&] {
        adaptive_avg_pool2d(zeros({1, 2, 0, 4}), {1, 1});
      },
      "adaptive_avg_pool2d: expected an input with non-zero C, H and W, got shape [1, 2, 0, 4]");
}

}  // namespace
}  // namespace shrink
