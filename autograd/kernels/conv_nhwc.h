#pragma once
/// \file
/// conv2d by implicit GEMM over channel-last (NHWC) copies of each sample (internal to
/// kernels/conv.cpp; see conv.h for the public entry points).
///
/// Forward (conv_nhwc.cpp): each sample is copied into a zero-padded [Hp][Wp][C] image; the
/// micro-kernel (conv_micro.h) computes tiles of output pixels × output channels reading the
/// image directly (no im2col buffer) against weights packed [tap][cin][cout], the bias
/// initialising the accumulators. Border pixels skip the taps that only read padding.
/// Backward (conv_nhwc_backward.cpp): for stride 1 the input gradient is the same implicit GEMM
/// over the padded channel-last output gradient with flipped, transposed weights; otherwise the
/// micro-kernel forms the column gradient and col2im adds it back. The weight gradient reduces
/// tiles of (tap, cin) × cout over the output pixels that read inside the input, per fixed batch
/// chunk, and the chunks are summed in order (thread-count independent).

#include "autograd/kernels/conv.h"

namespace shrink::kernels {

/// out [N,Co,OH,OW] = act(conv(x, w) + b) (b may be null).
void conv2d_forward_nhwc(const float* x, const float* w, const float* b, const ConvGeometry& g, Activation act,
                         float* out);

/// Gradients into dx [N,C,H,W], dw [Co,Cg,kh,kw], db [Co]; each pointer may be null (not wanted).
void conv2d_backward_nhwc(const float* gy, const float* x, const float* w, const ConvGeometry& g, float* dx, float* dw,
                          float* db);

}  // namespace shrink::kernels
