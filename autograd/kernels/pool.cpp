#include "autograd/kernels/pool.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/kernels/conv_util.h"
#include "autograd/kernels/parallel.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

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

/// Σ p[0..n): packet partial sums (four packets in flight), then the lanes and the tail, in a
/// fixed order.
float plane_sum(const float* p, i64 n) {
  using namespace Eigen::internal;
  using Packet = packet_traits<float>::type;
  constexpr i64 PS = packet_traits<float>::size;
  Packet acc[4] = {pset1<Packet>(0.0f), pset1<Packet>(0.0f), pset1<Packet>(0.0f), pset1<Packet>(0.0f)};
  i64 i = 0;
  for (; i + 4 * PS <= n; i += 4 * PS)
    for (int u = 0; u < 4; ++u) acc[u] = padd(acc[u], ploadu<Packet>(p + i + u * PS));
  for (; i + PS <= n; i += PS) acc[0] = padd(acc[0], ploadu<Packet>(p + i));
  float s = predux(padd(padd(acc[0], acc[1]), padd(acc[2], acc[3])));
  for (; i < n; ++i) s += p[i];
  return s;
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

/// PyTorch's max-pool scan step: v replaces the running max if greater or NaN.
inline void take_if_greater(float v, i64 index, float& m, i64& mi) {
  if (v > m || v != v) {
    m = v;
    mi = index;
  }
}

#ifdef __AVX512F__
/// One output row of the 2×2 stride-2 max pool, 16 outputs per step: rows r0 = x + 2·oh·W and
/// r0 + W are split into even and odd columns, and the window is scanned as PyTorch does
/// (row-major, first maximum, NaN wins) in two stages: the first maximum of each row pair,
/// then the second row's if strictly greater (or NaN). Equivalent to the sequential scan.
void max_pool_2x2_row(const float* x, i64 W, i64 oh, i64 OW, float* o, i64* id) {
  alignas(64) static constexpr std::int32_t kEven[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
  alignas(64) static constexpr std::int32_t kOdd[16] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
  const __m512i even = _mm512_load_si512(kEven), odd = _mm512_load_si512(kOdd);
  const float* r0 = x + 2 * oh * W;
  const float* r1 = r0 + W;
  for (i64 ow = 0; ow < OW; ow += 16) {
    const i64 n = std::min<i64>(16, OW - ow);
    // Masked loads for the tail: 2n floats of each row.
    const __mmask16 lo = n >= 8 ? __mmask16(0xFFFF) : __mmask16((1u << (2 * n)) - 1);
    const __mmask16 hi = n <= 8 ? __mmask16(0) : __mmask16((1u << (2 * (n - 8))) - 1);
    const __m512 a0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * ow), a1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * ow + 16);
    const __m512 b0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * ow), b1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * ow + 16);
    const __m512 a = _mm512_permutex2var_ps(a0, even, a1), b = _mm512_permutex2var_ps(a0, odd, a1);
    const __m512 c = _mm512_permutex2var_ps(b0, even, b1), d = _mm512_permutex2var_ps(b0, odd, b1);
    const __mmask16 t0 = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
    const __mmask16 t1 = _mm512_cmp_ps_mask(d, c, _CMP_GT_OQ) | _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
    const __m512 m0 = _mm512_mask_blend_ps(t0, a, b), m1 = _mm512_mask_blend_ps(t1, c, d);
    const __mmask16 t2 = _mm512_cmp_ps_mask(m1, m0, _CMP_GT_OQ) | _mm512_cmp_ps_mask(m1, m1, _CMP_UNORD_Q);
    const __mmask16 nmask = static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(o + ow, nmask, _mm512_mask_blend_ps(t2, m0, m1));
    const unsigned col = static_cast<unsigned>((t2 & t1) | (~t2 & t0)), row = t2;
    for (i64 l = 0; l < n; ++l)
      id[ow + l] = 2 * oh * W + 2 * (ow + l) + ((col >> l) & 1u) + static_cast<i64>((row >> l) & 1u) * W;
  }
}
#else
/// One output row of the 2×2 stride-2 max pool without AVX-512: the window's four taps scanned
/// in PyTorch's order (row-major, first maximum, NaN wins), as the general path does, without
/// its phase buffer (which costs a scatter of every input element at stride 2).
void max_pool_2x2_row(const float* x, i64 W, i64 oh, i64 OW, float* o, i64* id) {
  const i64 row = 2 * oh * W;
  const float* r0 = x + row;
  const float* r1 = r0 + W;
  for (i64 ow = 0; ow < OW; ++ow) {
    const i64 at = row + 2 * ow;
    float m = -std::numeric_limits<float>::infinity();
    i64 mi = at;
    take_if_greater(r0[2 * ow], at, m, mi);
    take_if_greater(r0[2 * ow + 1], at + 1, m, mi);
    take_if_greater(r1[2 * ow], at + W, m, mi);
    take_if_greater(r1[2 * ow + 1], at + W + 1, m, mi);
    o[ow] = m;
    id[ow] = mi;
  }
}
#endif

