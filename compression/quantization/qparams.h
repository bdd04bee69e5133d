#pragma once
/// \file
/// Integer grids and the scale / zero point of a float range, exactly as PyTorch's observers
/// compute them (SEMANTICS §1, "Scale and zero point from a range").

#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace shrink::compression {

/// The integer grid [qmin, qmax] a value is rounded onto.
struct QuantRange {
  std::int64_t qmin = -128;
  std::int64_t qmax = 127;

  /// b-bit grid, 2 ≤ bits ≤ 16: signed [−2^(b−1), 2^(b−1)−1], unsigned [0, 2^b−1]. With
  /// `restricted` (signed only) the grid is NNI's `quant_dtype: int`, [−(2^(b−1)−1), 2^(b−1)−1].
  /// ValueError for bits outside [2, 16] or `restricted` with unsigned.
  static QuantRange of(int bits, bool is_signed, bool restricted = false);

  bool is_signed() const { return qmin < 0; }
  bool operator==(const QuantRange&) const = default;
};

/// Symmetric (zero point fixed at the middle of the grid) or affine (zero point from the range).
enum class QuantScheme { Affine, Symmetric };

/// Scale and zero point, one entry per tensor ([1]) or per channel ([C], axis ≥ 0), float32
/// (zero points hold whole numbers).
struct QParams {
  Tensor scale;
  Tensor zero_point;
  std::int64_t axis = -1;  ///< −1: per tensor
  QuantRange range;

  bool per_channel() const { return axis >= 0; }
};

/// PyTorch's `_calculate_qparams`: the range is widened to include 0; symmetric:
/// scale = max(amax / ((qmax − qmin)/2), eps), zero point 0 (signed) or (qmin+qmax)/2 rounded
/// down (128 for uint8); affine: scale = max((max − min)/(qmax − qmin), eps),
/// zp = clamp(qmin − round_half_even(min/scale), qmin, qmax). eps = 2^−23. An uninitialised
/// entry (min = +inf, max = −inf) gives scale 1 and zero point 0. `min_val` and `max_val` are
/// [1] (per tensor, axis −1) or [C]. ShapeError when they differ in shape.
QParams calculate_qparams(const Tensor& min_val, const Tensor& max_val, QuantRange range, QuantScheme scheme,
                          std::int64_t axis = -1);

/// "affine" / "symmetric".
std::string scheme_name(QuantScheme scheme);

}  // namespace shrink::compression
