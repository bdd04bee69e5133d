// fake_quantize: PyTorch's cachemask kernel, with the mask (one byte per element) kept for the
// straight-through backward.
#include "compression/quantization/fake_quant.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/kernels/parallel.h"
#include "autograd/node.h"

namespace shrink::compression {
namespace {

using i64 = std::int64_t;

void check_grid(const char* where, i64 qmin, i64 qmax) {
  SHRINK_CHECK(qmin < qmax, where, ": expected qmin < qmax, got qmin ", qmin, " and qmax ", qmax);
}

void check_scale(const char* where, float scale, i64 channel) {
  SHRINK_CHECK(std::isfinite(scale) && scale > 0.0f, where, ": expected a finite scale > 0, got ", scale,
               channel >= 0 ? " for channel " + std::to_string(channel) : std::string());
}

/// d/dx: g where the mask is 1, else 0 — g · float(mask), as PyTorch's dY * mask (so a NaN or −0
/// in g comes out as it would there).
Tensor masked_grad(const Tensor& g, const Tensor& mask) {
  Tensor out = Tensor::empty(g.shape());
  const float* gi = g.data<float>();
  const std::uint8_t* m = mask.data<std::uint8_t>();
  float* o = out.data<float>();
  kernels::parallel_for(g.numel(), 16384, [&](i64 s, i64 e) {
    for (i64 i = s; i < e; ++i) o[i] = gi[i] * static_cast<float>(m[i]);
  });
  return out;
}

/// Runs the kernel over `x` viewed as [outer, channels, inner] with per-channel (scale, zp);
/// writes the output and the straight-through mask (uint8: 1 where the unclamped q is on the
/// grid), which the backward keeps.
Tensor run(const char* op, const Tensor& x, const float* scale, const float* zp, i64 outer, i64 channels, i64 inner,
           i64 qmin, i64 qmax, Attributes attrs) {
  SHRINK_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 input, got ", dtype_name(x.dtype()));
  Tensor out = Tensor::empty(x.shape());
  Tensor mask = Tensor::empty(x.shape(), DType::UInt8);
  const float* in = x.data<float>();
  float* o = out.data<float>();
  std::uint8_t* m = mask.data<std::uint8_t>();
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  kernels::parallel_for(outer * channels, std::max<i64>(1, 16384 / std::max<i64>(inner, 1)), [&](i64 s, i64 e) {
    for (i64 row = s; row < e; ++row) {
      const i64 c = row % channels;
      const float sc = scale[c], inv = 1.0f / sc, z = zp[c];
      const i64 base = row * inner;
      for (i64 k = 0; k < inner; ++k) {
        const float q = std::nearbyint(in[base + k] * inv) + z;
        // fmin(fmax(q, lo), hi) as glibc computes it (a NaN q gives lo), written so that it
        // vectorises instead of calling fmaxf / fminf per element.
        const float up = q >= lo ? q : lo;
        o[base + k] = ((up <= hi ? up : hi) - z) * sc;
        m[base + k] = (q >= lo && q <= hi) ? 1 : 0;
      }
    }
  });
  return record(op, out, {x}, [mask](const Tensor& g) { return TensorList{masked_grad(g, mask)}; },
                std::move(attrs));
}

}  // namespace

Tensor fake_quantize_per_tensor(const Tensor& x, float scale, i64 zero_point, i64 qmin, i64 qmax) {
  check_grid("fake_quantize_per_tensor", qmin, qmax);
  check_scale("fake_quantize_per_tensor", scale, -1);
  const float zp = static_cast<float>(zero_point);
  return run("fake_quantize_per_tensor", x, &scale, &zp, 1, 1, x.numel(), qmin, qmax,
             {{"scale", double(scale)}, {"zero_point", zero_point}, {"qmin", qmin}, {"qmax", qmax}});
}

Tensor fake_quantize_per_channel(const Tensor& x, const Tensor& scale, const Tensor& zero_point, i64 axis, i64 qmin,
                                 i64 qmax) {
  check_grid("fake_quantize_per_channel", qmin, qmax);
  SHRINK_CHECK_INDEX(axis >= 0 && axis < x.dim(), "fake_quantize_per_channel: expected axis in [0, ", x.dim(),
                     ") for input ", shape_str(x.shape()), ", got ", axis);
  const i64 channels = x.size(axis);
  SHRINK_CHECK_SHAPE(scale.shape() == Shape{channels} && zero_point.shape() == Shape{channels},
                     "fake_quantize_per_channel: expected scale and zero_point of shape [", channels,
                     "] (the size of axis ", axis, " of input ", shape_str(x.shape()), "), got ",
                     shape_str(scale.shape()), " and ", shape_str(zero_point.shape()));
  for (i64 c = 0; c < channels; ++c) check_scale("fake_quantize_per_channel", scale.data<float>()[c], c);
  i64 outer = 1, inner = 1;
  for (i64 d = 0; d < axis; ++d) outer *= x.size(d);
  for (i64 d = axis + 1; d < x.dim(); ++d) inner *= x.size(d);
  return run("fake_quantize_per_channel", x, scale.data<float>(), zero_point.data<float>(), outer, channels, inner,
             qmin, qmax, {{"axis", axis}, {"qmin", qmin}, {"qmax", qmax}});
}

Tensor fake_quantize(const Tensor& x, const QParams& q) {
  if (q.per_channel())
    return fake_quantize_per_channel(x, q.scale, q.zero_point, q.axis, q.range.qmin, q.range.qmax);
  SHRINK_CHECK_SHAPE(q.scale.numel() == 1 && q.zero_point.numel() == 1,
                     "fake_quantize: expected per-tensor qparams of shape [1], got ", shape_str(q.scale.shape()));
  return fake_quantize_per_tensor(x, q.scale.data<float>()[0], static_cast<i64>(q.zero_point.data<float>()[0]),
                                  q.range.qmin, q.range.qmax);
}

}  // namespace shrink::compression
