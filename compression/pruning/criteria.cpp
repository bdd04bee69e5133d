// Weight-only pruning criteria (accumulated in double: rankings must not depend on summation order).
#include "compression/pruning/criteria.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/error.h"

namespace shrink::compression {
namespace {

/// The weight as float32 [C_out, rest] rows.
struct Rows {
  Tensor values;
  std::int64_t channels = 0, per = 0;
  const float* row(std::int64_t c) const { return values.data<float>() + c * per; }
};

Rows rows_of(const Tensor& weight, const char* where) {
  SHRINK_CHECK(weight.defined() && weight.dim() >= 1 && weight.numel() > 0, where,
               ": expected a weight with an output-channel dim 0, got ",
               weight.defined() ? shape_str(weight.shape()) : std::string("an undefined tensor"));
  Rows r;
  r.values = weight.detach().to(DType::Float32).clone();
  r.channels = weight.size(0);
  r.per = weight.numel() / r.channels;
  return r;
}

/// NaN ranks lowest (pruned first): a weight that became NaN is the least useful one.
float rank_value(float v) { return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v; }

}  // namespace

std::vector<std::int64_t> lowest_units(const Tensor& metric, std::int64_t k) {
  const Tensor m = metric.to(DType::Float32);
  const float* v = m.data<float>();
  std::vector<std::int64_t> order(static_cast<std::size_t>(m.numel()));
  std::iota(order.begin(), order.end(), 0);
  k = std::clamp<std::int64_t>(k, 0, m.numel());
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [v](std::int64_t a, std::int64_t b) {
    const float x = rank_value(v[a]), y = rank_value(v[b]);
    return x < y || (x == y && a < b);
  });
  order.resize(static_cast<std::size_t>(k));
  return order;
}

Tensor magnitude(const Tensor& weight) {
  SHRINK_CHECK(weight.defined(), "magnitude: expected a weight, got an undefined tensor");
  Tensor out = weight.detach().to(DType::Float32).clone();
  float* v = out.data<float>();
  for (std::int64_t i = 0; i < out.numel(); ++i) v[i] = std::fabs(v[i]);
  return out;
}

Tensor channel_norms(const Tensor& weight, int p) {
  SHRINK_CHECK(p == 1 || p == 2, "channel_norms: expected p = 1 or 2, got ", p);
  const Rows r = rows_of(weight, "channel_norms");
  Tensor out = Tensor::empty({r.channels});
  for (std::int64_t c = 0; c < r.channels; ++c) {
    double acc = 0;
    for (std::int64_t i = 0; i < r.per; ++i) acc += p == 1 ? std::fabs(r.row(c)[i]) : double(r.row(c)[i]) * r.row(c)[i];
    out.data<float>()[c] = static_cast<float>(p == 1 ? acc : std::sqrt(acc));
  }
  return out;
}

Tensor geometric_median_distances(const Tensor& weight) {
  const Rows r = rows_of(weight, "geometric_median_distances");
  std::vector<double> sums(static_cast<std::size_t>(r.channels), 0.0);
  for (std::int64_t a = 0; a < r.channels; ++a)
    for (std::int64_t b = a + 1; b < r.channels; ++b) {
      double d2 = 0;
      for (std::int64_t i = 0; i < r.per; ++i) {
        const double d = double(r.row(a)[i]) - r.row(b)[i];
        d2 += d * d;
      }
      const double d = std::sqrt(d2);
      sums[a] += d;
      sums[b] += d;
    }
  Tensor out = Tensor::empty({r.channels});
  for (std::int64_t c = 0; c < r.channels; ++c) out.data<float>()[c] = static_cast<float>(sums[c]);
  return out;
}

}  // namespace shrink::compression
