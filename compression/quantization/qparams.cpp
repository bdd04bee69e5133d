// Scale and zero point of a range: PyTorch's observer formula, in float32 as it computes them.
#include "compression/quantization/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace shrink::compression {

QuantRange QuantRange::of(int bits, bool is_signed, bool restricted) {
  SHRINK_CHECK(bits >= 2 && bits <= 16, "QuantRange: expected bits in [2, 16], got ", bits);
  SHRINK_CHECK(is_signed || !restricted, "QuantRange: the restricted range [-(2^(b-1)-1), 2^(b-1)-1] is signed; "
               "got restricted with an unsigned grid");
  if (!is_signed) return {0, (std::int64_t{1} << bits) - 1};
  const std::int64_t half = std::int64_t{1} << (bits - 1);
  return {restricted ? -(half - 1) : -half, half - 1};
}

std::string scheme_name(QuantScheme scheme) { return scheme == QuantScheme::Affine ? "affine" : "symmetric"; }

QParams calculate_qparams(const Tensor& min_val, const Tensor& max_val, QuantRange range, QuantScheme scheme,
                          std::int64_t axis) {
  SHRINK_CHECK_SHAPE(min_val.shape() == max_val.shape() && min_val.dim() == 1 && min_val.numel() > 0,
                     "calculate_qparams: expected min and max of the same shape [C], got ", shape_str(min_val.shape()),
                     " and ", shape_str(max_val.shape()));
  SHRINK_CHECK(axis >= 0 || min_val.numel() == 1, "calculate_qparams: expected one min/max per tensor (axis -1), got ",
               min_val.numel());
  const std::int64_t n = min_val.numel();
  const Tensor& lo = min_val;
  const Tensor& hi = max_val;
  QParams q{zeros({n}), zeros({n}), axis, range};
  const float eps = std::numeric_limits<float>::epsilon();
  const float qmin = static_cast<float>(range.qmin), qmax = static_cast<float>(range.qmax);
  for (std::int64_t c = 0; c < n; ++c) {
    const float mn = lo.data<float>()[c], mx = hi.data<float>()[c];
    float scale = 1.0f, zp = 0.0f;
    if (!(mn == std::numeric_limits<float>::infinity() && mx == -std::numeric_limits<float>::infinity())) {
      const float min_neg = std::min(mn, 0.0f), max_pos = std::max(mx, 0.0f);
      if (scheme == QuantScheme::Symmetric) {
        const float amax = std::max(-min_neg, max_pos);
        scale = std::max(amax / ((qmax - qmin) / 2.0f), eps);
        // Signed grids centre on 0; unsigned ones on the middle of the grid (128 for uint8).
        // PyTorch: 128 for uint8's default grid, (qmin + qmax) // 2 for another unsigned grid.
        if (!range.is_signed())
          zp = static_cast<float>(range == QuantRange{0, 255} ? 128 : (range.qmin + range.qmax) / 2);
      } else {
        scale = std::max((max_pos - min_neg) / (qmax - qmin), eps);
        zp = std::clamp(qmin - std::nearbyint(min_neg / scale), qmin, qmax);
      }
    }
    q.scale.data<float>()[c] = scale;
    q.zero_point.data<float>()[c] = zp;
  }
  return q;
}

}  // namespace shrink::compression
