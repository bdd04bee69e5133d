#pragma once
/// \file
/// 2-D pooling kernels (no graph) over NCHW float32 tensors: max, average and adaptive average
/// pooling, forward and backward, with PyTorch's window, divisor, tie and NaN rules. Every kernel
/// is a single pass over each (sample, channel) plane, parallel over planes; backward passes
/// accumulate within one plane in a fixed order, so results do not depend on the thread count.
/// Max pooling runs in packets of output columns (a -inf padded, column-phase copy of the plane;
/// 2×2/2 windows with AVX-512 read the plane directly); average pooling is separable (column sums
/// of the window rows, then row windows).

#include <cstdint>

#include "autograd/tensor.h"

namespace shrink::kernels {

/// Sizes and settings of one max/avg pooling call (validated by the op).
struct PoolGeometry {
  std::int64_t N = 0, C = 0, H = 0, W = 0;
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  std::int64_t OH = 0, OW = 0;
  bool count_include_pad = true;
};

/// PyTorch's pooled size along one dimension: floor (or ceil with `ceil_mode`) of
/// (size + 2·pad − dilation·(kernel−1) − 1)/stride + 1, where a ceil-mode window must start
/// inside the input or its left padding. May be ≤ 0 (the caller reports it).
std::int64_t pool_output_size(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                              std::int64_t dilation, bool ceil_mode);

/// Max pooling: returns the output [N,C,OH,OW] and stores in `indices` (Int64, same shape) the
/// flat position h·W + w inside its plane of each window's first maximum (NaN wins, like PyTorch).
/// Without `need_indices` (inference) the 2×2 stride-2 pool skips them (`indices` undefined).
Tensor max_pool2d_forward(const Tensor& x, const PoolGeometry& g, Tensor& indices, bool need_indices = true);
/// dx [N,C,H,W]: each output gradient added at its recorded index.
Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const PoolGeometry& g);

/// Average pooling; the divisor counts the window clipped to the padded input
/// (count_include_pad) or to the input alone.
Tensor avg_pool2d_forward(const Tensor& x, const PoolGeometry& g);
Tensor avg_pool2d_backward(const Tensor& gy, const PoolGeometry& g);

/// Adaptive average pooling to [N,C,OH,OW]: window i spans [floor(i·H/OH), ceil((i+1)·H/OH)).
Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t OH, std::int64_t OW);
Tensor adaptive_avg_pool2d_backward(const Tensor& gy, std::int64_t H, std::int64_t W);

}  // namespace shrink::kernels
