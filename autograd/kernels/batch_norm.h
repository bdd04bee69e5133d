#pragma once
/// \file
/// Batch-norm kernels on raw float buffers viewed as [N, C, S] (S = product of the spatial dims;
/// 1 for [N, C] inputs). Every kernel works channel by channel, parallel over channels with
/// kernels::parallel_for; each channel's sums are accumulated in double by one thread in a fixed
/// order, so results do not depend on the thread count.

#include <cstdint>

namespace shrink::kernels {

/// Sizes of a batch-norm input viewed as [N, C, S].
struct BatchNormDims {
  std::int64_t n = 0, c = 0, s = 1;
  /// Elements per channel (N·S), the count the statistics average over.
  std::int64_t per_channel() const { return n * s; }
};

/// Training forward: per channel, the batch mean and biased variance (one pass over the channel,
/// sums shifted by the channel's first value so large means do not cancel), then
/// out = (x − mean)·invstd·weight + bias with invstd = 1/√(var + eps) (second pass).
/// weight and bias may be null (1 and 0). Writes mean[C] and var[C] (biased) in double (a float
/// mean would cost the digits of x − mean when |mean| ≫ std) and invstd[C].
void batch_norm_train_forward(const float* x, BatchNormDims d, const float* weight, const float* bias, double eps,
                              float* out, double* mean, double* var, float* invstd);

/// Eval forward: out = (x − mean)·invstd·weight + bias with the given per-channel mean and
/// invstd (from the running statistics). weight and bias may be null.
void batch_norm_eval_forward(const float* x, BatchNormDims d, const double* mean, const float* invstd,
                             const float* weight, const float* bias, float* out);

/// Backward of batch norm for the gradient g of the output.
///
/// Training mode (the batch statistics depend on x), with x̂ = (x − mean)·invstd and M = N·S:
///   grad_bias = Σ g, grad_weight = Σ g·x̂,
///   grad_x = weight·invstd·(g − Σg/M − x̂·Σ(g·x̂)/M).
/// Eval mode (constant statistics): grad_x = g·weight·invstd, same grad_weight and grad_bias.
/// weight may be null (1). Any of grad_x, grad_weight, grad_bias may be null (not computed).
void batch_norm_backward(const float* g, const float* x, BatchNormDims d, const double* mean, const float* invstd,
                         const float* weight, bool training, float* grad_x, float* grad_weight, float* grad_bias);

}  // namespace shrink::kernels
