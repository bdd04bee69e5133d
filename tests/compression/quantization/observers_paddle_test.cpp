// PaddleSlim's observers and fake quantize-dequantize on hand-computed cases (no Paddle fixtures:
// Paddle is not installed). Every expected float32 value below is worked out from the formulas of
// SEMANTICS §1 "PaddleSlim"; the literals with many digits are those float32 results, noted
// beside their derivation.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/fake_quant_paddle.h"
#include "compression/quantization/observers_paddle.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;

Tensor vec(std::vector<float> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return from_vector(v, {n});
}

ObserverOptions paddle_options(std::int64_t axis = -1) {
  ObserverOptions o;
  o.scheme = QuantScheme::Symmetric;
  o.axis = axis;
  return o;
}

float at(const Tensor& t, std::int64_t i) { return t.data<float>()[i]; }

TEST(FakeQuantizeAbsMax, RoundsClipsAndDequantizesInPaddlesOrder) {
  // s = 1, bin_cnt = 127: q = round_half_even(127·x) clipped to [-128, 127], x̂ = q·1/127.
  // 0.3 → 38.1 → 38 → 38/127; 5 → 635 → 127 → 1; -5 → -635 → -128 → -128/127;
  // 0.5/127·(2k+1) ties: 0.5 → 0, 1.5 → 2 (to even).
  const Tensor x = vec({0.3f, 5.0f, -5.0f, 0.5f / 127.0f, 1.5f / 127.0f, 0.0f});
  const Tensor out = fake_quantize_abs_max(x, 1.0f, 127);
  EXPECT_EQ(at(out, 0), 0.29921260476112366f);  // (38·1)/127
  EXPECT_EQ(at(out, 1), 1.0f);
  EXPECT_EQ(at(out, 2), -1.0078740119934082f);  // (-128·1)/127
  EXPECT_EQ(at(out, 3), 0.0f);
  EXPECT_EQ(at(out, 4), 2.0f / 127.0f);
  EXPECT_EQ(at(out, 5), 0.0f);
}

TEST(FakeQuantizeAbsMax, DiffersFromPyTorchsKernelWithScaleThresholdOverBinCnt) {
  // Why the dedicated op exists. Dequantization: Paddle (9·1)/127 = 0.070866145f, PyTorch's kernel
  // 9·fl(1/127) = 0.070866138f.
  const Tensor x = vec({1.0f, 9.0f / 127.0f});
  EXPECT_EQ(at(fake_quantize_abs_max(x, 1.0f, 127), 1), 0.07086614519357681f);
  EXPECT_EQ(at(fake_quantize_per_tensor(x, 1.0f / 127.0f, 0, -128, 127), 1), 0.07086613774299622f);
  // Rounding: s = 4.139257, x = -1.1244439: Paddle's (127·(1/s))·x = -34.500004 → q = -35, and
  // (-35·s)/127 = -1.1407402f; PyTorch's x·(1/fl(s/127)) is exactly -34.5 → -34 → -1.1081476f.
  const float s = 4.139256954193115f;
  const Tensor y = vec({-1.1244438886642456f});
  EXPECT_EQ(at(fake_quantize_abs_max(y, s, 127), 0), -1.140740156173706f);
  EXPECT_EQ(at(fake_quantize_per_tensor(y, s / 127.0f, 0, -128, 127), 0), -1.1081476211547852f);
}

TEST(FakeQuantizeAbsMax, GradientPassesStraightThroughEverywhereAsInPaddle) {
  Tensor x = vec({0.3f, 5.0f, -5.0f}).requires_grad_(true);
  sum(fake_quantize_abs_max(x, 1.0f, 127) * vec({1.0f, 2.0f, 3.0f})).backward();
  EXPECT_TRUE(tensors_identical(x.grad(), vec({1.0f, 2.0f, 3.0f})));  // clipped values included
  Tensor w = from_vector(std::vector<float>{1.0f, 9.0f, -0.2f, 0.1f}, {2, 2}).requires_grad_(true);
  sum(fake_quantize_channel_wise_abs_max(w, vec({1.0f, 0.1f}), 0, 7)).backward();
  EXPECT_TRUE(tensors_identical(w.grad(), ones({2, 2})));
}

