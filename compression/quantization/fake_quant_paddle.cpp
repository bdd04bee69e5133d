// PaddleSlim's abs-max fake quantize-dequantize, in Paddle's float32 order of operations.
#include "compression/quantization/fake_quant_paddle.h"

#include <cmath>
#include <string>

#include "autograd/error.h"
#include "autograd/kernels/parallel.h"
#include "autograd/node.h"

namespace shrink::compression {
namespace {

using i64 = std::int64_t;

void check_threshold(const char* where, float s, i64 channel) {
  SHRINK_CHECK(std::isfinite(s) && s >= 0.0f, where, ": expected a finite threshold >= 0, got ", s,
               channel >= 0 ? " for channel " + std::to_string(channel) : std::string());
}

/// x viewed as [outer, channels, inner], one threshold per channel.
Tensor run(const char* op, const Tensor& x, const float* thresholds, i64 outer, i64 channels, i64 inner, i64 bin_cnt,
           Attributes attrs) {
  SHRINK_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 input, got ", dtype_name(x.dtype()));
  Tensor out = zeros(x.shape());
  const float* in = x.data<float>();
  float* o = out.data<float>();
  const float b = static_cast<float>(bin_cnt), lo = -b - 1.0f;
  kernels::parallel_for(outer * channels, std::max<i64>(1, 16384 / std::max<i64>(inner, 1)), [&](i64 s, i64 e) {
    for (i64 row = s; row < e; ++row) {
      const float sc = thresholds[row % channels];
      const float inv = sc <= 1e-30f ? 1.0f / (sc + 1e-6f) : 1.0f / sc;
      const float k = b * inv;  // Paddle multiplies bin_cnt · inv_s first, then x
      const i64 base = row * inner;
      for (i64 j = 0; j < inner; ++j) {
        const float q = std::fmin(std::fmax(std::nearbyint(k * in[base + j]), lo), b);
        o[base + j] = (q * sc) / b;
      }
    }
  });
  return record(op, out, {x}, [](const Tensor& g) { return TensorList{g}; }, std::move(attrs));
}

}  // namespace

Tensor fake_quantize_abs_max(const Tensor& x, float threshold, i64 bin_cnt) {
  SHRINK_CHECK(bin_cnt >= 1, "fake_quantize_abs_max: expected bin_cnt >= 1, got ", bin_cnt);
  check_threshold("fake_quantize_abs_max", threshold, -1);
  return run("fake_quantize_abs_max", x, &threshold, 1, 1, x.numel(), bin_cnt,
             {{"threshold", double(threshold)}, {"bin_cnt", bin_cnt}});
}

Tensor fake_quantize_channel_wise_abs_max(const Tensor& x, const Tensor& thresholds, i64 axis, i64 bin_cnt) {
  const char* op = "fake_quantize_channel_wise_abs_max";
  SHRINK_CHECK(bin_cnt >= 1, op, ": expected bin_cnt >= 1, got ", bin_cnt);
  SHRINK_CHECK_INDEX(axis >= 0 && axis < x.dim(), op, ": expected axis in [0, ", x.dim(), ") for input ",
                     shape_str(x.shape()), ", got ", axis);
  const i64 channels = x.size(axis);
  SHRINK_CHECK_SHAPE(thresholds.dtype() == DType::Float32 && thresholds.shape() == Shape{channels}, op,
                     ": expected float32 thresholds of shape [", channels, "] (the size of axis ", axis,
                     " of input ", shape_str(x.shape()), "), got ", shape_str(thresholds.shape()));
  for (i64 c = 0; c < channels; ++c) check_threshold(op, thresholds.data<float>()[c], c);
  i64 outer = 1, inner = 1;
  for (i64 d = 0; d < axis; ++d) outer *= x.size(d);
  for (i64 d = axis + 1; d < x.dim(); ++d) inner *= x.size(d);
  return run(op, x, thresholds.data<float>(), outer, channels, inner, bin_cnt, {{"axis", axis}, {"bin_cnt", bin_cnt}});
}

}  // namespace shrink::compression
