#pragma once
/// \file
/// conv2d kernels (no graph): forward and backward of a 2-D convolution over NCHW float32
/// tensors, with stride, zero padding, dilation and groups.
///
/// `conv2d_forward` / `conv2d_backward` pick one of four algorithms from the geometry:
///  - depthwise forward (one filter per channel) on maps of any size: packet FMAs along the
///    channels of channel-last copies of each sample (conv_depthwise.h), parallel over samples;
///  - planar (one input channel per group: depthwise convs and single-channel first layers):
///    direct loops over padded planes, parallel over planes;
///  - 1×1, stride 1, unpadded, groups 1, few input channels, forward only: one `kernels::gemm`
///    per sample on the NCHW data (no im2col, no layout change), parallel over samples;
///  - everything else: implicit GEMM over channel-last (NHWC) copies of each sample with a
///    register-blocked micro-kernel (conv_nhwc.h), parallel over samples.
/// Why a micro-kernel rather than `kernels::gemm`: on the zoo's shapes Eigen's GEMM reaches about
/// 60 GFLOP/s per core (and scales poorly to 2 threads when one big product is split), the
/// micro-kernel 100-110, and it reads the padded image in place instead of an im2col buffer.
/// Every algorithm gives results that do not depend on the thread count: per-sample work writes
/// disjoint outputs, and the weight/bias gradients sum fixed chunks of the batch in chunk order.

#include <cstdint>

#include "autograd/kernels/activation.h"
#include "autograd/tensor.h"

namespace shrink::kernels {

/// Sizes and settings of one conv2d call (validated by the op; the kernels trust them).
struct ConvGeometry {
  std::int64_t N = 0, C = 0, H = 0, W = 0;  ///< input [N, C, H, W]
  std::int64_t Co = 0, kh = 0, kw = 0;      ///< weight [Co, C/groups, kh, kw]
  std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  std::int64_t OH = 0, OW = 0;                      ///< output [N, Co, OH, OW]
  std::int64_t Cg() const { return C / groups; }    ///< input channels per group
  std::int64_t Cog() const { return Co / groups; }  ///< output channels per group
  std::int64_t taps() const { return kh * kw; }
};

/// The algorithm a conv2d call runs (exposed so that tests can cover each of them).
enum class ConvAlgo {
  Auto,
  Planar,
  /// 1×1, stride 1, unpadded: per sample on the NCHW data, forward in registers with up to 64
  /// input channels (conv_pointwise.h) and as a GEMM beyond; backward as GEMMs.
  Gemm1x1,
  Nhwc,
  /// Depthwise (groups == C == Co) forward over channel-last copies (conv_depthwise.h); its
  /// backward pass is the planar one.
  DepthwiseNhwc,
};

/// The algorithm `Auto` resolves to for the forward (or the backward) pass of `g`.
ConvAlgo choose_conv_algo(const ConvGeometry& g, bool backward = false);

/// out = act(conv(x, w) + b) (b may be undefined). x [N,C,H,W], w [Co,C/groups,kh,kw], b [Co].
/// The activation is applied per sample (or plane) right after it is written, while in cache.
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g,
                      ConvAlgo algo = ConvAlgo::Auto, Activation act = Activation::None);

/// Gradients of conv2d; each is computed only when requested (undefined otherwise).
struct ConvGrads {
  Tensor dx, dw, db;
};

/// Gradients of conv2d with respect to x, w and b given the output gradient gy [N,Co,OH,OW].
/// x is read only when need_dw and w only when need_dx (the other may be undefined).
ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvGeometry& g, bool need_dx,
                          bool need_dw, bool need_db, ConvAlgo algo = ConvAlgo::Auto);

/// Number of fixed batch chunks the weight/bias gradients are reduced over (depends on N only,
/// never on the thread count).
std::int64_t conv_batch_chunks(std::int64_t N);

}  // namespace shrink::kernels