TEST(FakeQuantizeAbsMax, ChannelWiseUsesOneThresholdPerSlice) {
  // 4 bits: bin_cnt 7. Row 0, s = 1: 9 → 63 → 7 → 1. Row 1, s = 0.1: -0.2 → -14 → -8 → -0.8/7;
  // 0.1 → 7 → 0.1·7/7.
  const Tensor w = from_vector(std::vector<float>{1.0f, 9.0f, -0.2f, 0.1f}, {2, 2});
  const Tensor out = fake_quantize_channel_wise_abs_max(w, vec({1.0f, 0.1f}), 0, 7);
  EXPECT_TRUE(tensors_identical(
      out, from_vector(std::vector<float>{1.0f, 1.0f, (-8.0f * 0.1f) / 7.0f, (7.0f * 0.1f) / 7.0f}, {2, 2})));
}

TEST(FakeQuantizeAbsMax, AZeroThresholdUsesPaddlesGuard) {
  // s = 0 → inv = 1/(0 + 1e-6): any x ≠ 0 clips, and x̂ = q·0/127 = 0 (or -0).
  const Tensor out = fake_quantize_abs_max(vec({0.0f, 1.0f}), 0.0f, 127);
  EXPECT_EQ(at(out, 0), 0.0f);
  EXPECT_EQ(at(out, 1), 0.0f);
}

TEST(FakeQuantizeAbsMax, BadArgumentsAreErrors) {
  const Tensor x = ones({2, 3});
  EXPECT_EQ(error_of<ValueError>([&] { fake_quantize_abs_max(x, -1.0f, 127); }),
            "fake_quantize_abs_max: expected a finite threshold >= 0, got -1");
  EXPECT_EQ(error_of<ValueError>([&] { fake_quantize_abs_max(x, 1.0f, 0); }),
            "fake_quantize_abs_max: expected bin_cnt >= 1, got 0");
  EXPECT_EQ(error_of<ShapeError>([&] { fake_quantize_channel_wise_abs_max(x, ones({3}), 0, 127); }),
            "fake_quantize_channel_wise_abs_max: expected float32 thresholds of shape [2] (the size of axis 0 of "
            "input [2, 3]), got [3]");
  EXPECT_EQ(error_of<IndexError>([&] { fake_quantize_channel_wise_abs_max(x, ones({2}), 2, 127); }),
            "fake_quantize_channel_wise_abs_max: expected axis in [0, 2) for input [2, 3], got 2");
}

TEST(PaddleObservers, AbsMaxTakesTheLatestTensorsMaxAbs) {
  AbsMaxObserver obs(paddle_options());
  EXPECT_EQ(at(obs.qparams().scale, 0), 1.0f);  // nothing observed yet
  obs.observe(vec({-3.0f, 1.0f, 2.0f}));
  EXPECT_EQ(at(obs.thresholds(), 0), 3.0f);
  const QParams q = obs.qparams();
  EXPECT_EQ(at(q.scale, 0), 0.023622047156095505f);  // 3/127
  EXPECT_EQ(at(q.zero_point, 0), 0.0f);
  EXPECT_EQ(q.range, (QuantRange{-128, 127}));
  obs.observe(vec({0.5f, -1.0f}));
  EXPECT_EQ(at(obs.thresholds(), 0), 1.0f);  // recomputed, not a running max
  EXPECT_EQ(at(obs.fake_quantize(vec({0.3f})), 0), 0.29921260476112366f);  // (38·1)/127
}

TEST(PaddleObservers, ChannelWiseAbsMaxPerOutputChannel) {
  ChannelWiseAbsMaxObserver obs(paddle_options(0));
  obs.observe(from_vector(std::vector<float>{1.0f, -4.0f, 2.0f, 0.5f, 0.25f, -0.1f}, {2, 3}));
  EXPECT_TRUE(tensors_identical(obs.thresholds(), vec({4.0f, 0.5f})));
  EXPECT_TRUE(tensors_identical(obs.qparams().scale, vec({4.0f / 127.0f, 0.5f / 127.0f})));
  EXPECT_EQ(obs.qparams().axis, 0);
  ChannelWiseAbsMaxObserver by_column(paddle_options(1));
  by_column.observe(from_vector(std::vector<float>{1.0f, -4.0f, 2.0f, 0.5f, 0.25f, -0.1f}, {2, 3}));
  EXPECT_TRUE(tensors_identical(by_column.thresholds(), vec({1.0f, 4.0f, 2.0f})));
  EXPECT_EQ(error_of<ValueError>([&] { by_column.observe(ones({2, 4})); }),
            "channel_wise_abs_max: expected 3 channels along axis 1 as in earlier batches, got 4");
}

