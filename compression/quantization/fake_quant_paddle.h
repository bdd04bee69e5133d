#pragma once
/// \file
/// PaddleSlim's fake quantize-dequantize (`fake_quantize_dequantize_abs_max`,
/// `fake_channel_wise_quantize_dequantize_abs_max`, round_type 0) bit for bit, inside the
/// autograd graph (SEMANTICS §1, "PaddleSlim").
///
/// Why not fake_quantize() with scale = s / bin_cnt: the two differ in float32. Paddle computes
/// q = round_half_even((bin_cnt · (1/s)) · x) and x̂ = (q · s) / bin_cnt; PyTorch's kernel computes
/// q = nearbyint(x · (1/scale)) and x̂ = q · scale with scale = fl(s / bin_cnt). On 2·10⁶ random
/// values (s uniform in [0.01, 10], x ~ N(0, s/2), 8 bits) the dequantized outputs differed in
/// the last bit for 32% of them, and q itself for 1 (e.g. s = 4.139257, x = −1.1244439: Paddle
/// rounds −34.500004 to −35, PyTorch's order gives exactly −34.5 → −34). The tests pin both cases.

#include <cstdint>

#include "autograd/tensor.h"

namespace shrink::compression {

/// x̂ = clamp(round_half_even((bin_cnt · inv) · x), −bin_cnt − 1, bin_cnt) · s / bin_cnt, float32,
/// with inv = 1/s, or 1/(s + 10⁻⁶) when s ≤ 10⁻³⁰ (Paddle's guard against a zero threshold).
/// `threshold` is s, the clipping threshold (max|x| for abs_max); bin_cnt = 2^(b−1) − 1.
/// Backward: Paddle's straight-through estimator, dx = dy everywhere (no clipping mask).
/// ValueError for a threshold < 0 or not finite, or bin_cnt < 1.
Tensor fake_quantize_abs_max(const Tensor& x, float threshold, std::int64_t bin_cnt);

/// The same with one threshold per slice of `x` along `axis` (thresholds: float32
/// [x.size(axis)]). ShapeError when their size is not x.size(axis); IndexError for a bad axis.
Tensor fake_quantize_channel_wise_abs_max(const Tensor& x, const Tensor& thresholds, std::int64_t axis,
                                          std::int64_t bin_cnt);

}  // namespace shrink::compression
