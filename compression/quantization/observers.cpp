// Min-max observers. Reductions and updates run in float32, in PyTorch's order of operations.
#include "compression/quantization/observers.h"

#include <algorithm>
#include <limits>

#include "autograd/error.h"
#include "compression/quantization/observer_support.h"

namespace shrink::compression {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

MinMaxObserver::MinMaxObserver(ObserverOptions options) : Observer(options) {
  SHRINK_CHECK(options_.axis >= -1, name(), ": expected axis -1 (per tensor) or >= 0, got ", options_.axis);
  min_ = options_.axis < 0 ? full({1}, kInf) : zeros({0});
  max_ = options_.axis < 0 ? full({1}, -kInf) : zeros({0});
}

std::pair<Tensor, Tensor> MinMaxObserver::batch_range(const Tensor& x) const {
  SHRINK_CHECK(x.defined() && x.dtype() == DType::Float32 && x.numel() > 0, name(),
               ": expected a non-empty float32 tensor, got ",
               x.defined() ? std::string(dtype_name(x.dtype())) + " " + shape_str(x.shape()) : "an undefined tensor");
  const std::int64_t axis = options_.axis;
  SHRINK_CHECK_INDEX(axis < x.dim(), name(), ": expected a tensor with a dim ", axis, " (the channel axis), got shape ",
                     shape_str(x.shape()));
  const std::int64_t channels = axis < 0 ? 1 : x.size(axis);
  std::int64_t outer = 1, inner = 1;
  if (axis < 0) {
    inner = x.numel();
  } else {
    for (std::int64_t d = 0; d < axis; ++d) outer *= x.size(d);
    for (std::int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.size(d);
  }
  Tensor lo = full({channels}, kInf), hi = full({channels}, -kInf);
  const float* p = x.data<float>();
  float* l = lo.data<float>();
  float* h = hi.data<float>();
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c) {
      const float* row = p + (o * channels + c) * inner;
      float mn = l[c], mx = h[c];
      for (std::int64_t k = 0; k < inner; ++k) {
        mn = std::min(mn, row[k]);
        mx = std::max(mx, row[k]);
      }
      l[c] = mn;
      h[c] = mx;
    }
  return {lo, hi};
}

void MinMaxObserver::observe(const Tensor& x) {
  auto [lo, hi] = batch_range(x);
  if (min_.numel() != lo.numel()) {
    SHRINK_CHECK(min_.numel() == 0, name(), ": expected ", min_.numel(), " channels along axis ", options_.axis,
                 " as in earlier batches, got ", lo.numel());
    min_ = lo;
    max_ = hi;
    return;
  }
  for (std::int64_t c = 0; c < lo.numel(); ++c) {
    min_.data<float>()[c] = std::min(min_.data<float>()[c], lo.data<float>()[c]);
    max_.data<float>()[c] = std::max(max_.data<float>()[c], hi.data<float>()[c]);
  }
}

bool MinMaxObserver::empty() const {
  return min_.numel() == 0 || (min_.data<float>()[0] == kInf && max_.data<float>()[0] == -kInf);
}

QParams MinMaxObserver::qparams() const {
  if (min_.numel() == 0) return calculate_qparams(full({1}, kInf), full({1}, -kInf), options_.range, options_.scheme);
  return calculate_qparams(min_, max_, options_.range, options_.scheme, options_.axis);
}

io::StateDict MinMaxObserver::state() const {
  io::StateDict s;
  s.insert("min_val", min_.clone());
  s.insert("max_val", max_.clone());
  return s;
}

void MinMaxObserver::load_state(const io::StateDict& state) {
  detail::check_state_keys(state, {"min_val", "max_val"}, name());
  const std::int64_t size = options_.axis < 0 ? 1 : -1;
  Tensor lo = detail::state_floats(state, "min_val", size, name());
  Tensor hi = detail::state_floats(state, "max_val", lo.numel(), name());
  min_ = lo;
  max_ = hi;
}

MovingAverageMinMaxObserver::MovingAverageMinMaxObserver(ObserverOptions options) : MinMaxObserver(options) {
  SHRINK_CHECK(options_.averaging_constant > 0.0f && options_.averaging_constant <= 1.0f, name(),
               ": expected averaging_constant in (0, 1], got ", options_.averaging_constant);
}

void MovingAverageMinMaxObserver::observe(const Tensor& x) {
  auto [lo, hi] = batch_range(x);
  if (empty()) {
    min_ = lo;
    max_ = hi;
    return;
  }
  SHRINK_CHECK(min_.numel() == lo.numel(), name(), ": expected ", min_.numel(), " channels along axis ",
               options_.axis, " as in earlier batches, got ", lo.numel());
  const float c = options_.averaging_constant;
  for (std::int64_t i = 0; i < lo.numel(); ++i) {
    float& m = min_.data<float>()[i];
    float& M = max_.data<float>()[i];
    m = m + c * (lo.data<float>()[i] - m);
    M = M + c * (hi.data<float>()[i] - M);
  }
}

}  // namespace shrink::compression
