// Tests of autograd/ops/conv.cpp (conv2d) and the kernels behind it (kernels/conv.h).
#include "autograd/kernels/conv.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/kernels/conv_util.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink {
namespace {
using i64 = std::int64_t;

Conv2dParams params_from(const nlohmann::json& attrs) {
  Conv2dParams p;
  for (int i = 0; i < 2; ++i) {
    p.stride[i] = attrs.at("stride")[i].get<i64>();
    p.padding[i] = attrs.at("padding")[i].get<i64>();
    p.dilation[i] = attrs.at("dilation")[i].get<i64>();
  }
  p.groups = attrs.at("groups").get<i64>();
  return p;
}

class ConvFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ConvFixture, ForwardAndGradientsMatchPyTorch) {
  const auto& c = testing::fixture_case("conv_pool", GetParam());
  const auto& in = c.at("inputs");
  const auto& out = c.at("outputs");
  Tensor x = testing::fixture_tensor(in.at("x")).requires_grad_();
  Tensor w = testing::fixture_tensor(in.at("weight")).requires_grad_();
  Tensor b = in.contains("bias") ? testing::fixture_tensor(in.at("bias")).requires_grad_() : Tensor();
  Tensor y = conv2d(x, w, b, params_from(c.at("attrs")));
  EXPECT_TENSOR_NEAR(y, testing::fixture_tensor(out.at("out")), 1e-4, 1e-4);
  y.backward(testing::fixture_tensor(in.at("grad_out")));
  EXPECT_TENSOR_NEAR(x.grad(), testing::fixture_tensor(out.at("grad_x")), 1e-4, 1e-4);
  EXPECT_TENSOR_NEAR(w.grad(), testing::fixture_tensor(out.at("grad_weight")), 1e-4, 1e-4);
  if (b.defined()) EXPECT_TENSOR_NEAR(b.grad(), testing::fixture_tensor(out.at("grad_bias")), 1e-4, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Conv2d, ConvFixture,
                         ::testing::Values("conv_single_channel_5x5", "conv_depthwise_3x3_pad1",
                                           "conv_depthwise_mult2_stride2_dil2", "conv_pointwise", "conv_basic_3x3_pad1",
                                           "conv_stride2_pad2_dil2_rect", "conv_groups2_nobias", "conv_wide_3x3_pad1",
                                           "conv_wide_stride2", "conv_wide_groups2_dil2",
                                           "conv_wide_pad_beyond_kernel"));

// One small geometry for gradcheck / reference comparisons.
struct Cfg {
  i64 N, C, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  bool bias;
};

std::string cfg_str(const Cfg& c) {
  return "N" + std::to_string(c.N) + " C" + std::to_string(c.C) + " " + std::to_string(c.H) + "x" +
         std::to_string(c.W) + " Co" + std::to_string(c.Co) + " k" + std::to_string(c.kh) + "x" + std::to_string(c.kw) +
         " s" + std::to_string(c.sh) + "," + std::to_string(c.sw) + " p" + std::to_string(c.ph) + "," +
         std::to_string(c.pw) + " d" + std::to_string(c.dh) + "," + std::to_string(c.dw) + " g" +
         std::to_string(c.groups) + (c.bias ? " bias" : "");
}

Conv2dParams params_of(const Cfg& c) {
  Conv2dParams p;
  p.stride = {c.sh, c.sw};
  p.padding = {c.ph, c.pw};
  p.dilation = {c.dh, c.dw};
  p.groups = c.groups;
  return p;
}

TEST(Conv2d, GradcheckAcrossStridePaddingDilationGroupsAndBias) {
  const std::vector<Cfg> cfgs = {
      {2, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1, true},   // plain
      {1, 2, 6, 7, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, false},  // stride 2, pad 1, odd sizes
      {1, 2, 7, 6, 2, 3, 2, 1, 2, 2, 1, 2, 1, 1, true},   // pad 2, dilation 2, non-square kernel
      {2, 4, 5, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, true},   // groups 2
      {1, 3, 6, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 3, true},   // depthwise
      {1, 2, 7, 7, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, false},  // depthwise x2 multiplier, stride/dilation 2
      {2, 1, 6, 5, 3, 2, 3, 1, 1, 0, 1, 1, 1, 1, true},   // single input channel
      {2, 4, 3, 4, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},   // 1x1 (GEMM path)
      {1, 3, 5, 5, 2, 1, 1, 2, 1, 1, 0, 1, 1, 1, true},   // 1x1 with stride and padding
      {1, 16, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},  // 16 input channels: implicit input gradient
      {1, 8, 5, 4, 2, 2, 2, 2, 1, 1, 0, 1, 2, 1, false},  // 8 input channels, strided: col2im
      {1, 8, 3, 3, 2, 2, 2, 1, 1, 2, 2, 1, 1, 1, true},   // padding beyond the kernel reach
  };
  for (const Cfg& c : cfgs) {
    Generator gen(11);
    Tensor x = randn({c.N, c.C, c.H, c.W}, &gen).requires_grad_();
    Tensor w = (randn({c.Co, c.C / c.groups, c.kh, c.kw}, &gen) * 0.5f).detach().requires_grad_();
    Tensor b = c.bias ? randn({c.Co}, &gen).requires_grad_() : Tensor();
    const Conv2dParams p = params_of(c);
    TensorList inputs{x, w};
    if (c.bias) inputs.push_back(b);
    // conv2d is linear in each input, so a large step loses nothing and keeps rounding noise low.
    GradcheckOptions opt;
    opt.eps = 1e-2;
    const auto r =
        gradcheck([&](const TensorList& t) { return conv2d(t[0], t[1], c.bias ? t[2] : Tensor(), p); }, inputs, opt);
    EXPECT_TRUE(r.ok) << cfg_str(c) << ": " << r.message;
  }
}

// Direct 7-loop convolution in double: the reference every algorithm is compared with.
struct RefGrads {
  std::vector<double> y, dx, dw, db;
};

RefGrads reference(const Cfg& c, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy, i64 OH, i64 OW) {
  const i64 Cg = c.C / c.groups, Cog = c.Co / c.groups;
  const auto X = x.to_vector(), Wt = w.to_vector(), G = gy.to_vector();
  RefGrads r;
  r.y.assign(static_cast<std::size_t>(c.N * c.Co * OH * OW), 0.0);
  r.dx.assign(X.size(), 0.0);
  r.dw.assign(Wt.size(), 0.0);
  r.db.assign(static_cast<std::size_t>(c.Co), 0.0);
  for (i64 n = 0; n < c.N; ++n)
    for (i64 co = 0; co < c.Co; ++co)
      for (i64 oh = 0; oh < OH; ++oh)
        for (i64 ow = 0; ow < OW; ++ow) {
          const i64 yi = ((n * c.Co + co) * OH + oh) * OW + ow;
          double s = b.defined() ? b.to_vector()[co] : 0.0;
          const double g = G[yi];
          r.db[co] += g;
          for (i64 ci = 0; ci < Cg; ++ci)
            for (i64 i = 0; i < c.kh; ++i)
              for (i64 j = 0; j < c.kw; ++j) {
                const i64 h = oh * c.sh - c.ph + i * c.dh, wq = ow * c.sw - c.pw + j * c.dw;
                if (h < 0 || h >= c.H || wq < 0 || wq >= c.W) continue;
                const i64 xi = ((n * c.C + (co / Cog) * Cg + ci) * c.H + h) * c.W + wq;
                const i64 wi = ((co * Cg + ci) * c.kh + i) * c.kw + j;
                s += double(X[xi]) * Wt[wi];
                r.dx[xi] += g * Wt[wi];
                r.dw[wi] += g * X[xi];
              }
          r.y[yi] = s;
        }
  return r;
}

::testing::AssertionResult close_to(const Tensor& t, const std::vector<double>& ref, double tol) {
  const auto v = t.to_vector();
  if (v.size() != ref.size()) return ::testing::AssertionFailure() << "size " << v.size() << " vs " << ref.size();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (std::abs(v[i] - ref[i]) > tol * (1.0 + std::abs(ref[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << v[i] << " vs reference " << ref[i];
  return ::testing::AssertionSuccess();
}

kernels::ConvGeometry geometry_of(const Cfg& c) {
  kernels::ConvGeometry g;
  g.N = c.N, g.C = c.C, g.H = c.H, g.W = c.W, g.Co = c.Co, g.kh = c.kh, g.kw = c.kw;
  g.sh = c.sh, g.sw = c.sw, g.ph = c.ph, g.pw = c.pw, g.dh = c.dh, g.dw = c.dw, g.groups = c.groups;
  g.OH = (c.H + 2 * c.ph - c.dh * (c.kh - 1) - 1) / c.sh + 1;
  g.OW = (c.W + 2 * c.pw - c.dw * (c.kw - 1) - 1) / c.sw + 1;
  return g;
}

// Checks every algorithm that supports `c` against the double-precision reference.
void check_algorithms(const Cfg& c) {
  const kernels::ConvGeometry g = geometry_of(c);
  Generator gen(5);
  Tensor x = randn({c.N, c.C, c.H, c.W}, &gen), w = randn({c.Co, c.C / c.groups, c.kh, c.kw}, &gen);
  Tensor b = c.bias ? randn({c.Co}, &gen) : Tensor();
  Tensor gy = randn({c.N, c.Co, g.OH, g.OW}, &gen);
  const RefGrads ref = reference(c, x, w, b, gy, g.OH, g.OW);
  std::vector<kernels::ConvAlgo> algos{kernels::ConvAlgo::Nhwc};
  if (g.Cg() == 1) algos.push_back(kernels::ConvAlgo::Planar);
  if (c.groups == c.C && c.Co == c.C) algos.push_back(kernels::ConvAlgo::DepthwiseNhwc);
  if (c.groups == 1 && c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && c.ph == 0 && c.pw == 0)
    algos.push_back(kernels::ConvAlgo::Gemm1x1);
  for (auto algo : algos) {
    const std::string what = cfg_str(c) + " algo " + std::to_string(static_cast<int>(algo));
    const Tensor y = kernels::conv2d_forward(x, w, b, g, algo);
    EXPECT_TRUE(close_to(y, ref.y, 1e-4)) << what;
    // The fused activations give exactly the floats of the ops applied afterwards. Weights and
    // bias ×4 (exact in floats) push outputs past 6, so relu6's upper clamp is exercised too.
    EXPECT_TRUE(
        testing::tensors_identical(kernels::conv2d_forward(x, w, b, g, algo, kernels::Activation::Relu), relu(y)))
        << what;
    const Tensor w4 = w * 4.0f, b4 = b.defined() ? b * 4.0f : Tensor();
    const Tensor y4 = kernels::conv2d_forward(x, w4, b4, g, algo);
    EXPECT_TRUE(
        testing::tensors_identical(kernels::conv2d_forward(x, w4, b4, g, algo, kernels::Activation::Relu6), relu6(y4)))
        << what << " relu6";
    const auto grads = kernels::conv2d_backward(gy, x, w, g, true, true, c.bias, algo);
    EXPECT_TRUE(close_to(grads.dx, ref.dx, 1e-4)) << what;
    EXPECT_TRUE(close_to(grads.dw, ref.dw, 1e-4)) << what;
    if (c.bias) EXPECT_TRUE(close_to(grads.db, ref.db, 1e-4)) << what;
  }
}

TEST(Conv2dKernels, EveryAlgorithmMatchesADirectReferenceOnWiderShapes) {
  const std::vector<Cfg> cfgs = {
      {3, 20, 6, 7, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},      // two column blocks, col2im dx (20 of 32 lanes)
      {2, 16, 6, 5, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},      // 16 input channels: implicit dx
      {1, 32, 7, 6, 20, 3, 3, 1, 1, 2, 2, 2, 2, 2, false},     // implicit dx with dilation and groups
      {2, 24, 7, 5, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, true},      // strided: col2im with K > 64
      {2, 32, 6, 6, 48, 3, 3, 1, 1, 2, 2, 2, 2, 4, false},     // groups 4 (Cg 8, Cog 12)
      {2, 16, 5, 6, 33, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},      // 1x1: GEMM and channel-last agree
      {1, 64, 7, 7, 10, 1, 1, 1, 1, 0, 0, 1, 1, 1, false},     // 1x1 direct on NCHW: 3 tiles of 16 + 1 pixel
      {2, 65, 3, 3, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},       // 1x1 past the direct kernel: Eigen's GEMM
      {2, 6, 9, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, true},        // depthwise: planar and channel-last agree
      {2, 1, 10, 9, 20, 5, 5, 1, 1, 0, 0, 1, 1, 1, true},      // single input channel
      {2, 4, 11, 10, 8, 3, 3, 2, 3, 1, 0, 1, 2, 4, true},      // planar, strides and dilation
      {1, 17, 4, 4, 5, 2, 3, 1, 1, 1, 2, 1, 1, 1, true},       // odd channel counts, padding beyond reach
      {1, 520, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, true},      // taps*Cin beyond 4096 columns (col2im)
      {1, 2, 3, 2, 4100, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},     // more than 4096 output channels
      {2, 6, 9, 8, 10, 2, 2, 3, 3, 0, 1, 1, 1, 2, false},      // stride larger than the kernel
      {2, 6, 15, 13, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6, true},      // depthwise stride 2: planes from column phases
      {1, 3, 40, 37, 3, 5, 5, 1, 3, 2, 1, 1, 2, 3, false},     // depthwise, column stride 3, dilation, 5x5
      {1, 2, 9, 9, 2, 2, 3, 2, 2, 0, 1, 1, 1, 2, true},        // depthwise strided, kernel of any size
      {2, 20, 7, 6, 20, 3, 3, 1, 1, 1, 1, 1, 1, 20, true},     // depthwise, three channel packets, 6 columns
      {1, 17, 14, 13, 17, 3, 3, 2, 2, 1, 1, 1, 1, 17, false},  // depthwise stride 2, odd channels
  };
  for (const Cfg& c : cfgs) check_algorithms(c);
}

TEST(Conv2dKernels, PointwiseOnNchwAndChannelLastGiveTheSameFloats) {
  // Auto picks between the two by batch size, so they must agree bit for bit (up to 64 input
  // channels, where the NCHW path is the register kernel).
  for (const Cfg& c : std::vector<Cfg>{{1, 64, 7, 7, 64, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},
                                       {3, 33, 5, 3, 19, 1, 1, 1, 1, 0, 0, 1, 1, 1, false},
                                       {2, 17, 14, 14, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1, true}}) {
    const kernels::ConvGeometry g = geometry_of(c);
    Generator gen(3);
    const Tensor x = randn({c.N, c.C, c.H, c.W}, &gen), w = randn({c.Co, c.C, 1, 1}, &gen);
    const Tensor b = c.bias ? randn({c.Co}, &gen) : Tensor();
    for (auto act : {kernels::Activation::None, kernels::Activation::Relu6})
      EXPECT_TRUE(testing::tensors_identical(kernels::conv2d_forward(x, w, b, g, kernels::ConvAlgo::Gemm1x1, act),
                                             kernels::conv2d_forward(x, w, b, g, kernels::ConvAlgo::Nhwc, act)))
          << cfg_str(c);
  }
  // Auto: the NCHW path for few pixels, channel-last for many (from 17 input channels).
  kernels::ConvGeometry g = geometry_of({1, 32, 7, 7, 64, 1, 1, 1, 1, 0, 0, 1, 1, 1, true});
  EXPECT_EQ(kernels::choose_conv_algo(g), kernels::ConvAlgo::Gemm1x1);
  g.N = 16;
  EXPECT_EQ(kernels::choose_conv_algo(g), kernels::ConvAlgo::Nhwc);
  g.C = 16;
  EXPECT_EQ(kernels::choose_conv_algo(g), kernels::ConvAlgo::Gemm1x1);
}

TEST(Conv2dKernels, TransposeHandlesFullBlocksAndEdgesWithStrides) {
  for (i64 rows : {1, 7, 16, 17, 40})
    for (i64 cols : {1, 9, 16, 33}) {
      const i64 lds = cols + 3, ldd = rows + 5;
      std::vector<float> src(static_cast<std::size_t>(rows * lds)), dst(static_cast<std::size_t>(cols * ldd), -1.0f);
      for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
      kernels::transpose(src.data(), rows, cols, lds, dst.data(), ldd);
      for (i64 i = 0; i < rows; ++i)
        for (i64 j = 0; j < cols; ++j) ASSERT_EQ(dst[j * ldd + i], src[i * lds + j]) << rows << "x" << cols;
      for (i64 j = 0; j < cols; ++j)
        for (i64 i = rows; i < ldd; ++i) ASSERT_EQ(dst[j * ldd + i], -1.0f) << "wrote outside the block";
    }
}

// Runs forward+backward of a conv2d with `threads` OpenMP threads.
TensorList run_with_threads(int threads, const Cfg& c) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  Generator gen(9);
  Tensor x = randn({c.N, c.C, c.H, c.W}, &gen).requires_grad_();
  Tensor w = randn({c.Co, c.C / c.groups, c.kh, c.kw}, &gen).requires_grad_();
  Tensor b = randn({c.Co}, &gen).requires_grad_();
  Tensor y = conv2d(x, w, b, params_of(c));
  y.backward(randn(y.shape(), &gen));
  omp_set_num_threads(saved);
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(Conv2d, OneAndTwoThreadsGiveBitIdenticalForwardAndGradients) {
  const std::vector<Cfg> cfgs = {
      {16, 32, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},  // channel-last, implicit dx
      {16, 24, 5, 5, 20, 5, 5, 1, 1, 0, 0, 1, 1, 1, true},  // channel-last, col2im for a 5x5 kernel
      {16, 16, 8, 8, 24, 3, 3, 2, 2, 1, 1, 1, 1, 2, true},  // channel-last, col2im
      {16, 12, 6, 6, 20, 1, 1, 1, 1, 0, 0, 1, 1, 1, true},  // 1x1 GEMM
      {16, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, true},    // depthwise
      {16, 1, 12, 12, 6, 5, 5, 1, 1, 0, 0, 1, 1, 1, true},  // single input channel
  };
  for (const Cfg& c : cfgs) {
    const TensorList one = run_with_threads(1, c), two = run_with_threads(2, c);
    for (std::size_t i = 0; i < one.size(); ++i)
      EXPECT_TRUE(testing::tensors_identical(one[i], two[i])) << cfg_str(c) << " #" << i;
  }
}

TEST(Conv2d, RecordsItsAttributesOnTheNode) {
  Tensor x = randn({1, 4, 8, 8}).requires_grad_();
  Tensor w = randn({6, 2, 3, 3});
  Conv2dParams p;
  p.stride = {2, 1};
  p.padding = {1, 0};
  p.dilation = {1, 2};
  p.groups = 2;
  Tensor y = conv2d(x, w, Tensor(), p);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->op, "conv2d");
  EXPECT_EQ(y.grad_fn()->attr_ints("stride"), (std::vector<i64>{2, 1}));
  EXPECT_EQ(y.grad_fn()->attr_ints("padding"), (std::vector<i64>{1, 0}));
  EXPECT_EQ(y.grad_fn()->attr_ints("dilation"), (std::vector<i64>{1, 2}));
  EXPECT_EQ(y.grad_fn()->attr_int("groups"), 2);
  EXPECT_EQ(y.shape(), (Shape{1, 6, 4, 4}));
}

TEST(Conv2d, GradientsOnlyForInputsThatRequireThem) {
  Generator gen(3);
  Tensor x = randn({2, 3, 5, 5}, &gen);
  Tensor w = randn({4, 3, 3, 3}, &gen).requires_grad_();
  Tensor b = randn({4}, &gen);
  Tensor y = conv2d(x, w, b);
  y.sum().backward();
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  ASSERT_TRUE(w.grad().defined());
  // d(sum y)/dw[co,ci,i,j] = sum over the valid window of x: compare with a weight-only rerun.
  Tensor w2 = w.detach().clone().requires_grad_();
  Tensor x2 = x.clone().requires_grad_();
  conv2d(x2, w2, b).sum().backward();
  EXPECT_TRUE(testing::tensors_identical(w.grad(), w2.grad()));
}

TEST(Conv2d, NoGradModeRecordsNothingAndEmptyBatchGivesEmptyOutput) {
  Tensor x = randn({2, 3, 5, 5}).requires_grad_();
  Tensor w = randn({4, 3, 3, 3}).requires_grad_();
  {
    NoGradGuard guard;
    EXPECT_FALSE(conv2d(x, w).requires_grad());
  }
  Tensor e = conv2d(zeros({0, 3, 5, 5}), w.detach());
  EXPECT_EQ(e.shape(), (Shape{0, 4, 3, 3}));
}

using testing::expect_message;

TEST(Conv2d, RejectsBadArgumentsWithClearMessages) {
  Tensor x = zeros({8, 6, 32, 32}), w = zeros({16, 3, 5, 5});
  Conv2dParams g2;
  g2.groups = 2;
  expect_message<ShapeError>(
      [&] {
        conv2d(zeros({6, 32, 32}), w, Tensor(), g2);
      },
      "conv2d: expected a 4-D input [N, C, H, W], got shape [6, 32, 32]. Hint: a single image "
      "needs a batch dimension: unsqueeze(x, 0)");
  expect_message<ShapeError>(
      [&] {
        conv2d(x, zeros({16, 3, 5}), Tensor(), g2);
      },
      "conv2d: expected a 4-D weight [out_channels, in_channels/groups, kh, kw], got shape "
      "[16, 3, 5]");
  expect_message<ValueError>([&] { conv2d(x.to(DType::Int64), w, Tensor(), g2); },
                             "conv2d: expected a float32 input, got int64");
  expect_message<ValueError>([&] { conv2d(x, w.to(DType::Int64), Tensor(), g2); },
                             "conv2d: expected a float32 weight, got int64");
  expect_message<ValueError>([&] { conv2d(Tensor(), w, Tensor(), g2); },
                             "conv2d: expected defined input and weight tensors, got an undefined input");
  expect_message<ValueError>([&] { conv2d(x, Tensor(), Tensor(), g2); },
                             "conv2d: expected defined input and weight tensors, got an undefined weight");
  expect_message<ShapeError>(
      [&] {
        conv2d(x, zeros({16, 3, 0, 5}), Tensor(), g2);
      },
      "conv2d: expected a kernel of positive size, got weight [16, 3, 0, 5]");
  expect_message<ValueError>([&] { conv2d(x, w, zeros({16}, DType::Int64), g2); },
                             "conv2d: expected a float32 bias, got int64");
  expect_message<ShapeError>(
      [&] {
        conv2d(zeros({8, 4, 32, 32}), w, Tensor(), g2);
      },
      "conv2d: expected input with 6 channels (weight [16, 3, 5, 5] with groups=2), got input "
      "[8, 4, 32, 32]. Hint: weight dim 1 is in_channels / groups");
  expect_message<ShapeError>(
      [&] {
        conv2d(zeros({8, 5, 32, 32}), w, Tensor(), g2);
      },
      "conv2d: expected in_channels (input dim 1) divisible by groups=2, got input [8, 5, 32, 32]");
  expect_message<ShapeError>(
      [&] {
        conv2d(x, zeros({15, 3, 5, 5}), Tensor(), g2);
      },
      "conv2d: expected out_channels (weight dim 0) divisible by groups=2, got weight [15, 3, 5, 5]");
  Conv2dParams bad = g2;
  bad.groups = 0;
  expect_message<ValueError>([&] { conv2d(x, w, Tensor(), bad); }, "conv2d: expected groups > 0, got 0");
  bad = g2;
  bad.stride = {0, 1};
  expect_message<ValueError>([&] { conv2d(x, w, Tensor(), bad); }, "conv2d: expected stride > 0, got [0, 1]");
  bad = g2;
  bad.dilation = {1, -2};
  expect_message<ValueError>([&] { conv2d(x, w, Tensor(), bad); }, "conv2d: expected dilation > 0, got [1, -2]");
  bad = g2;
  bad.padding = {-1, 0};
  expect_message<ValueError>([&] { conv2d(x, w, Tensor(), bad); }, "conv2d: expected padding >= 0, got [-1, 0]");
  expect_message<ShapeError>([&] { conv2d(x, w, zeros({15}), g2); },
                             "conv2d: expected bias of shape [16] (one per output channel of weight [16, 3, 5, 5]), "
                             "got [15]");
  Conv2dParams dil = g2;
  dil.dilation = {8, 1};
  expect_message<ShapeError>(
      [&] {
        conv2d(zeros({1, 6, 30, 4}), w, Tensor(), dil);
      },
      "conv2d: output size would be 0 or negative: -2x0 (input [1, 6, 30, 4] padded to 30x4, "
      "kernel 5x5 with dilation [8, 1] spans 33x5). Hint: the padded input must be at least as "
      "large as the dilated kernel");
}

}  // namespace
}  // namespace shrink
