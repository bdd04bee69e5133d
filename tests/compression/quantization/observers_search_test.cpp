// The percentile observer and the MSE search on data small enough to check by hand; the expected
// ranges are worked out in the comments from the formulas of observers_search.h.
#include <gtest/gtest.h>

#include <numeric>

#include "autograd/ops.h"
#include "compression/quantization/observers_search.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;

Tensor vec(const std::vector<float>& v) { return from_vector(v, {static_cast<std::int64_t>(v.size())}); }

/// 0, 1, ..., 100 times `factor`.
std::vector<float> ramp(float factor) {
  std::vector<float> v(101);
  for (int i = 0; i <= 100; ++i) v[i] = static_cast<float>(i) * factor;
  return v;
}

ObserverOptions options(double percentile, std::int64_t axis = -1) {
  ObserverOptions o;
  o.percentile = percentile;
  o.axis = axis;
  return o;
}

TEST(PercentileObserver, ClipsAtThePercentilesWithLinearInterpolation) {
  // 101 values 0..100: the q-th percentile sits at rank q/100·100 = q exactly.
  PercentileObserver p99(options(99.0));
  p99.observe(vec(ramp(1.0f)));
  EXPECT_TRUE(tensors_identical(p99.min_val(), vec({1.0f})));
  EXPECT_TRUE(tensors_identical(p99.max_val(), vec({99.0f})));
  // 99.5: rank 99.5, halfway between 99 and 100; 0.5: halfway between 0 and 1.
  PercentileObserver p995(options(99.5));
  p995.observe(vec(ramp(1.0f)));
  EXPECT_TRUE(tensors_identical(p995.min_val(), vec({0.5f})));
  EXPECT_TRUE(tensors_identical(p995.max_val(), vec({99.5f})));
  // Order does not matter: the reversed ramp gives the same.
  std::vector<float> reversed = ramp(1.0f);
  std::reverse(reversed.begin(), reversed.end());
  PercentileObserver again(options(99.5));
  again.observe(vec(reversed));
  EXPECT_TRUE(tensors_identical(again.max_val(), vec({99.5f})));
  // 100: the plain min and max.
  PercentileObserver p100(options(100.0));
  p100.observe(vec(ramp(-1.0f)));
  EXPECT_TRUE(tensors_identical(p100.min_val(), vec({-100.0f})));
  EXPECT_EQ(p100.max_val().data<float>()[0], 0.0f);  // -0: the ramp is 0·(-1)
}

TEST(PercentileObserver, AveragesTheBatchesRangesAndGivesTheirQParams) {
  PercentileObserver obs(options(99.0));
  obs.observe(vec(ramp(1.0f)));  // (1, 99)
  obs.observe(vec(ramp(2.0f)));  // (2, 198)
  EXPECT_TRUE(tensors_identical(obs.min_val(), vec({1.5f})));
  EXPECT_TRUE(tensors_identical(obs.max_val(), vec({148.5f})));
  // Affine int8, widened to [0, 148.5]: scale 148.5/255, zero point -128 - round(0) = -128.
  const QParams q = obs.qparams();
  EXPECT_EQ(q.scale.data<float>()[0], 148.5f / 255.0f);
  EXPECT_EQ(q.zero_point.data<float>()[0], -128.0f);
}

TEST(PercentileObserver, PerChannel) {
  std::vector<float> rows = ramp(1.0f);
  const std::vector<float> down = ramp(-1.0f);
  rows.insert(rows.end(), down.begin(), down.end());
  PercentileObserver obs(options(99.0, 0));
  obs.observe(from_vector(rows, {2, 101}));
  EXPECT_TRUE(tensors_identical(obs.min_val(), vec({1.0f, -99.0f})));
  EXPECT_TRUE(tensors_identical(obs.max_val(), vec({99.0f, -1.0f})));
  EXPECT_EQ(obs.qparams().axis, 0);
}

ObserverOptions two_bit(std::int64_t axis = -1) {
  ObserverOptions o;
  o.range = QuantRange::of(2, true);  // [-2, 1]
  o.scheme = QuantScheme::Symmetric;  // scale = amax / 1.5
  o.mse_grid = 3;                     // α = 1, 2/3, 1/3
  o.axis = axis;
  return o;
}

TEST(MseObserver, KeepsTheClippingWithTheLeastSquaredError) {
  // x = {1, 1, 1, 1, 3}, 2-bit symmetric grid [-2, 1]:
  //  α = 1:   amax 3, scale 2:    1 → round(0.5) = 0 → 0 (err 1 each), 3 → round(1.5) = 2 → 1 → 2 (err 1): 5
  //  α = 2/3: amax 2, scale 4/3:  1 → round(0.75) = 1 → 4/3 (err 1/9 each), 3 → 2 → 1 → 4/3 (err 25/9): 29/9
  //  α = 1/3: amax 1, scale 2/3:  1 → round(1.5) = 2 → 1 → 2/3 (err 1/9 each), 3 → 1 → 2/3 (err 49/9): 53/9
  // α = 2/3 wins: the range (2/3·0, 2/3·3) = (0, 2).
  MseObserver obs(two_bit());
  obs.observe(vec({1.0f, 1.0f, 1.0f, 1.0f, 3.0f}));
  EXPECT_TRUE(tensors_identical(obs.min_val(), vec({0.0f})));
  EXPECT_TRUE(tensors_identical(obs.max_val(), vec({2.0f})));
  EXPECT_EQ(obs.qparams().scale.data<float>()[0], 2.0f / 1.5f);
}

TEST(MseObserver, PerChannelSearchesEachChannel) {
  // Row 0 as above (α = 2/3 → max 2). Row 1 = {1, 1, 1, 1, 1}: α = 1: scale 2/3, 1 → 2 → 1 → 2/3, err 5/9;
  // α = 2/3: scale 4/9, 1 → round(2.25) = 2 → 1 → 4/9, err 5·25/81; α = 1/3 worse still → max 1.
  MseObserver obs(two_bit(0));
  obs.observe(from_vector(std::vector<float>{1, 1, 1, 1, 3, 1, 1, 1, 1, 1}, {2, 5}));
  EXPECT_TRUE(tensors_identical(obs.max_val(), vec({2.0f, 1.0f})));
  // A tie keeps the larger α: all zeros quantize exactly at every α, so the range stays (0, 0).
  MseObserver zeros_obs(two_bit());
  zeros_obs.observe(zeros({4}));
  EXPECT_TRUE(tensors_identical(zeros_obs.max_val(), vec({0.0f})));
}

TEST(SearchObservers, BadOptionsAndInputsAreErrors) {
  EXPECT_EQ(error_of<ValueError>([] { PercentileObserver{options(40.0)}; }),
            "percentile: expected percentile in [50, 100], got 40");
  ObserverOptions o;
  o.mse_grid = 0;
  EXPECT_EQ(error_of<ValueError>([&] { MseObserver{o}; }), "mse: expected mse_grid >= 1, got 0");
  PercentileObserver obs(options(99.0, 1));
  obs.observe(ones({2, 3}));
  EXPECT_EQ(error_of<ValueError>([&] { obs.observe(ones({2, 4})); }),
            "percentile: expected 3 channels along axis 1 as in earlier batches, got 4");
  EXPECT_EQ(error_of<IndexError>([&] { obs.observe(ones({3})); }),
            "percentile: expected a tensor with a dim 1 (the channel axis), got shape [3]");
  EXPECT_EQ(error_of<ValueError>([&] { obs.observe(Tensor()); }),
            "percentile: expected a non-empty float32 tensor, got an undefined tensor");
}

}  // namespace
}  // namespace shrink::compression