/// One output row of the 2×2 stride-2 max pool, values only (inference needs no indices): the
/// four taps in PyTorch's scan order (row-major; a tap replaces the running max if greater or
/// NaN), so the floats are those of the indexed paths. 8 outputs per step with AVX2.
void max_pool_2x2_row_values(const float* x, i64 W, i64 oh, i64 OW, float* o) {
  const float* r0 = x + 2 * oh * W;
  const float* r1 = r0 + W;
  i64 ow = 0;
#ifdef __AVX2__
  const auto take = [](__m256 m, __m256 v) {
    return _mm256_blendv_ps(m, v, _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
  };
  for (; ow + 8 <= OW; ow += 8) {
    // Even (first tap) and odd input columns of 16 inputs per row; shuffle_ps leaves the outputs
    // in the order [0 1 4 5 | 2 3 6 7], which the final permute restores.
    const __m256 a0 = _mm256_loadu_ps(r0 + 2 * ow), a1 = _mm256_loadu_ps(r0 + 2 * ow + 8);
    const __m256 b0 = _mm256_loadu_ps(r1 + 2 * ow), b1 = _mm256_loadu_ps(r1 + 2 * ow + 8);
    __m256 m = _mm256_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
    m = take(m, _mm256_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)));
    m = take(m, _mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)));
    m = take(m, _mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm256_storeu_ps(o + ow, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), _MM_SHUFFLE(3, 1, 2, 0))));
  }
#endif
  for (; ow < OW; ++ow) {
    float m = r0[2 * ow];
    i64 unused = 0;
    take_if_greater(r0[2 * ow + 1], 0, m, unused);
    take_if_greater(r1[2 * ow], 0, m, unused);
    take_if_greater(r1[2 * ow + 1], 0, m, unused);
    o[ow] = m;
  }
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

namespace {

/// The general max pool of one plane in packets of output columns. The plane is copied into
/// `sw` column phases of a -inf padded buffer (padded column c -> phase c % sw, column c / sw),
/// so that for every tap a packet of outputs reads contiguous inputs; padding, at -inf, never
/// wins. The scan order over the taps, the first-maximum rule, NaN propagation and the initial
/// index (the window's first in-range position) are PyTorch's. Indices travel as floats (exact
/// below 2^24, which the caller checks).
class MaxPoolPlanes {
 public:
  MaxPoolPlanes(const PoolGeometry& g, const std::vector<Span>& hs, const std::vector<Span>& ws)
      : g_(g), hs_(hs), ws_(ws) {
    Hb_ = std::max(g.H + 2 * g.ph, (g.OH - 1) * g.sh + (g.kh - 1) * g.dh + 1);
    const i64 Wb = std::max(g.W + 2 * g.pw, (g.OW - 1) * g.sw + (g.kw - 1) * g.dw + 1);
    Wph_ = std::max((Wb + g.sw - 1) / g.sw, pad(g.OW) + (g.kw - 1) * g.dw / g.sw + 1);
  }

  /// Floats of the phase buffer.
  i64 buffer_size() const { return g_.sw * Hb_ * Wph_; }

  /// Fills a fresh buffer with -inf (once per thread and call: planes only overwrite interiors).
  void clear(float* buf) const { std::fill(buf, buf + buffer_size(), -std::numeric_limits<float>::infinity()); }

  /// Pools plane xp [H][W] into o, id [OH][OW]; `buf` as cleared, `tmp` holds 2*PS floats.
  void run(const float* xp, float* buf, float* o, i64* id, float* tmp) const {
    using namespace Eigen::internal;
    const PoolGeometry& g = g_;
    for (i64 h = 0; h < g.H; ++h) {
      if (g.sw == 1) {
        std::copy(xp + h * g.W, xp + (h + 1) * g.W, buf + (g.ph + h) * Wph_ + g.pw);
        continue;
      }
      for (i64 w = 0; w < g.W; ++w) {
        const i64 c = g.pw + w;
        buf[(c % g.sw) * Hb_ * Wph_ + (g.ph + h) * Wph_ + c / g.sw] = xp[h * g.W + w];
      }
    }
    Packet lanes = plset<Packet>(0.0f);
    lanes = pmul(lanes, pset1<Packet>(static_cast<float>(g.sw)));
    const Packet neg_inf = pset1<Packet>(-std::numeric_limits<float>::infinity());
    for (i64 oh = 0; oh < g.OH; ++oh) {
      const Span sh = hs_[oh];
      for (i64 ow0 = 0; ow0 < g.OW; ow0 += kPS) {
        const i64 n = std::min<i64>(kPS, g.OW - ow0);
        for (i64 l = 0; l < kPS; ++l) {  // the window's first in-range position, -1 if empty
          const i64 ow = std::min(ow0 + l, g.OW - 1);
          tmp[l] = sh.lo < sh.hi && ws_[ow].lo < ws_[ow].hi ? static_cast<float>(sh.lo * g.W + ws_[ow].lo) : -1.0f;
        }
        Packet m = neg_inf, idx = ploadu<Packet>(tmp);
        for (i64 h = sh.lo; h < sh.hi; h += g.dh)
          for (i64 j = 0; j < g.kw; ++j) {
            const i64 c = j * g.dw;
            const Packet v = ploadu<Packet>(buf + (c % g.sw) * Hb_ * Wph_ + (g.ph + h) * Wph_ + ow0 + c / g.sw);
            const Packet at = padd(pset1<Packet>(static_cast<float>(h * g.W - g.pw + c + ow0 * g.sw)), lanes);
            const Packet take = por(pcmp_lt(m, v), pandnot(ptrue(v), pcmp_eq(v, v)));
            m = pselect(take, v, m);
            idx = pselect(take, at, idx);
          }
        pstoreu(tmp, m);
        pstoreu(tmp + kPS, idx);
        for (i64 l = 0; l < n; ++l) {
          o[oh * g.OW + ow0 + l] = tmp[l];
          id[oh * g.OW + ow0 + l] = static_cast<i64>(tmp[kPS + l]);
        }
      }
    }
  }

