#include "autograd/kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using i64 = std::int64_t;

/// Window of output position o along one dimension: [lo, hi) clipped to the input, and the
/// divisor share `count` (PyTorch's avg-pool rule).
struct Span {
  i64 lo, hi, count;
};

/// Max-pool windows: first in-range tap lo (stepping by dilation), exclusive end hi.
std::vector<Span> max_spans(i64 out, i64 size, i64 k, i64 s, i64 p, i64 d) {
  std::vector<Span> v(static_cast<std::size_t>(out));
  for (i64 o = 0; o < out; ++o) {
    i64 lo = o * s - p;
    const i64 hi = std::min(lo + (k - 1) * d + 1, size);
    while (lo < 0) lo += d;
    v[o] = Span{lo, hi, 0};
  }
  return v;
}

/// Avg-pool windows: the divisor share is the window clipped to the padded input
/// (count_include_pad) or to the input itself.
std::vector<Span> avg_spans(i64 out, i64 size, i64 k, i64 s, i64 p, bool include_pad) {
  std::vector<Span> v(static_cast<std::size_t>(out));
  for (i64 o = 0; o < out; ++o) {
    const i64 start = o * s - p, end = std::min(start + k, size + p);
    const i64 lo = std::max<i64>(start, 0), hi = std::min(end, size);
    v[o] = Span{lo, hi, include_pad ? end - start : hi - lo};
  }
  return v;
}

/// Adaptive windows [floor(o·size/out), ceil((o+1)·size/out)).
std::vector<Span> adaptive_spans(i64 out, i64 size) {
  std::vector<Span> v(static_cast<std::size_t>(out));
  for (i64 o = 0; o < out; ++o) {
    const i64 lo = o * size / out, hi = ((o + 1) * size + out - 1) / out;
    v[o] = Span{lo, hi, hi - lo};
  }
  return v;
}

/// Average pooling of one plane xp [H][W] into o [OH][OW], separably: for each output row the
/// column sums of its window rows (vectorised along the row), then each output's window of
/// those. out = divide(sum, oh, ow). `cols` is scratch of W floats.
template <typename Divide>
void avg_plane_forward(const float* xp, i64 W, const std::vector<Span>& hs, const std::vector<Span>& ws, float* o,
                       float* cols, Divide divide) {
  const i64 OW = static_cast<i64>(ws.size());
  for (std::size_t oh = 0; oh < hs.size(); ++oh) {
    std::fill(cols, cols + W, 0.0f);
    for (i64 h = hs[oh].lo; h < hs[oh].hi; ++h)
      for (i64 w = 0; w < W; ++w) cols[w] += xp[h * W + w];
    for (i64 ow = 0; ow < OW; ++ow) {
      float s = 0.0f;
      for (i64 w = ws[ow].lo; w < ws[ow].hi; ++w) s += cols[w];
      o[static_cast<i64>(oh) * OW + ow] = divide(s, oh, ow);
    }
  }
}

/// Backward of avg_plane_forward into the zeroed plane dp [H][W]: each output row's gradients
/// spread over a row buffer (`cols`, W floats), which is added to the row's window rows.
template <typename Divide>
void avg_plane_backward(const float* gp, i64 W, const std::vector<Span>& hs, const std::vector<Span>& ws, float* dp,
                        float* cols, Divide divide) {
  const i64 OW = static_cast<i64>(ws.size());
  for (std::size_t oh = 0; oh < hs.size(); ++oh) {
    std::fill(cols, cols + W, 0.0f);
    for (i64 ow = 0; ow < OW; ++ow) {
      const float v = divide(gp[static_cast<i64>(oh) * OW + ow], oh, ow);
      for (i64 w = ws[ow].lo; w < ws[ow].hi; ++w) cols[w] += v;
    }
    for (i64 h = hs[oh].lo; h < hs[oh].hi; ++h)
      for (i64 w = 0; w < W; ++w) dp[h * W + w] += cols[w];
  }
}

/// PyTorch's max-pool scan step: v replaces the running max if greater or NaN. Branch-free
/// (selects), because on real data the comparison is unpredictable.
inline void take_if_greater(float v, i64 index, float& m, i64& mi) {
  const bool take = (v > m) | (v != v);
  m = take ? v : m;
  mi = take ? index : mi;
}

