#pragma once
/// \file
/// Depthwise conv2d forward (groups == C == Co, one filter per channel) over channel-last
/// copies of each sample (internal to kernels/conv.cpp; see conv.h for the entry points).
///
/// Each sample is copied into a zero-padded [Hp][Wp][pad(C)] image; every output pixel is then
/// a handful of packet FMAs along the channels (one per kernel tap), eight pixels of a row at a
/// time so that the accumulation chains overlap. Strides and dilation only change the
/// pixel and tap offsets. The planar path (conv_planar.h) works on one H×W plane at a time,
/// which on the small maps of depthwise layers (7×7, 14×14) is mostly per-plane overhead; this
/// path's cost is the two layout changes plus the FMAs. The backward pass stays planar.

#include "autograd/kernels/conv.h"

namespace shrink::kernels {

/// out [N,C,OH,OW] = act(depthwise conv(x, w) + b) (b may be null); requires g.groups == g.C == g.Co.
void conv2d_forward_depthwise_nhwc(const float* x, const float* w, const float* b, const ConvGeometry& g,
                                   Activation act, float* out);

}  // namespace shrink::kernels
