// HistogramObserver: PyTorch's running histogram and its L2 range search, in its float32 steps.
#include "compression/quantization/observer_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/error.h"
#include "compression/quantization/observer_support.h"

namespace shrink::compression {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
using i64 = std::int64_t;

/// torch.histc over [lo, hi] in float32: bin = (x − lo)·bins / (hi − lo), the top edge in the
/// last bin, values outside skipped. lo == hi takes the batch's own [x_min, x_max] instead, and
/// if those are equal too widens to [lo − 1, hi + 1], as histc does.
std::vector<float> histc(const float* x, i64 n, i64 bins, float lo, float hi, float x_min, float x_max) {
  if (lo == hi) {
    lo = x_min;
    hi = x_max;
  }
  if (lo == hi) {
    lo -= 1.0f;
    hi += 1.0f;
  }
  std::vector<float> h(static_cast<std::size_t>(bins), 0.0f);
  const float fbins = static_cast<float>(bins), width = hi - lo;
  for (i64 i = 0; i < n; ++i) {
    const float v = x[i];
    if (!(v >= lo && v <= hi)) continue;
    auto pos = static_cast<i64>((v - lo) * fbins / width);
    if (pos == bins) pos -= 1;
    h[static_cast<std::size_t>(pos)] += 1.0f;
  }
  return h;
}

/// torch.div(a, b, rounding_mode='floor') for float32.
float div_floor(float a, float b) {
  if (b == 0.0f) return a / b;
  const float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && (b < 0.0f) != (mod < 0.0f)) div -= 1.0f;
  if (div == 0.0f) return std::copysign(0.0f, a / b);
  float floordiv = std::floor(div);
  if (div - floordiv > 0.5f) floordiv += 1.0f;
  return floordiv;
}

/// density · (end³ − begin³)/3, float32 as PyTorch's _get_norm.
float l2_norm(float begin, float end, float density) {
  return density * ((end * end * end - begin * begin * begin) / 3.0f);
}

}  // namespace

HistogramObserver::HistogramObserver(ObserverOptions options, HistogramRange range)
    : Observer(options), range_(range) {
  SHRINK_CHECK(options_.axis == -1, name(), ": expected axis -1 (the histogram observer is per tensor), got ",
               options_.axis);
  SHRINK_CHECK(options_.bins >= 1, name(), ": expected bins >= 1, got ", options_.bins);
  histogram_ = zeros({options_.bins});
  min_ = full({1}, kInf);
  max_ = full({1}, -kInf);
}

bool HistogramObserver::empty() const { return min_.data<float>()[0] == kInf && max_.data<float>()[0] == -kInf; }

void HistogramObserver::observe(const Tensor& x) {
  detail::check_observed(x, -1, name());
  const float* p = x.data<float>();
  const i64 n = x.numel(), bins = options_.bins;
  float new_min = p[0], new_max = p[0];
  for (i64 i = 1; i < n; ++i) {
    new_min = std::min(new_min, p[i]);
    new_max = std::max(new_max, p[i]);
  }
  float& min_val = min_.data<float>()[0];
  float& max_val = max_.data<float>()[0];
  float* hist = histogram_.data<float>();
  // The range histc bins over: PyTorch 1.13 passes int(min), int(max) (truncated toward zero).
  auto binned = [&](float lo, float hi) {
    if (range_ == HistogramRange::Truncated) {
      lo = std::trunc(lo);
      hi = std::trunc(hi);
    }
    return histc(p, n, bins, lo, hi, new_min, new_max);
  };
  if (empty() || min_val == max_val) {
    min_val = new_min;
    max_val = new_max;
    const auto h = binned(new_min, new_max);
    std::copy(h.begin(), h.end(), hist);
    return;
  }
  // _adjust_min_max: a common grid of width (max − min)/(bins·128); only the max is relaxed.
  const float cmin = std::min(new_min, min_val);
  float cmax = std::max(new_max, max_val);
  const float hist_bin_width = (max_val - min_val) / static_cast<float>(bins * kUpsample);
  const float span = static_cast<float>(bins) * hist_bin_width;
  const auto downsample = static_cast<i64>(std::ceil((cmax - cmin) / span));
  cmax = cmax + (static_cast<float>(downsample) * span - (cmax - cmin));
  const auto start_idx = static_cast<i64>(std::nearbyint((min_val - cmin) / hist_bin_width));
  std::vector<float> combined = binned(cmin, cmax);
  if (cmin == min_val && cmax == max_val) {
    for (i64 b = 0; b < bins; ++b) combined[b] += hist[b];
  } else {
    // _combine_histograms: the old histogram upsampled (each bin repeated 128 times, 1/128 of its
    // mass each), placed at start_idx on a grid of bins·downsample cells, integrated in double and
    // read every downsample cells. The zero cells are skipped (they add nothing to the sum).
    SHRINK_CHECK(start_idx >= 0 && start_idx + bins * kUpsample <= bins * downsample, name(),
                 ": expected the earlier range to fit the combined one, got start ", start_idx);
    double integral = 0.0;
    float previous = 0.0f;  // PyTorch keeps the shifted integral in a float32 buffer
    i64 next = start_idx;   // next grid cell to add
    const i64 end = start_idx + bins * kUpsample;
    for (i64 b = 0; b < bins; ++b) {
      const i64 last = b * downsample + downsample - 1;
      for (; next <= last && next < end; ++next) integral += static_cast<double>(hist[(next - start_idx) / kUpsample]);
      combined[b] += static_cast<float>((integral - static_cast<double>(previous)) / static_cast<double>(kUpsample));
      previous = static_cast<float>(integral);
    }
  }
  std::copy(combined.begin(), combined.end(), hist);
  min_val = cmin;
  max_val = cmax;
}

