// PaddleSlim's abs-max observers, in float32 as Paddle's kernels compute them.
#include "compression/quantization/observers_paddle.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "compression/quantization/fake_quant_paddle.h"
#include "compression/quantization/observer_support.h"

namespace shrink::compression {
namespace {

std::string range_str(const QuantRange& r) {
  std::string out = "[";
  out += std::to_string(r.qmin);
  out += ", ";
  out += std::to_string(r.qmax);
  return out + "]";
}

/// Whether r is [−2^(b−1), 2^(b−1) − 1] for some b.
bool full_signed(const QuantRange& r) {
  const std::int64_t half = r.qmax + 1;
  return r.qmin == -half && half >= 2 && (half & (half - 1)) == 0;
}

/// {"threshold": a copy of `t`}.
io::StateDict threshold_state(const Tensor& t) {
  io::StateDict s;
  s.insert("threshold", t.clone());
  return s;
}

}  // namespace

AbsMaxObserverBase::AbsMaxObserverBase(ObserverOptions options, bool per_channel, const char* name)
    : Observer(options) {
  SHRINK_CHECK(options_.scheme == QuantScheme::Symmetric, name, ": expected scheme symmetric, got ",
               scheme_name(options_.scheme), " (PaddleSlim's observers are symmetric with zero point 0)");
  SHRINK_CHECK(full_signed(options_.range), name, ": expected a signed b-bit range [-2^(b-1), 2^(b-1)-1], got ",
               range_str(options_.range), " (PaddleSlim clips to [-bin_cnt-1, bin_cnt], bin_cnt = 2^(b-1)-1)");
  if (per_channel)
    SHRINK_CHECK(options_.axis >= 0, name, ": expected a channel axis >= 0, got ", options_.axis,
                 " (Hint: weights use axis 0)");
  else
    SHRINK_CHECK(options_.axis == -1, name, ": expected axis -1 (one threshold per tensor), got ", options_.axis,
                 " (Hint: channel_wise_abs_max is the per-channel observer)");
}

QParams AbsMaxObserverBase::qparams() const {
  if (threshold_.numel() == 0) return {ones({1}), zeros({1}), -1, options_.range};
  const std::int64_t n = threshold_.numel();
  QParams q{zeros({n}), zeros({n}), options_.axis, options_.range};
  const float b = static_cast<float>(bin_cnt()), eps = std::numeric_limits<float>::epsilon();
  for (std::int64_t c = 0; c < n; ++c) q.scale.data<float>()[c] = std::max(threshold_.data<float>()[c] / b, eps);
  return q;
}

Tensor AbsMaxObserverBase::fake_quantize(const Tensor& x) const {
  SHRINK_CHECK(threshold_.numel() > 0, name(), ": expected at least one observed batch before fake_quantize, got none");
  if (options_.axis >= 0) return fake_quantize_channel_wise_abs_max(x, threshold_, options_.axis, bin_cnt());
  return fake_quantize_abs_max(x, threshold_.data<float>()[0], bin_cnt());
}

// ---- abs_max ----------------------------------------------------------------------------------

AbsMaxObserver::AbsMaxObserver(ObserverOptions options) : AbsMaxObserverBase(options, false, "abs_max") {}

void AbsMaxObserver::observe(const Tensor& x) {
  detail::check_observed(x, -1, name());
  threshold_ = full({1}, detail::abs_max(detail::channel_values(x, -1)[0]));
}

io::StateDict AbsMaxObserver::state() const { return threshold_state(threshold_); }

void AbsMaxObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"threshold"}, name());
  Tensor t = detail::state_floats(state, "threshold", -1, name());
  SHRINK_CHECK(t.numel() <= 1, name(), ".load_state: expected 'threshold' of shape [1] (or [0] before any batch), got ",
               shape_str(t.shape()));
  threshold_ = t;
}

// ---- channel_wise_abs_max ---------------------------------------------------------------------

ChannelWiseAbsMaxObserver::ChannelWiseAbsMaxObserver(ObserverOptions options)
    : AbsMaxObserverBase(options, true, "channel_wise_abs_max") {}

