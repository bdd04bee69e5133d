#pragma once
/// \file
/// Fake quantization: round onto the integer grid and back to float, inside the autograd graph,
/// with the clipped straight-through gradient (SEMANTICS §1, "Fake quantization"). Bit-exact
/// with torch.fake_quantize_per_tensor_affine / torch.fake_quantize_per_channel_affine.

#include <cstdint>

#include "autograd/tensor.h"
#include "compression/quantization/qparams.h"

namespace shrink::compression {

/// out = (clamp(nearbyint(x · (1/scale)) + zp, qmin, qmax) − zp) · scale, in float32 with
/// 1/scale computed in float32 and rounding half to even (PyTorch's kernel).
/// d/dx = g where qmin ≤ nearbyint(x/scale) + zp ≤ qmax (the unclamped value), else 0.
/// ValueError for scale ≤ 0 or not finite, or qmin ≥ qmax.
Tensor fake_quantize_per_tensor(const Tensor& x, float scale, std::int64_t zero_point, std::int64_t qmin,
                                std::int64_t qmax);

/// The same with one scale / zero point per slice of `x` along `axis` (scale and zero_point:
/// float32 [x.size(axis)], zero points whole numbers). ShapeError when their size is not
/// x.size(axis).
Tensor fake_quantize_per_channel(const Tensor& x, const Tensor& scale, const Tensor& zero_point, std::int64_t axis,
                                 std::int64_t qmin, std::int64_t qmax);

/// Dispatches on `q.per_channel()`.
Tensor fake_quantize(const Tensor& x, const QParams& q);

}  // namespace shrink::compression
