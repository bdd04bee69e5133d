// make_observer: every name builds the observer that reports that name; an unknown name lists
// the known ones.
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "compression/quantization/observer_registry.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::error_of;

TEST(ObserverRegistry, EveryNameBuildsThatObserver) {
  ObserverOptions per_tensor;
  per_tensor.scheme = QuantScheme::Symmetric;
  ObserverOptions per_channel = per_tensor;
  per_channel.axis = 0;
  for (const auto& name : observer_names()) {
    SCOPED_TRACE(name);
    auto obs = make_observer(name, name == "channel_wise_abs_max" ? per_channel : per_tensor);
    EXPECT_EQ(obs->name(), name);
    obs->observe(from_vector(std::vector<float>{-1.0f, 0.5f, 2.0f, 0.25f}, {2, 2}));
    EXPECT_GT(obs->qparams().scale.data<float>()[0], 0.0f);
  }
  EXPECT_EQ(observer_names().size(), 10u);
}

TEST(ObserverRegistry, AnUnknownNameListsTheKnownOnes) {
  EXPECT_EQ(error_of<ValueError>([] { make_observer("minmax"); }),
            "make_observer: expected an observer name (min_max, moving_average_min_max, histogram, histogram_torch113, "
            "percentile, mse, "
            "abs_max, channel_wise_abs_max, range_abs_max, moving_average_abs_max), got 'minmax'");
}

TEST(ObserverRegistry, TheObserversOwnChecksApply) {
  EXPECT_EQ(error_of<ValueError>([] { make_observer("abs_max"); }),
            "abs_max: expected scheme symmetric, got affine (PaddleSlim's observers are symmetric with zero point 0)");
}

}  // namespace
}  // namespace shrink::compression