std::pair<float, float> HistogramObserver::search_range() const {
  SHRINK_CHECK(!empty(), name(), ": expected at least one observed batch, got none");
  const float min_val = min_.data<float>()[0], max_val = max_.data<float>()[0];
  const i64 bins = options_.bins;
  const float* hist = histogram_.data<float>();
  const i64 dst_nbins = options_.range.qmax - options_.range.qmin + 1;
  // Cumulative mass: PyTorch's cumsum accumulates in double and stores float32.
  std::vector<float> csum(static_cast<std::size_t>(bins));
  double acc = 0.0;
  for (i64 b = 0; b < bins; ++b) csum[b] = static_cast<float>(acc += hist[b]);
  const double total = static_cast<float>(acc);
  const double width_d = (static_cast<double>(max_val) - static_cast<double>(min_val)) / static_cast<double>(bins);

  // _compute_quantization_error: L2 error of quantizing bins [start, end] onto dst_nbins levels.
  auto error = [&](i64 start, i64 end) -> double {
    const double dst_d = width_d * static_cast<double>(end - start + 1) / static_cast<double>(dst_nbins);
    if (dst_d == 0.0) return 0.0;
    const float bw = static_cast<float>(width_d), dst = static_cast<float>(dst_d);
    const float half = static_cast<float>(dst_d / 2), neg_half = static_cast<float>(-dst_d / 2);
    const float top = static_cast<float>(dst_nbins - 1);
    double sum = 0.0;
    for (i64 b = 0; b < bins; ++b) {
      const float begin = static_cast<float>(b - start) * bw;
      const float finish = begin + bw;
      const float dst_begin = std::clamp(div_floor(begin, dst), 0.0f, top);
      const float dst_end = std::clamp(div_floor(finish, dst), 0.0f, top);
      const float density = hist[b] / bw;
      float norm = 0.0f;
      norm += l2_norm(begin - (dst_begin + 0.5f) * dst, 1.0f * half, density);
      norm += (dst_end - dst_begin - 1.0f) * l2_norm(neg_half, half, density);
      norm += l2_norm(neg_half, finish - (dst_end * dst + half), density);
      sum += norm;
    }
    return static_cast<float>(sum);
  };

  // _non_linear_param_search: quantile bounds move by 1e-5; the end that would drop more bins moves.
  double alpha = 0.0, beta = 1.0, norm_min = INFINITY;
  i64 start_bin = 0, end_bin = bins - 1;
  while (alpha < beta) {
    const double next_alpha = alpha + 1e-5, next_beta = beta - 1e-5;
    i64 l = start_bin, r = end_bin;
    const float lo_mass = static_cast<float>(next_alpha * total), hi_mass = static_cast<float>(next_beta * total);
    while (l < end_bin && csum[l] < lo_mass) ++l;
    while (r > start_bin && csum[r] > hi_mass) --r;
    i64 next_start = start_bin, next_end = end_bin;
    if (l - start_bin > end_bin - r) {
      next_start = l;
      alpha = next_alpha;
    } else {
      next_end = r;
      beta = next_beta;
    }
    if (next_start == start_bin && next_end == end_bin) continue;
    const double norm = error(next_start, next_end);
    if (norm > norm_min) break;
    norm_min = norm;
    start_bin = next_start;
    end_bin = next_end;
  }
  const float bin_width = (max_val - min_val) / static_cast<float>(bins);
  return {min_val + bin_width * static_cast<float>(start_bin), min_val + bin_width * static_cast<float>(end_bin + 1)};
}

QParams HistogramObserver::qparams() const {
  if (empty()) return calculate_qparams(min_, max_, options_.range, options_.scheme);
  const auto [lo, hi] = search_range();
  return calculate_qparams(full({1}, lo), full({1}, hi), options_.range, options_.scheme);
}

io::StateDict HistogramObserver::state() const {
  io::StateDict s;
  s.insert("histogram", histogram_.clone());
  s.insert("min_val", min_.clone());
  s.insert("max_val", max_.clone());
  return s;
}

void HistogramObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"histogram", "min_val", "max_val"}, name());
  Tensor h = detail::state_floats(state, "histogram", options_.bins, name());
  Tensor lo = detail::state_floats(state, "min_val", 1, name());
  Tensor hi = detail::state_floats(state, "max_val", 1, name());
  histogram_ = h;
  min_ = lo;
  max_ = hi;
}

}  // namespace shrink::compression
