#pragma once
/// \file
/// One quantized tensor as plain data (the unit of the "shrink.quantized" file, see
/// quantized_file.h): integer values on the grid [qmin, qmax] with a float32 scale and a zero
/// point per tensor or per channel, and the float32 tensor they stand for:
///
///     dequantize(q)[i] = (float(q[i]) − zero_point[c]) · scale[c]        (in float32)
///
/// where c is the index of element i along `axis` (per channel) or 0 (per tensor). These are the
/// last two float32 operations of fake quantization, (clamp(nearbyint(x · (1/scale)) + zp) − zp) ·
/// scale, so dequantize(quantize(x, ...)) is bit for bit the fake-quantized x
/// (compression/quantization/fake_quant.h).
///
/// io does not depend on compression: the quantization parameters are given as plain tensors
/// and integers here (compression::QParams holds the same: scale, zero_point, axis, qmin/qmax).

#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace shrink::io {

/// A quantized tensor: integer data with its scale, zero point and grid.
struct QuantizedTensor {
  /// The key of the tensor it replaces in a state_dict (`features.0.weight`): non-empty, no '/'.
  std::string name;
  /// Int8 or UInt8, in the shape of the original tensor; every value within [qmin, qmax].
  Tensor data;
  /// Float32, finite and > 0: shape [1] per tensor, [data.size(axis)] per channel.
  Tensor scale;
  /// Float32 holding whole numbers, or Int64; same shape as `scale`; within [qmin, qmax].
  Tensor zero_point;
  /// −1: per tensor; 0 ≤ axis < data.dim(): one scale and zero point per slice along `axis`.
  std::int64_t axis = -1;
  /// Bit width of the grid, 2..8 (the data is stored in 8 bits).
  std::int64_t bits = 8;
  /// The integer grid; within the range of data's dtype, qmin < qmax, qmax − qmin < 2^bits.
  std::int64_t qmin = -128;
  std::int64_t qmax = 127;

  bool per_channel() const { return axis >= 0; }
};

/// What is wrong with `q` ("" when nothing): names the field, what was expected and what was
/// found, without the tensor's name (callers prefix it). Checks dtypes, shapes, the axis, the
/// grid against bits and the data dtype, scales finite > 0, zero points whole and on the grid,
/// and (with `check_values`) every data value on the grid.
std::string quantized_tensor_problem(const QuantizedTensor& q, bool check_values = true);

/// Quantizes a float32 tensor exactly as fake quantization rounds it:
/// q = clamp(nearbyint(x · (1/scale[c])) + zero_point[c], qmin, qmax) in float32, 1/scale in
/// float32, rounding half to even. `dtype` is Int8 or UInt8 (its range must hold [qmin, qmax]).
/// ValueError "quantize: '<name>': ..." when the parameters are invalid (see
/// quantized_tensor_problem) or `x` is not float32.
QuantizedTensor quantize(const std::string& name, const Tensor& x, const Tensor& scale, const Tensor& zero_point,
                         std::int64_t axis, std::int64_t bits, std::int64_t qmin, std::int64_t qmax, DType dtype);

/// The float32 tensor `q` stands for: (float(q) − float(zero_point[c])) · scale[c], computed in
/// float32 (equal bit for bit to the fake-quantized tensor `q` was quantized from). ValueError
/// "dequantize: '<name>': ..." when `q` is invalid (see quantized_tensor_problem).
Tensor dequantize(const QuantizedTensor& q);

}  // namespace shrink::io