// Grain for parallel loops over planes: keep at least ~16k elements per task.
i64 plane_grain(i64 plane) { return std::max<i64>(1, 16384 / std::max<i64>(plane, 1)); }

}  // namespace

std::int64_t pool_output_size(std::int64_t size, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                              std::int64_t dilation, bool ceil_mode) {
  const i64 num = size + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  i64 out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  // The last window must start inside the input or its left padding.
  if (ceil_mode && (out - 1) * stride >= size + pad) --out;
  return out;
}

Tensor max_pool2d_forward(const Tensor& x, const PoolGeometry& g, Tensor& indices) {
  Tensor out = Tensor::empty({g.N, g.C, g.OH, g.OW});
  indices = Tensor::empty({g.N, g.C, g.OH, g.OW}, DType::Int64);
  const auto hs = max_spans(g.OH, g.H, g.kh, g.sh, g.ph, g.dh), ws = max_spans(g.OW, g.W, g.kw, g.sw, g.pw, g.dw);
  const float* px = x.data<float>();
  float* po = out.data<float>();
  i64* pi = indices.data<i64>();
  const i64 HW = g.H * g.W, P = g.OH * g.OW;
  const bool two_by_two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 &&
                          g.dw == 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
  parallel_for(g.N * g.C, plane_grain(HW), [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      const float* xp = px + q * HW;
      float* o = po + q * P;
      i64* id = pi + q * P;
      for (i64 oh = 0; oh < g.OH; ++oh) {
        if (two_by_two) {
          // The common 2×2/2 case, unrolled; same scan order and NaN rule as the general loop.
          const i64 r0 = 2 * oh * g.W, r1 = r0 + g.W;
          for (i64 ow = 0; ow < g.OW; ++ow) {
            const i64 cand[4] = {r0 + 2 * ow, r0 + 2 * ow + 1, r1 + 2 * ow, r1 + 2 * ow + 1};
            float m = xp[cand[0]];
            i64 mi = cand[0];
            for (int c = 1; c < 4; ++c) take_if_greater(xp[cand[c]], cand[c], m, mi);
            o[oh * g.OW + ow] = m;
            id[oh * g.OW + ow] = mi;
          }
          continue;
        }
        const Span sh = hs[oh];
        for (i64 ow = 0; ow < g.OW; ++ow) {
          const Span sw = ws[ow];
          float m = -std::numeric_limits<float>::infinity();
          i64 mi = sh.lo < sh.hi && sw.lo < sw.hi ? sh.lo * g.W + sw.lo : -1;  // -1: empty window
          for (i64 h = sh.lo; h < sh.hi; h += g.dh)
            for (i64 w = sw.lo; w < sw.hi; w += g.dw) {
              take_if_greater(xp[h * g.W + w], h * g.W + w, m, mi);
            }
          o[oh * g.OW + ow] = m;
          id[oh * g.OW + ow] = mi;
        }
      }
    }
  });
  return out;
}

Tensor max_pool2d_backward(const Tensor& gy, const Tensor& indices, const PoolGeometry& g) {
  Tensor dx = Tensor::empty({g.N, g.C, g.H, g.W});
  const float* pg = gy.data<float>();
  const i64* pi = indices.data<i64>();
  float* pd = dx.data<float>();
  const i64 HW = g.H * g.W, P = g.OH * g.OW;
  parallel_for(g.N * g.C, plane_grain(HW), [&](i64 q0, i64 q1) {
    for (i64 q = q0; q < q1; ++q) {
      std::fill(pd + q * HW, pd + (q + 1) * HW, 0.0f);  // zeroed here: in parallel, cache-hot
      for (i64 o = 0; o < P; ++o) {
        const i64 i = pi[q * P + o];
        if (i >= 0) pd[q * HW + i] += pg[q * P + o];
      }
    }
  });
  return dx;
}