void ChannelWiseAbsMaxObserver::observe(const Tensor& x) {
  detail::check_observed(x, options_.axis, name());
  const auto values = detail::channel_values(x, options_.axis);
  SHRINK_CHECK(threshold_.numel() == 0 || threshold_.numel() == static_cast<std::int64_t>(values.size()), name(),
               ": expected ", threshold_.numel(), " channels along axis ", options_.axis,
               " as in earlier batches, got ", values.size());
  Tensor t = zeros({static_cast<std::int64_t>(values.size())});
  for (std::size_t c = 0; c < values.size(); ++c) t.data<float>()[c] = detail::abs_max(values[c]);
  threshold_ = t;
}

io::StateDict ChannelWiseAbsMaxObserver::state() const { return threshold_state(threshold_); }

void ChannelWiseAbsMaxObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"threshold"}, name());
  threshold_ = detail::state_floats(state, "threshold", -1, name());
}

// ---- range_abs_max ----------------------------------------------------------------------------

RangeAbsMaxObserver::RangeAbsMaxObserver(ObserverOptions options) : AbsMaxObserverBase(options, false, "range_abs_max") {
  SHRINK_CHECK(options_.window_size >= 1, name(), ": expected window_size >= 1, got ", options_.window_size);
}

void RangeAbsMaxObserver::update_threshold() {
  threshold_ = window_.empty() ? zeros({0}) : full({1}, *std::max_element(window_.begin(), window_.end()));
}

void RangeAbsMaxObserver::observe(const Tensor& x) {
  detail::check_observed(x, -1, name());
  window_.push_back(detail::abs_max(detail::channel_values(x, -1)[0]));
  if (static_cast<std::int64_t>(window_.size()) > options_.window_size) window_.pop_front();
  update_threshold();
}

io::StateDict RangeAbsMaxObserver::state() const {
  io::StateDict s;
  s.insert("window", from_vector(std::vector<float>(window_.begin(), window_.end()),
                                 {static_cast<std::int64_t>(window_.size())}));
  return s;
}

void RangeAbsMaxObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"window"}, name());
  Tensor w = detail::state_floats(state, "window", -1, name());
  SHRINK_CHECK(w.numel() <= options_.window_size, name(), ".load_state: expected at most window_size = ",
               options_.window_size, " entries in 'window', got ", w.numel());
  window_.assign(w.data<float>(), w.data<float>() + w.numel());
  update_threshold();
}

// ---- moving_average_abs_max -------------------------------------------------------------------

MovingAverageAbsMaxObserver::MovingAverageAbsMaxObserver(ObserverOptions options)
    : AbsMaxObserverBase(options, false, "moving_average_abs_max") {
  SHRINK_CHECK(options_.moving_rate >= 0.0f && options_.moving_rate < 1.0f, name(),
               ": expected moving_rate in [0, 1), got ", options_.moving_rate);
}

void MovingAverageAbsMaxObserver::observe(const Tensor& x) {
  detail::check_observed(x, -1, name());
  const float cur = detail::abs_max(detail::channel_values(x, -1)[0]);
  const float r = options_.moving_rate;
  state_ = r * state_ + 1.0f;
  accum_ = r * accum_ + cur;
  threshold_ = full({1}, accum_ / state_);
}

io::StateDict MovingAverageAbsMaxObserver::state() const {
  io::StateDict s;
  s.insert("state", full({1}, state_));
  s.insert("accum", full({1}, accum_));
  return s;
}

void MovingAverageAbsMaxObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"state", "accum"}, name());
  const float st = detail::state_floats(state, "state", 1, name()).data<float>()[0];
  const float ac = detail::state_floats(state, "accum", 1, name()).data<float>()[0];
  SHRINK_CHECK(std::isfinite(st) && std::isfinite(ac) && st >= 0.0f && ac >= 0.0f, name(),
               ".load_state: expected finite 'state' and 'accum' >= 0, got ", st, " and ", ac);
  state_ = st;
  accum_ = ac;
  threshold_ = st > 0.0f ? full({1}, ac / st) : zeros({0});
}

}  // namespace shrink::compression
