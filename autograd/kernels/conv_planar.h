#pragma once
/// \file
/// conv2d with one input channel per group (internal to kernels/conv.cpp): depthwise
/// convolutions (groups == C, any channel multiplier) and single-channel inputs. im2col would
/// be mostly overhead here, so these are direct loops over whole planes, vectorised along rows.
///
/// Forward and the input gradient run in parallel over (sample, group) planes; the weight and
/// bias gradients run in parallel over output channels, each summing the batch in order.

#include "autograd/kernels/conv.h"

namespace shrink::kernels {

/// out [N,Co,OH,OW] = act(conv(x, w) + b) (b may be null); requires g.Cg() == 1.
void conv2d_forward_planar(const float* x, const float* w, const float* b, const ConvGeometry& g, Activation act,
                           float* out);

/// Gradients into dx, dw, db (each may be null = not wanted); requires g.Cg() == 1.
void conv2d_backward_planar(const float* gy, const float* x, const float* w, const ConvGeometry& g, float* dx,
                            float* dw, float* db);

}  // namespace shrink::kernels