Tensor avg_pool2d_forward(const Tensor& x, const PoolGeometry& g) {
  Tensor out = Tensor::empty({g.N, g.C, g.OH, g.OW});
  const auto hs = avg_spans(g.OH, g.H, g.kh, g.sh, g.ph, g.count_include_pad);
  const auto ws = avg_spans(g.OW, g.W, g.kw, g.sw, g.pw, g.count_include_pad);
  const float* px = x.data<float>();
  float* po = out.data<float>();
  const auto divide = [&](float v, std::size_t oh, i64 ow) {
    return v / static_cast<float>(hs[oh].count * ws[ow].count);
  };
  parallel_for(g.N * g.C, plane_grain(g.H * g.W), [&](i64 q0, i64 q1) {
    std::vector<float> cols(static_cast<std::size_t>(g.W));
    for (i64 q = q0; q < q1; ++q)
      avg_plane_forward(px + q * g.H * g.W, g.W, hs, ws, po + q * g.OH * g.OW, cols.data(), divide);
  });
  return out;
}

Tensor avg_pool2d_backward(const Tensor& gy, const PoolGeometry& g) {
  Tensor dx = Tensor::empty({g.N, g.C, g.H, g.W});
  const auto hs = avg_spans(g.OH, g.H, g.kh, g.sh, g.ph, g.count_include_pad);
  const auto ws = avg_spans(g.OW, g.W, g.kw, g.sw, g.pw, g.count_include_pad);
  const float* pg = gy.data<float>();
  float* pd = dx.data<float>();
  const auto divide = [&](float v, std::size_t oh, i64 ow) {
    return v / static_cast<float>(hs[oh].count * ws[ow].count);
  };
  parallel_for(g.N * g.C, plane_grain(g.H * g.W), [&](i64 q0, i64 q1) {
    std::vector<float> cols(static_cast<std::size_t>(g.W));
    for (i64 q = q0; q < q1; ++q) {
      float* dp = pd + q * g.H * g.W;
      std::fill(dp, dp + g.H * g.W, 0.0f);  // zeroed here: in parallel, cache-hot
      avg_plane_backward(pg + q * g.OH * g.OW, g.W, hs, ws, dp, cols.data(), divide);
    }
  });
  return dx;
}

// Adaptive windows divide by each extent in turn, like PyTorch.
Tensor adaptive_avg_pool2d_forward(const Tensor& x, std::int64_t OH, std::int64_t OW) {
  const i64 N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor out = Tensor::empty({N, C, OH, OW});
  const auto hs = adaptive_spans(OH, H), ws = adaptive_spans(OW, W);
  const float* px = x.data<float>();
  float* po = out.data<float>();
  const auto divide = [&](float v, std::size_t oh, i64 ow) {
    return v / static_cast<float>(hs[oh].count) / static_cast<float>(ws[ow].count);
  };
  parallel_for(N * C, plane_grain(H * W), [&](i64 q0, i64 q1) {
    std::vector<float> cols(static_cast<std::size_t>(W));
    for (i64 q = q0; q < q1; ++q) avg_plane_forward(px + q * H * W, W, hs, ws, po + q * OH * OW, cols.data(), divide);
  });
  return out;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& gy, std::int64_t H, std::int64_t W) {
  const i64 N = gy.size(0), C = gy.size(1), OH = gy.size(2), OW = gy.size(3);
  Tensor dx = Tensor::empty({N, C, H, W});
  const auto hs = adaptive_spans(OH, H), ws = adaptive_spans(OW, W);
  const float* pg = gy.data<float>();
  float* pd = dx.data<float>();
  const auto divide = [&](float v, std::size_t oh, i64 ow) {
    return v / static_cast<float>(hs[oh].count) / static_cast<float>(ws[ow].count);
  };
  parallel_for(N * C, plane_grain(H * W), [&](i64 q0, i64 q1) {
    std::vector<float> cols(static_cast<std::size_t>(W));
    for (i64 q = q0; q < q1; ++q) {
      float* dp = pd + q * H * W;
      std::fill(dp, dp + H * W, 0.0f);
      avg_plane_backward(pg + q * OH * OW, W, hs, ws, dp, cols.data(), divide);
    }
  });
  return dx;
}

}  // namespace shrink::kernels
