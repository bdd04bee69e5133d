// Observer state for checkpoints: state() then load_state() into a fresh observer gives the same
// qparams and the same updates afterwards; damaged states are refused before anything changes.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "autograd/ops.h"
#include "compression/quantization/observer_histogram.h"
#include "compression/quantization/observers.h"
#include "compression/quantization/observers_paddle.h"
#include "compression/quantization/observers_search.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;

using Factory = std::function<std::unique_ptr<Observer>()>;

Tensor batch(int i) {
  std::vector<float> v(24);
  for (int k = 0; k < 24; ++k) v[k] = static_cast<float>((k * 7 + i * 5) % 11) * 0.3f - 1.2f - 0.1f * i;
  return from_vector(v, {2, 3, 4});
}

void expect_same_qparams(const Observer& a, const Observer& b) {
  const QParams qa = a.qparams(), qb = b.qparams();
  EXPECT_TRUE(tensors_identical(qa.scale, qb.scale));
  EXPECT_TRUE(tensors_identical(qa.zero_point, qb.zero_point));
  EXPECT_EQ(qa.axis, qb.axis);
}

/// Observes two batches, saves, restores into a new observer, then feeds both a third batch.
void round_trip(const Factory& make) {
  auto a = make();
  SCOPED_TRACE(a->name());
  a->observe(batch(0));
  a->observe(batch(1));
  auto b = make();
  EXPECT_TRUE(b->empty());
  b->load_state(a->state());
  EXPECT_FALSE(b->empty());
  expect_same_qparams(*a, *b);
  a->observe(batch(2));
  b->observe(batch(2));
  expect_same_qparams(*a, *b);
  // An empty state restores "nothing observed".
  auto fresh = make();
  auto c = make();
  c->observe(batch(0));
  c->load_state(fresh->state());
  EXPECT_TRUE(c->empty());
  expect_same_qparams(*fresh, *c);
}

ObserverOptions with(QuantScheme scheme, std::int64_t axis) {
  ObserverOptions o;
  o.scheme = scheme;
  o.axis = axis;
  return o;
}

TEST(ObserverState, EveryObserverRoundTrips) {
  const auto sym = QuantScheme::Symmetric, aff = QuantScheme::Affine;
  ObserverOptions window = with(sym, -1);
  window.window_size = 2;
  const std::vector<Factory> factories = {
      [&] { return std::make_unique<MinMaxObserver>(with(aff, -1)); },
      [&] { return std::make_unique<MinMaxObserver>(with(sym, 1)); },
      [&] { return std::make_unique<MovingAverageMinMaxObserver>(with(aff, -1)); },
      [&] { return std::make_unique<MovingAverageMinMaxObserver>(with(aff, 0)); },
      [&] { return std::make_unique<AbsMaxObserver>(with(sym, -1)); },
      [&] { return std::make_unique<ChannelWiseAbsMaxObserver>(with(sym, 0)); },
      [&] { return std::make_unique<RangeAbsMaxObserver>(window); },
      [&] { return std::make_unique<MovingAverageAbsMaxObserver>(with(sym, -1)); },
      [&] { return std::make_unique<PercentileObserver>(with(aff, -1)); },
      [&] { return std::make_unique<PercentileObserver>(with(sym, 2)); },
      [&] { return std::make_unique<MseObserver>(with(sym, -1)); },
      [&] { return std::make_unique<MseObserver>(with(aff, 1)); },
      [&] { return std::make_unique<HistogramObserver>(with(aff, -1)); },
  };
  for (const auto& f : factories) round_trip(f);
}

TEST(ObserverState, DamagedStatesAreRefusedWithoutChangingTheObserver) {
  MinMaxObserver obs;
  obs.observe(batch(0));
  const QParams before = obs.qparams();
  io::StateDict missing;
  missing.insert("min_val", full({1}, -1.0));
  EXPECT_EQ(error_of<ValueError>([&] { obs.load_state(missing); }),
            "min_max.load_state: expected the entries (max_val, min_val), got (min_val) (Hint: the state was saved "
            "by another observer)");
  io::StateDict wrong_shape;
  wrong_shape.insert("min_val", full({2}, -1.0));
  wrong_shape.insert("max_val", full({2}, 1.0));
  EXPECT_EQ(error_of<ValueError>([&] { obs.load_state(wrong_shape); }),
            "min_max.load_state: expected 'min_val' to be a float32 tensor of shape [1], got float32 [2]");
  EXPECT_TRUE(tensors_identical(obs.qparams().scale, before.scale));

  ObserverOptions o = with(QuantScheme::Symmetric, -1);
  o.window_size = 2;
  RangeAbsMaxObserver range(o);
  io::StateDict too_long;
  too_long.insert("window", full({3}, 1.0));
  EXPECT_EQ(error_of<ValueError>([&] { range.load_state(too_long); }),
            "range_abs_max.load_state: expected at most window_size = 2 entries in 'window', got 3");
  MovingAverageAbsMaxObserver ema(with(QuantScheme::Symmetric, -1));
  io::StateDict negative;
  negative.insert("state", full({1}, -1.0));
  negative.insert("accum", full({1}, 1.0));
  EXPECT_EQ(error_of<ValueError>([&] { ema.load_state(negative); }),
            "moving_average_abs_max.load_state: expected finite 'state' and 'accum' >= 0, got -1 and 1");
}

}  // namespace
}  // namespace shrink::compression