 private:
  using Packet = Eigen::internal::packet_traits<float>::type;
  static constexpr i64 kPS = Eigen::internal::packet_traits<float>::size;
  static i64 pad(i64 n) { return (n + kPS - 1) / kPS * kPS; }
  const PoolGeometry& g_;
  const std::vector<Span>& hs_;
  const std::vector<Span>& ws_;
  i64 Hb_ = 0, Wph_ = 0;
};

}  // namespace

Tensor max_pool2d_forward(const Tensor& x, const PoolGeometry& g, Tensor& indices, bool need_indices) {
  Tensor out = Tensor::empty({g.N, g.C, g.OH, g.OW});
  const float* px = x.data<float>();
  float* po = out.data<float>();
  const i64 HW = g.H * g.W, P = g.OH * g.OW;
  const bool two_by_two = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 &&
                          g.dw == 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
  if (two_by_two && !need_indices) {
    indices = Tensor();
    parallel_for(g.N * g.C, plane_grain(HW), [&](i64 q0, i64 q1) {
      for (i64 q = q0; q < q1; ++q)
        for (i64 oh = 0; oh < g.OH; ++oh) max_pool_2x2_row_values(px + q * HW, g.W, oh, g.OW, po + q * P + oh * g.OW);
    });
    return out;
  }
  indices = Tensor::empty({g.N, g.C, g.OH, g.OW}, DType::Int64);
  const auto hs = max_spans(g.OH, g.H, g.kh, g.sh, g.ph, g.dh), ws = max_spans(g.OW, g.W, g.kw, g.sw, g.pw, g.dw);
  i64* pi = indices.data<i64>();
  // Packets carry indices as floats: exact for planes below 2^24 elements.
  const bool packets = HW < (i64{1} << 24);
  const MaxPoolPlanes planes(g, hs, ws);
  parallel_for(g.N * g.C, plane_grain(HW), [&](i64 q0, i64 q1) {
    thread_local ScratchBuffer buf;
    float* phases = nullptr;
    alignas(64) float tmp[64];
    if (!two_by_two && packets) {
      phases = buf.get(static_cast<std::size_t>(planes.buffer_size()));
      planes.clear(phases);
    }
    for (i64 q = q0; q < q1; ++q) {
      const float* xp = px + q * HW;
      float* o = po + q * P;
      i64* id = pi + q * P;
      if (two_by_two) {
        for (i64 oh = 0; oh < g.OH; ++oh) max_pool_2x2_row(xp, g.W, oh, g.OW, o + oh * g.OW, id + oh * g.OW);
        continue;
      }
      if (packets) {
        planes.run(xp, phases, o, id, tmp);
        continue;
      }
      for (i64 oh = 0; oh < g.OH; ++oh)
        for (i64 ow = 0; ow < g.OW; ++ow) {
          const Span sh = hs[oh], sw = ws[ow];
          float m = -std::numeric_limits<float>::infinity();
          i64 mi = sh.lo < sh.hi && sw.lo < sw.hi ? sh.lo * g.W + sw.lo : -1;  // -1: empty window
          for (i64 h = sh.lo; h < sh.hi; h += g.dh)
            for (i64 w = sw.lo; w < sw.hi; w += g.dw) take_if_greater(xp[h * g.W + w], h * g.W + w, m, mi);
          o[oh * g.OW + ow] = m;
          id[oh * g.OW + ow] = mi;
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
  if (OH == 1 && OW == 1) {
    // Global pooling (the classifier heads of the zoo): one packet sum per plane, instead of the
    // separable path's column buffer, which costs more than the sum on 7×7 planes.
    parallel_for(N * C, plane_grain(H * W), [&](i64 q0, i64 q1) {
      for (i64 q = q0; q < q1; ++q) po[q] = divide(plane_sum(px + q * H * W, H * W), 0, 0);
    });
    return out;
  }
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