TEST(PaddleObservers, RangeAbsMaxIsTheMaximumOverTheWindow) {
  ObserverOptions o = paddle_options();
  o.window_size = 3;
  RangeAbsMaxObserver obs(o);
  std::vector<float> seen;
  for (float m : {1.0f, -5.0f, 2.0f, 3.0f, 4.0f}) {
    obs.observe(vec({m, 0.5f}));
    seen.push_back(at(obs.thresholds(), 0));
  }
  // windows: {1} {1,5} {1,5,2} {5,2,3} {2,3,4}
  EXPECT_EQ(seen, (std::vector<float>{1.0f, 5.0f, 5.0f, 5.0f, 4.0f}));
}

TEST(PaddleObservers, MovingAverageAbsMaxIsABiasCorrectedEma) {
  MovingAverageAbsMaxObserver obs(paddle_options());
  std::vector<float> seen;
  for (float m : {2.0f, 4.0f, 1.0f}) {
    obs.observe(vec({-m, 0.0f}));
    seen.push_back(at(obs.thresholds(), 0));
  }
  // state 1, 1.9, 2.71; accum 2, 5.8, 6.22 (float32: 1.9 → 1.89999998, 5.8 → 5.80000019, ...)
  EXPECT_EQ(seen, (std::vector<float>{2.0f, 3.0526316165924072f, 2.2952029705047607f}));
}

TEST(PaddleObservers, OptionsThatPaddleCannotHonourAreErrors) {
  ObserverOptions affine;
  EXPECT_EQ(error_of<ValueError>([&] { AbsMaxObserver{affine}; }),
            "abs_max: expected scheme symmetric, got affine (PaddleSlim's observers are symmetric with zero point 0)");
  ObserverOptions unsigned_grid = paddle_options();
  unsigned_grid.range = QuantRange::of(8, false);
  EXPECT_EQ(error_of<ValueError>([&] { RangeAbsMaxObserver{unsigned_grid}; }),
            "range_abs_max: expected a signed b-bit range [-2^(b-1), 2^(b-1)-1], got [0, 255] (PaddleSlim clips to "
            "[-bin_cnt-1, bin_cnt], bin_cnt = 2^(b-1)-1)");
  ObserverOptions restricted = paddle_options();
  restricted.range = QuantRange::of(8, true, true);
  EXPECT_EQ(error_of<ValueError>([&] { AbsMaxObserver{restricted}; }),
            "abs_max: expected a signed b-bit range [-2^(b-1), 2^(b-1)-1], got [-127, 127] (PaddleSlim clips to "
            "[-bin_cnt-1, bin_cnt], bin_cnt = 2^(b-1)-1)");
  EXPECT_EQ(error_of<ValueError>([&] { ChannelWiseAbsMaxObserver{paddle_options()}; }),
            "channel_wise_abs_max: expected a channel axis >= 0, got -1 (Hint: weights use axis 0)");
  EXPECT_EQ(error_of<ValueError>([&] { MovingAverageAbsMaxObserver{paddle_options(0)}; }),
            "moving_average_abs_max: expected axis -1 (one threshold per tensor), got 0 (Hint: "
            "channel_wise_abs_max is the per-channel observer)");
  ObserverOptions bad_rate = paddle_options();
  bad_rate.moving_rate = 1.0f;
  EXPECT_EQ(error_of<ValueError>([&] { MovingAverageAbsMaxObserver{bad_rate}; }),
            "moving_average_abs_max: expected moving_rate in [0, 1), got 1");
  ObserverOptions bad_window = paddle_options();
  bad_window.window_size = 0;
  EXPECT_EQ(error_of<ValueError>([&] { RangeAbsMaxObserver{bad_window}; }),
            "range_abs_max: expected window_size >= 1, got 0");
  AbsMaxObserver fresh(paddle_options());
  EXPECT_EQ(error_of<ValueError>([&] { fresh.fake_quantize(ones({2})); }),
            "abs_max: expected at least one observed batch before fake_quantize, got none");
}

}  // namespace
}  // namespace shrink::compression
