// Percentile and MSE-search observers: a range chosen per batch and channel, averaged over batches.
#include "compression/quantization/observers_search.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observer_support.h"

namespace shrink::compression {

RangeSearchObserver::RangeSearchObserver(ObserverOptions options, const char* name) : Observer(options) {
  SHRINK_CHECK(options_.axis >= -1, name, ": expected axis -1 (per tensor) or >= 0, got ", options_.axis);
}

void RangeSearchObserver::observe(const Tensor& x) {
  detail::check_observed(x, options_.axis, name());
  const auto values = detail::channel_values(x, options_.axis);
  const auto channels = static_cast<std::int64_t>(values.size());
  SHRINK_CHECK(batches_ == 0 || min_.numel() == channels, name(), ": expected ", min_.numel(),
               " channels along axis ", options_.axis, " as in earlier batches, got ", channels);
  std::vector<float> lo(values.size()), hi(values.size());
  for (std::size_t c = 0; c < values.size(); ++c) std::tie(lo[c], hi[c]) = choose(values[c]);
  if (batches_ == 0) {
    min_ = zeros({channels});
    max_ = zeros({channels});
  }
  ++batches_;
  detail::running_mean(min_, lo, batches_);
  detail::running_mean(max_, hi, batches_);
}

QParams RangeSearchObserver::qparams() const {
  if (batches_ == 0) return {ones({1}), zeros({1}), -1, options_.range};
  return calculate_qparams(min_, max_, options_.range, options_.scheme, options_.axis);
}

io::StateDict RangeSearchObserver::state() const {
  io::StateDict s;
  s.insert("min_val", min_.clone());
  s.insert("max_val", max_.clone());
  s.insert("batches", full({1}, static_cast<double>(batches_), DType::Int64));
  return s;
}

void RangeSearchObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"min_val", "max_val", "batches"}, name());
  const std::int64_t batches = detail::state_count(state, "batches", 0, name());
  const std::int64_t size = batches == 0 ? 0 : options_.axis < 0 ? 1 : -1;
  Tensor lo = detail::state_floats(state, "min_val", size, name());
  Tensor hi = detail::state_floats(state, "max_val", lo.numel(), name());
  SHRINK_CHECK(batches == 0 || lo.numel() > 0, name(), ".load_state: expected a range for ", batches,
               " batches, got none");
  min_ = lo;
  max_ = hi;
  batches_ = batches;
}

// ---- percentile -------------------------------------------------------------------------------

namespace {

/// The q-th percentile (0 ≤ q ≤ 100) of `v` with linear interpolation; reorders `v`.
double percentile_of(std::vector<float>& v, double q) {
  const double rank = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(rank));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(below), v.end());
  const double a = v[below];
  if (below + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(below) + 1, v.end());
  return a + (rank - static_cast<double>(below)) * (b - a);
}

}  // namespace

PercentileObserver::PercentileObserver(ObserverOptions options) : RangeSearchObserver(options, "percentile") {
  SHRINK_CHECK(options_.percentile >= 50.0 && options_.percentile <= 100.0, name(),
               ": expected percentile in [50, 100], got ", options_.percentile);
}

std::pair<float, float> PercentileObserver::choose(const std::vector<float>& values) const {
  std::vector<float> v = values;
  const double p = options_.percentile;
  const float lo = static_cast<float>(percentile_of(v, 100.0 - p));
  const float hi = static_cast<float>(percentile_of(v, p));
  return {lo, hi};
}

// ---- mse --------------------------------------------------------------------------------------

MseObserver::MseObserver(ObserverOptions options) : RangeSearchObserver(options, "mse") {
  SHRINK_CHECK(options_.mse_grid >= 1, name(), ": expected mse_grid >= 1, got ", options_.mse_grid);
}

std::pair<float, float> MseObserver::choose(const std::vector<float>& values) const {
  const Tensor x = from_vector(values, {static_cast<std::int64_t>(values.size())});
  float mn = 0.0f, mx = 0.0f;
  for (float v : values) {
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  const float grid = static_cast<float>(options_.mse_grid);
  std::pair<float, float> best{mn, mx};
  double best_error = INFINITY;
  for (std::int64_t k = options_.mse_grid; k >= 1; --k) {
    const float alpha = static_cast<float>(k) / grid;
    const float lo = alpha * mn, hi = alpha * mx;
    const QParams q = calculate_qparams(full({1}, lo), full({1}, hi), options_.range, options_.scheme);
    const Tensor out = fake_quantize(x, q);
    const float* o = out.data<float>();
    double error = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double d = static_cast<double>(values[i]) - static_cast<double>(o[i]);
      error += d * d;
    }
    if (error < best_error) {
      best_error = error;
      best = {lo, hi};
    }
  }
  return best;
}

}  // namespace shrink::compression
