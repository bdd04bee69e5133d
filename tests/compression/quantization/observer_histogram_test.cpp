// HistogramObserver against torch.ao.quantization.HistogramObserver
// (tests/fixtures/gen_histogram_observer.py): the running histogram, range and qparams after each
// of four batches that exercise both ways of merging a batch (same range: add; wider range:
// re-bin the old histogram), for affine and symmetric, int8 and uint8 grids. Compared bit for
// bit: observer_histogram.h lists where Shrink's arithmetic differs from PyTorch's (a double sum
// of the candidate errors; the float histogram range), none of which changes these cases. Then
// "histogram_torch113" (PyTorch 1.13's truncated histc range) on fractional ranges
// (tests/fixtures/gen_histogram_observer_torch113.py).
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "compression/quantization/observer_histogram.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::fixture_file;
using testing::fixture_tensor;
using testing::tensors_identical;

TEST(HistogramObserver, MatchesPyTorchAfterEveryBatch) {
  int seen = 0;
  for (const auto& [name, c] : fixture_file("histogram_observer").items()) {
    SCOPED_TRACE(name);
    ++seen;
    const auto& a = c["attrs"];
    ObserverOptions o;
    o.range = {a["quant_min"], a["quant_max"]};
    o.scheme = a["symmetric"].get<bool>() ? QuantScheme::Symmetric : QuantScheme::Affine;
    HistogramObserver obs(o);
    for (int i = 0; i < 4; ++i) {
      SCOPED_TRACE(i);
      const std::string k = std::to_string(i);
      obs.observe(fixture_tensor(c["inputs"]["batch" + k]));
      const auto& out = c["outputs"];
      EXPECT_TRUE(tensors_identical(obs.min_val(), fixture_tensor(out["min_val" + k])));
      EXPECT_TRUE(tensors_identical(obs.max_val(), fixture_tensor(out["max_val" + k])));
      if (out.contains("histogram" + k))
        EXPECT_TRUE(tensors_identical(obs.histogram(), fixture_tensor(out["histogram" + k])));
      const QParams q = obs.qparams();
      EXPECT_TRUE(tensors_identical(q.scale, fixture_tensor(out["scale" + k])));
      EXPECT_TRUE(tensors_identical(q.zero_point, fixture_tensor(out["zero_point" + k])));
    }
  }
  EXPECT_EQ(seen, 4);
}

TEST(HistogramObserver, Torch113RangeMatchesPyTorch113OnFractionalRanges) {
  // tests/fixtures/gen_histogram_observer_torch113.py: PyTorch 1.13 bins each batch over
  // [int(min), int(max)] (values outside uncounted), or over the batch's own range when both
  // truncate to the same integer. The float-range observer differs on the same batches.
  int seen = 0;
  for (const auto& [name, c] : fixture_file("histogram_observer_torch113").items()) {
    SCOPED_TRACE(name);
    ++seen;
    ObserverOptions o;
    o.range = {c["attrs"]["quant_min"], c["attrs"]["quant_max"]};
    HistogramObserver obs(o, HistogramRange::Truncated), float_range(o);
    EXPECT_EQ(obs.name(), "histogram_torch113");
    bool differs = false;
    for (int i = 0; i < c["attrs"]["batches"].get<int>(); ++i) {
      SCOPED_TRACE(i);
      const std::string k = std::to_string(i);
      const Tensor batch = fixture_tensor(c["inputs"]["batch" + k]);
      obs.observe(batch);
      float_range.observe(batch);
      const auto& out = c["outputs"];
      EXPECT_TRUE(tensors_identical(obs.min_val(), fixture_tensor(out["min_val" + k])));
      EXPECT_TRUE(tensors_identical(obs.max_val(), fixture_tensor(out["max_val" + k])));
      EXPECT_TRUE(tensors_identical(obs.histogram(), fixture_tensor(out["histogram" + k])));
      const QParams q = obs.qparams();
      EXPECT_TRUE(tensors_identical(q.scale, fixture_tensor(out["scale" + k])));
      EXPECT_TRUE(tensors_identical(q.zero_point, fixture_tensor(out["zero_point" + k])));
      differs = differs || !tensors_identical(float_range.histogram(), obs.histogram());
    }
    EXPECT_TRUE(differs);
  }
  EXPECT_EQ(seen, 2);
}

TEST(HistogramObserver, AConstantBatchIsBinnedOverItsValuePlusMinusOne) {
  // min = max = 2: histc widens to [1, 3], so the three values land in bin (2 − 1)·2048/2 = 1024;
  // the range stays [2, 2], and the next batch starts the histogram afresh (PyTorch's rule).
  HistogramObserver obs;
  obs.observe(full({3}, 2.0));
  EXPECT_EQ(obs.histogram().data<float>()[1024], 3.0f);
  EXPECT_EQ(sum(obs.histogram()).item<float>(), 3.0f);
  EXPECT_EQ(obs.min_val().data<float>()[0], 2.0f);
  EXPECT_EQ(obs.max_val().data<float>()[0], 2.0f);
  obs.observe(from_vector(std::vector<float>{0.0f, 4.0f}, {2}));
  EXPECT_EQ(obs.histogram().data<float>()[0], 1.0f);
  EXPECT_EQ(obs.histogram().data<float>()[2047], 1.0f);
  EXPECT_EQ(sum(obs.histogram()).item<float>(), 2.0f);
}

TEST(HistogramObserver, BadOptionsAndUseBeforeAnyBatch) {
  ObserverOptions per_channel;
  per_channel.axis = 0;
  EXPECT_EQ(error_of<ValueError>([&] { HistogramObserver{per_channel}; }),
            "histogram: expected axis -1 (the histogram observer is per tensor), got 0");
  HistogramObserver fresh;
  EXPECT_EQ(fresh.qparams().scale.data<float>()[0], 1.0f);
  EXPECT_EQ(error_of<ValueError>([&] { fresh.search_range(); }),
            "histogram: expected at least one observed batch, got none");
}

}  // namespace
}  // namespace shrink::compression
