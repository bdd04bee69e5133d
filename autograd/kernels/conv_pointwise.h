#pragma once
/// \file
/// The 1×1 convolution forward of one sample computed straight on NCHW data: no packing, no
/// layout change. Internal to the conv kernels (ConvAlgo::Gemm1x1 with few input channels).

#include <cstdint>

namespace shrink::kernels {

/// out[co][p] = b[co] + Σ_c w[co][c] · x[c][p] for co < Co, p < P (x is [C][P], w [Co][C], out
/// [Co][P], all dense; b may be null), summed over c in order after the bias.
///
/// Register tiles of 6 output channels × 16 pixels read x's rows in place and broadcast the
/// weights; the last P % 8 pixels go through a zero-padded copy. At batch 1 a 1×1 layer with a
/// handful of input channels is a few thousand FMAs, and a general GEMM's packing (or the
/// channel-last path's two transposes) cost more than that.
void pointwise_forward_nchw(const float* x, const float* w, const float* b, std::int64_t C, std::int64_t Co,
                            std::int64_t P, float* out);

}  // namespace shrink::kernels
