#include "autograd/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {

/// Width of the inner-dim blocks processed together when the softmax dim is not the last.
constexpr std::int64_t kInnerBlock = 256;

/// Calls f(o, i0, i1) for every outer index o and inner block [i0, i1), in parallel over the
/// (outer, block) pairs.
template <typename F>
void for_each_block(std::int64_t outer, std::int64_t dim, std::int64_t inner, F&& f) {
  const std::int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  const std::int64_t work = dim * std::min(inner, kInnerBlock);
  parallel_for(outer * blocks, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(work, 1)),
               [&](std::int64_t t0, std::int64_t t1) {
                 for (std::int64_t t = t0; t < t1; ++t) {
                   const std::int64_t o = t / blocks, i0 = (t % blocks) * kInnerBlock;
                   f(o, i0, std::min(inner, i0 + kInnerBlock));
                 }
               });
}

/// Softmax of one contiguous row of length d.
void softmax_row(const float* x, std::int64_t d, bool log, float* out) {
  float m = -std::numeric_limits<float>::infinity();
  for (std::int64_t j = 0; j < d; ++j) m = std::max(m, x[j]);
  double s = 0;
  if (log) {
    for (std::int64_t j = 0; j < d; ++j) s += std::exp(x[j] - m);
    // (x − max) − log Σ: subtracting m + log Σ in one go would round it to the ulp of max.
    const float logsum = static_cast<float>(std::log(s));
    for (std::int64_t j = 0; j < d; ++j) out[j] = (x[j] - m) - logsum;
  } else {
    for (std::int64_t j = 0; j < d; ++j) {
      out[j] = std::exp(x[j] - m);
      s += out[j];
    }
    const float inv = static_cast<float>(1.0 / s);
    for (std::int64_t j = 0; j < d; ++j) out[j] *= inv;
  }
}

}  // namespace

void softmax_forward(const float* x, std::int64_t outer, std::int64_t dim, std::int64_t inner, bool log, float* out) {
  if (dim == 0) return;
  if (inner == 1) {
    parallel_for(outer, std::max<std::int64_t>(1, 16384 / dim), [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) softmax_row(x + r * dim, dim, log, out + r * dim);
    });
    return;
  }
  // Strided softmax: process a block of inner positions at once, walking the D rows of the
  // block contiguously (cache-friendly), with per-position max and sum buffers.
  for_each_block(outer, dim, inner, [&](std::int64_t o, std::int64_t i0, std::int64_t i1) {
    const std::int64_t w = i1 - i0;
    float mx[kInnerBlock];
    double sum[kInnerBlock];
    std::fill(mx, mx + w, -std::numeric_limits<float>::infinity());
    std::fill(sum, sum + w, 0.0);
    const float* xb = x + o * dim * inner + i0;
    float* ob = out + o * dim * inner + i0;
    for (std::int64_t d = 0; d < dim; ++d)
      for (std::int64_t i = 0; i < w; ++i) mx[i] = std::max(mx[i], xb[d * inner + i]);
    for (std::int64_t d = 0; d < dim; ++d)
      for (std::int64_t i = 0; i < w; ++i) {
        const float e = std::exp(xb[d * inner + i] - mx[i]);
        if (!log) ob[d * inner + i] = e;
        sum[i] += e;
      }
    if (log) {
      float logsum[kInnerBlock];
      for (std::int64_t i = 0; i < w; ++i) logsum[i] = static_cast<float>(std::log(sum[i]));
      for (std::int64_t d = 0; d < dim; ++d)
        for (std::int64_t i = 0; i < w; ++i) ob[d * inner + i] = (xb[d * inner + i] - mx[i]) - logsum[i];
    } else {
      float inv[kInnerBlock];
      for (std::int64_t i = 0; i < w; ++i) inv[i] = static_cast<float>(1.0 / sum[i]);
      for (std::int64_t d = 0; d < dim; ++d)
        for (std::int64_t i = 0; i < w; ++i) ob[d * inner + i] *= inv[i];
    }
  });
}

void softmax_backward(const float* g, const float* y, std::int64_t outer, std::int64_t dim, std::int64_t inner,
                      bool log, float* gx) {
  if (dim == 0) return;
  // softmax: dot = Σ g·y, gx = y·(g − dot). log_softmax: dot = Σ g, gx = g − exp(y)·dot.
  for_each_block(outer, dim, inner, [&](std::int64_t o, std::int64_t i0, std::int64_t i1) {
    const std::int64_t w = i1 - i0;
    double dot[kInnerBlock];
    std::fill(dot, dot + w, 0.0);
    const std::int64_t base = o * dim * inner + i0;
    const float *gb = g + base, *yb = y + base;
    float* ob = gx + base;
    for (std::int64_t d = 0; d < dim; ++d)
      for (std::int64_t i = 0; i < w; ++i) dot[i] += log ? gb[d * inner + i] : gb[d * inner + i] * yb[d * inner + i];
    float dotf[kInnerBlock];
    for (std::int64_t i = 0; i < w; ++i) dotf[i] = static_cast<float>(dot[i]);
    for (std::int64_t d = 0; d < dim; ++d)
      for (std::int64_t i = 0; i < w; ++i) {
        const std::int64_t k = d * inner + i;
        ob[k] = log ? gb[k] - std::exp(yb[k]) * dotf[i] : yb[k] * (gb[k] - dotf[i]);
      }
  });
}

void cross_entropy_forward(const float* logits, const std::int64_t* target, std::int64_t n, std::int64_t c,
                           float label_smoothing, float* loss, float* row_max, float* row_logsum) {
  const double eps = label_smoothing;
  parallel_for(n, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(c, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const float* z = logits + r * c;
                   float m = -std::numeric_limits<float>::infinity();
                   for (std::int64_t j = 0; j < c; ++j) m = std::max(m, z[j]);
                   double s = 0, zsum = 0;
                   for (std::int64_t j = 0; j < c; ++j) {
                     s += std::exp(z[j] - m);
                     zsum += z[j];
                   }
                   const double logsum = std::log(s), l = m + logsum;
                   const double nll = l - z[target[r]];
                   // Σ_c −log p_c = C·lse − Σ_c z_c.
                   const double smooth = eps > 0 ? (c * l - zsum) / c : 0.0;
                   loss[r] = static_cast<float>((1.0 - eps) * nll + eps * smooth);
                   row_max[r] = m;
                   row_logsum[r] = static_cast<float>(logsum);
                 }
               });
}

void cross_entropy_backward(const float* logits, const std::int64_t* target, const float* row_max,
                            const float* row_logsum, std::int64_t n, std::int64_t c, float label_smoothing,
                            const float* row_scale, float scale, float* grad) {
  const float uniform = label_smoothing / static_cast<float>(c), hit = 1.0f - label_smoothing;
  parallel_for(n, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(c, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const float* z = logits + r * c;
                   float* gr = grad + r * c;
                   const float sc = row_scale ? row_scale[r] : scale, m = row_max[r], ls = row_logsum[r];
                   for (std::int64_t j = 0; j < c; ++j) gr[j] = sc * (std::exp((z[j] - m) - ls) - uniform);
                   gr[target[r]] -= sc * hit;
                 }
               });
}

}  // namespace shrink::kernels
