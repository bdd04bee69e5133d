#include "autograd/kernels/batch_norm.h"

#include <algorithm>
#include <cmath>

#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {

/// Channels per parallel chunk: enough that a chunk touches ~32k elements.
std::int64_t channel_grain(const BatchNormDims& d) {
  return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(d.per_channel(), 1));
}

/// A channel mean split into two floats, mean ≈ hi + lo, so that (x − hi) − lo keeps the digits
/// of x − mean in float arithmetic even when |mean| ≫ std (x − hi is then exact).
struct SplitMean {
  float hi, lo;
  explicit SplitMean(double m) : hi(static_cast<float>(m)), lo(static_cast<float>(m - static_cast<float>(m))) {}
  float centre(float x) const { return (x - hi) - lo; }
};

// The two channel reductions below accumulate SIMD float partial sums (omp simd: the lane
// layout is fixed at compile time) over pieces of at most kFlush elements, each piece then added
// in double: accurate and vectorised, and the summation order depends on the code alone, never
// on the thread count.
constexpr std::int64_t kFlush = 4096;

/// s1 += Σ (x − shift), s2 += Σ (x − shift)² over one contiguous run.
void shifted_moments(const float* x, std::int64_t len, float shift, double& s1, double& s2) {
  for (std::int64_t j0 = 0; j0 < len; j0 += kFlush) {
    const std::int64_t j1 = std::min(len, j0 + kFlush);
    float a1 = 0, a2 = 0;
#pragma omp simd reduction(+ : a1, a2)
    for (std::int64_t j = j0; j < j1; ++j) {
      const float v = x[j] - shift;
      a1 += v;
      a2 += v * v;
    }
    s1 += a1;
    s2 += a2;
  }
}

/// sg += Σ g, sgx += Σ g·((x − hi) − lo) over one contiguous run.
void grad_moments(const float* g, const float* x, std::int64_t len, float hi, float lo, double& sg, double& sgx) {
  for (std::int64_t j0 = 0; j0 < len; j0 += kFlush) {
    const std::int64_t j1 = std::min(len, j0 + kFlush);
    float a1 = 0, a2 = 0;
#pragma omp simd reduction(+ : a1, a2)
    for (std::int64_t j = j0; j < j1; ++j) {
      a1 += g[j];
      a2 += g[j] * ((x[j] - hi) - lo);
    }
    sg += a1;
    sgx += a2;
  }
}

/// out = (x − mean)·alpha + beta over the N blocks of S elements of channel c.
void affine_channel(const float* x, float* out, const BatchNormDims& d, std::int64_t c, SplitMean mean, float alpha,
                    float beta) {
  for (std::int64_t i = 0; i < d.n; ++i) {
    const std::int64_t off = (i * d.c + c) * d.s;
    const float* xs = x + off;
    float* os = out + off;
    for (std::int64_t j = 0; j < d.s; ++j) os[j] = mean.centre(xs[j]) * alpha + beta;
  }
}

}  // namespace

void batch_norm_train_forward(const float* x, BatchNormDims d, const float* weight, const float* bias, double eps,
                              float* out, double* mean, double* var, float* invstd) {
  const std::int64_t count = d.per_channel();
  parallel_for(d.c, channel_grain(d), [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      // Shifted sums: Σ(x−K) and Σ(x−K)² with K the channel's first value, so the variance does
      // not lose its digits to a large mean (the naive Σx² − (Σx)²/M does).
      const float shift = count > 0 ? x[c * d.s] : 0.0f;
      double s1 = 0, s2 = 0;
      for (std::int64_t i = 0; i < d.n; ++i) {
        const float* xs = x + (i * d.c + c) * d.s;
        shifted_moments(xs, d.s, shift, s1, s2);
      }
      const double m1 = s1 / count;
      const double m = shift + m1;
      const double v = std::max(0.0, s2 / count - m1 * m1);
      const double is = 1.0 / std::sqrt(v + eps);
      mean[c] = m;
      var[c] = v;
      invstd[c] = static_cast<float>(is);
      const double w = weight ? weight[c] : 1.0, b = bias ? bias[c] : 0.0;
      affine_channel(x, out, d, c, SplitMean(m), static_cast<float>(w * is), static_cast<float>(b));
    }
  });
}

void batch_norm_eval_forward(const float* x, BatchNormDims d, const double* mean, const float* invstd,
                             const float* weight, const float* bias, float* out) {
  parallel_for(d.c, channel_grain(d), [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const double w = weight ? weight[c] : 1.0, b = bias ? bias[c] : 0.0;
      affine_channel(x, out, d, c, SplitMean(mean[c]), static_cast<float>(w * invstd[c]), static_cast<float>(b));
    }
  });
}

void batch_norm_backward(const float* g, const float* x, BatchNormDims d, const double* mean, const float* invstd,
                         const float* weight, bool training, float* grad_x, float* grad_weight, float* grad_bias) {
  const double count = static_cast<double>(d.per_channel());
  parallel_for(d.c, channel_grain(d), [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const SplitMean m(mean[c]);
      const double is = invstd[c];
      const double w = weight ? weight[c] : 1.0;
      // Pass 1: Σg and Σg·(x−mean), needed by every output in training mode.
      double sum_g = 0, sum_gxc = 0;
      if (training || grad_weight || grad_bias) {
        for (std::int64_t i = 0; i < d.n; ++i) {
          const std::int64_t off = (i * d.c + c) * d.s;
          grad_moments(g + off, x + off, d.s, m.hi, m.lo, sum_g, sum_gxc);
        }
      }
      if (grad_bias) grad_bias[c] = static_cast<float>(sum_g);
      if (grad_weight) grad_weight[c] = static_cast<float>(sum_gxc * is);
      if (!grad_x) continue;
      // Pass 2: grad_x = a·g + k·(x − mean) + b, with a = w·invstd and, in training,
      // k = −w·invstd³·Σg(x−mean)/M and b = −w·invstd·Σg/M.
      const float a = static_cast<float>(w * is);
      const float k = training ? static_cast<float>(-w * is * is * is * sum_gxc / count) : 0.0f;
      const float b = training ? static_cast<float>(-w * is * sum_g / count) : 0.0f;
      for (std::int64_t i = 0; i < d.n; ++i) {
        const std::int64_t off = (i * d.c + c) * d.s;
        for (std::int64_t j = 0; j < d.s; ++j) grad_x[off + j] = a * g[off + j] + k * m.centre(x[off + j]) + b;
      }
    }
  });
}

}  // namespace shrink::kernels
