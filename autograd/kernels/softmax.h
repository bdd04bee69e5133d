#pragma once
/// \file
/// Softmax, log-softmax and cross-entropy kernels on raw float buffers.
///
/// A softmax along one dim sees its input as [outer, D, inner] (D the softmax dim). Rows are
/// independent: the kernels parallelise over rows (and blocks of the inner dim) with
/// kernels::parallel_for, and every row is reduced by one thread in a fixed order, so results
/// do not depend on the thread count.

#include <cstdint>

namespace shrink::kernels {

/// out = softmax(x) (or log_softmax when `log`) along the middle dim of [outer, D, inner]:
/// softmax = exp(x − max)/Σexp(x − max), log_softmax = x − max − log Σexp(x − max).
void softmax_forward(const float* x, std::int64_t outer, std::int64_t dim, std::int64_t inner, bool log, float* out);

/// Gradient of softmax_forward given its output y and the output gradient g:
/// softmax: gx = y·(g − Σ_D g·y); log_softmax: gx = g − exp(y)·Σ_D g.
void softmax_backward(const float* g, const float* y, std::int64_t outer, std::int64_t dim, std::int64_t inner,
                      bool log, float* gx);

/// Per-sample cross-entropy of logits [N, C] against class indices (already validated to lie in
/// [0, C)), with label smoothing ε as in PyTorch:
///   loss_i = (1 − ε)·(lse_i − z[i, t_i]) + ε/C·Σ_c (lse_i − z[i, c]),  lse_i = log Σ_c exp z[i, c].
/// Writes loss[N] and, for the backward, each row's max and log Σ_c exp(z[i, c] − max)
/// (lse_i = max_i + logsum_i, kept apart so that z − lse loses no digits to the max's ulp).
void cross_entropy_forward(const float* logits, const std::int64_t* target, std::int64_t n, std::int64_t c,
                           float label_smoothing, float* loss, float* row_max, float* row_logsum);

/// Gradient of cross_entropy_forward: grad[i, c] = scale_i·(exp(z[i, c] − lse_i) − (1 − ε)·[c = t_i] − ε/C),
/// where scale_i = row_scale[i] when row_scale is given, else `scale`.
void cross_entropy_backward(const float* logits, const std::int64_t* target, const float* row_max,
                            const float* row_logsum, std::int64_t n, std::int64_t c, float label_smoothing,
                            const float* row_scale, float scale, float* grad);

}  // namespace shrink::kernels
