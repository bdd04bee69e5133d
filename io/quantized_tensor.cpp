// QuantizedTensor: its validation, and quantize / dequantize with fake quantization's float32
// arithmetic (so that dequantize(quantize(x)) is the fake-quantized x bit for bit).
#include "io/quantized_tensor.h"

#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "autograd/error.h"

namespace shrink::io {
namespace {

using i64 = std::int64_t;

std::string number_str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

/// "[a, b]" (a stream: gcc 12 warns falsely (-Wrestrict) on "[" + std::to_string(a)).
std::string interval(i64 a, i64 b) {
  std::ostringstream os;
  os << "[" << a << ", " << b << "]";
  return os.str();
}

/// " for channel c" per channel, "" per tensor.
std::string channel_str(const QuantizedTensor& q, i64 c) {
  return q.per_channel() ? " for channel " + std::to_string(c) : std::string();
}

/// The range of values of an 8-bit dtype.
std::pair<i64, i64> dtype_range(DType dtype) {
  return dtype == DType::Int8 ? std::pair<i64, i64>{-128, 127} : std::pair<i64, i64>{0, 255};
}

/// Number of scales / zero points `q` needs: 1 per tensor, data.size(axis) per channel.
i64 channel_count(const QuantizedTensor& q) { return q.per_channel() ? q.data.size(q.axis) : 1; }

std::string grid_problem(const QuantizedTensor& q) {
  if (q.bits < 2 || q.bits > 8) return "bits: expected 2..8 (8-bit storage), got " + std::to_string(q.bits);
  const auto [lo, hi] = dtype_range(q.data.dtype());
  const std::string grid = interval(q.qmin, q.qmax);
  if (q.qmin >= q.qmax) return "qmin/qmax: expected qmin < qmax, got " + grid;
  if (q.qmin < lo || q.qmax > hi)
    return "qmin/qmax: expected a grid within the range of " + std::string(dtype_name(q.data.dtype())) + " " + interval(lo, hi) +
           ", got " + grid;
  if (q.qmax - q.qmin >= (i64{1} << q.bits))
    return "qmin/qmax: expected at most 2^" + std::to_string(q.bits) + " = " + std::to_string(i64{1} << q.bits) +
           " levels for bits = " + std::to_string(q.bits) + ", got " + grid + " (" +
           std::to_string(q.qmax - q.qmin + 1) + " levels)";
  return "";
}

std::string shape_problem(const QuantizedTensor& q) {
  if (q.axis < -1 || q.axis >= q.data.dim())
    return "axis: expected -1 (per tensor) or 0.." + std::to_string(q.data.dim() - 1) + " for data of shape " +
           shape_str(q.data.shape()) + ", got " + std::to_string(q.axis);
  const Shape expected{channel_count(q)};
  const std::string why = q.per_channel() ? " (the size of axis " + std::to_string(q.axis) + " of data " +
                                                shape_str(q.data.shape()) + ")"
                                          : std::string(" (per tensor)");
  for (const auto& [field, t] : {std::pair<const char*, const Tensor*>{"scale", &q.scale}, {"zero_point", &q.zero_point}}) {
    if (!t->defined()) return std::string(field) + ": expected a tensor, got an undefined Tensor";
    if (t->shape() != expected)
      return std::string(field) + ": expected shape " + shape_str(expected) + why + ", got " + shape_str(t->shape());
  }
  if (q.scale.dtype() != DType::Float32)
    return "scale: expected float32, got " + std::string(dtype_name(q.scale.dtype()));
  if (q.zero_point.dtype() != DType::Float32 && q.zero_point.dtype() != DType::Int64)
    return "zero_point: expected float32 (whole numbers) or int64, got " + std::string(dtype_name(q.zero_point.dtype()));
  return "";
}

std::string qparams_problem(const QuantizedTensor& q) {
  const i64 n = channel_count(q);
  const float* scale = q.scale.data<float>();
  for (i64 c = 0; c < n; ++c)
    if (!(std::isfinite(scale[c]) && scale[c] > 0.0f))
      return "scale: expected finite values > 0, got " + number_str(scale[c]) + channel_str(q, c);
  for (i64 c = 0; c < n; ++c) {
    const double zp = q.zero_point.dtype() == DType::Float32 ? double(q.zero_point.data<float>()[c])
                                                             : double(q.zero_point.data<i64>()[c]);
    if (q.zero_point.dtype() == DType::Float32 && !(std::isfinite(zp) && zp == std::nearbyint(zp)))
      return "zero_point: expected whole numbers, got " + number_str(zp) + channel_str(q, c);
    if (zp < double(q.qmin) || zp > double(q.qmax))
      return "zero_point: expected values within [qmin, qmax] = " + interval(q.qmin, q.qmax) + ", got " +
             number_str(zp) + channel_str(q, c);
  }
  return "";
}

/// Index of the first value outside [qmin, qmax], or -1.
template <typename T>
i64 first_off_grid(const QuantizedTensor& q) {
  const T* p = q.data.data<T>();
  for (i64 i = 0; i < q.data.numel(); ++i)
    if (p[i] < q.qmin || p[i] > q.qmax) return i;
  return -1;
}

std::string values_problem(const QuantizedTensor& q) {
  const bool is_int8 = q.data.dtype() == DType::Int8;
  const i64 bad = is_int8 ? first_off_grid<std::int8_t>(q) : first_off_grid<std::uint8_t>(q);
  if (bad < 0) return "";
  const i64 value = is_int8 ? i64(q.data.data<std::int8_t>()[bad]) : i64(q.data.data<std::uint8_t>()[bad]);
  return "data: expected values within [qmin, qmax] = " + interval(q.qmin, q.qmax) + ", got " +
         std::to_string(value) + " at flat index " + std::to_string(bad);
}

/// Float32 zero points (whole numbers) of a valid `q`.
std::vector<float> zero_points(const QuantizedTensor& q) {
  const i64 n = q.zero_point.numel();
  std::vector<float> out(static_cast<std::size_t>(n));
  for (i64 c = 0; c < n; ++c)
    out[c] = q.zero_point.dtype() == DType::Float32 ? q.zero_point.data<float>()[c]
                                                    : static_cast<float>(q.zero_point.data<i64>()[c]);
  return out;
}

/// Calls f(flat index, channel) over `shape` viewed as [outer, channels, inner] along `axis`.
template <typename F>
void for_each_channel(const Shape& shape, i64 axis, F&& f) {
  i64 outer = 1, channels = 1, inner = 1;
  for (i64 d = 0; d < static_cast<i64>(shape.size()); ++d) {
    if (axis < 0 || d > axis) inner *= shape[d];
    else if (d < axis) outer *= shape[d];
    else channels = shape[d];
  }
  i64 i = 0;
  for (i64 o = 0; o < outer; ++o)
    for (i64 c = 0; c < channels; ++c)
      for (i64 k = 0; k < inner; ++k) f(i++, c);
}

template <typename T>
void quantize_into(const QuantizedTensor& q, const float* x, Tensor data) {
  T* out = data.data<T>();
  const float* scale = q.scale.data<float>();
  const std::vector<float> zp = zero_points(q);
  const float lo = static_cast<float>(q.qmin), hi = static_cast<float>(q.qmax);
  for_each_channel(q.data.shape(), q.axis, [&](i64 i, i64 c) {
    const float v = std::nearbyint(x[i] * (1.0f / scale[c])) + zp[c];
    out[i] = static_cast<T>(std::fmin(std::fmax(v, lo), hi));
  });
}

template <typename T>
void dequantize_into(const QuantizedTensor& q, float* out) {
  const T* data = q.data.data<T>();
  const float* scale = q.scale.data<float>();
  const std::vector<float> zp = zero_points(q);
  for_each_channel(q.data.shape(), q.axis, [&](i64 i, i64 c) { out[i] = (static_cast<float>(data[i]) - zp[c]) * scale[c]; });
}

}  // namespace

std::string quantized_tensor_problem(const QuantizedTensor& q, bool check_values) {
  if (!q.data.defined()) return "data: expected a tensor, got an undefined Tensor";
  if (q.data.dtype() != DType::Int8 && q.data.dtype() != DType::UInt8)
    return "data: expected int8 or uint8, got " + std::string(dtype_name(q.data.dtype()));
  std::string problem = grid_problem(q);
  if (problem.empty()) problem = shape_problem(q);
  if (problem.empty()) problem = qparams_problem(q);
  if (problem.empty() && check_values) problem = values_problem(q);
  return problem;
}

QuantizedTensor quantize(const std::string& name, const Tensor& x, const Tensor& scale, const Tensor& zero_point,
                         i64 axis, i64 bits, i64 qmin, i64 qmax, DType dtype) {
  SHRINK_CHECK(x.defined() && x.dtype() == DType::Float32, "quantize: '", name, "': expected a float32 input, got ",
               x.defined() ? dtype_name(x.dtype()) : "an undefined Tensor");
  SHRINK_CHECK(dtype == DType::Int8 || dtype == DType::UInt8, "quantize: '", name,
               "': expected the dtype int8 or uint8, got ", dtype_name(dtype));
  QuantizedTensor q{name, Tensor::empty(x.shape(), dtype), scale, zero_point, axis, bits, qmin, qmax};
  const std::string problem = quantized_tensor_problem(q, false);
  SHRINK_CHECK(problem.empty(), "quantize: '", name, "': ", problem);
  if (dtype == DType::Int8) quantize_into<std::int8_t>(q, x.data<float>(), q.data);
  else quantize_into<std::uint8_t>(q, x.data<float>(), q.data);
  return q;
}

Tensor dequantize(const QuantizedTensor& q) {
  const std::string problem = quantized_tensor_problem(q);
  SHRINK_CHECK(problem.empty(), "dequantize: '", q.name, "': ", problem);
  Tensor out = Tensor::empty(q.data.shape(), DType::Float32);
  if (q.data.dtype() == DType::Int8) dequantize_into<std::int8_t>(q, out.data<float>());
  else dequantize_into<std::uint8_t>(q, out.data<float>());
  return out;
}

}  // namespace shrink::io
