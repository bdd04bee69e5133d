#include "autograd/kernels/conv_planar.h"

#include <algorithm>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "autograd/kernels/conv_micro.h"
#include "autograd/kernels/conv_util.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using namespace conv_detail;
using i64 = std::int64_t;

// How the planes are computed:
//  - unit column stride: each output plane in packets along its rows, from a zero-padded copy of
//    the input plane (plane_conv: the kernel's taps in registers, four packets in flight), written
//    in place (the last row through a row-padded buffer); the input gradient is the same kernel on the
//    padded output gradient with the flipped kernel, accumulated over the group's channels;
//  - strided columns: each padded row split into `sw` phases (columns c ≡ φ mod sw), so that a
//    row of outputs reads contiguous inputs per tap; with one output channel per plane
//    (depthwise) plane_conv runs over the phases as with unit stride, with several the
//    micro-kernel runs over (output channels × packets of one row);
//  - weight gradient (unit stride): each output-gradient plane laid out "wide", with the padded
//    input's row length and zeros in the extra columns, so that each tap is one contiguous dot
//    product over the plane.

// Planes are small (a 14×14 plane has 14-float rows): library memcpy/memset calls per row cost
// more than the copies, so rows are moved with packets (and a masked tail with AVX-512).
inline void copy_n(const float* src, i64 n, float* dst) {
  using namespace Eigen::internal;
  i64 i = 0;
  for (; i + kPS <= n; i += kPS) pstoreu(dst + i, ploadu<Packet>(src + i));
#ifdef __AVX512F__
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, _mm512_maskz_loadu_ps(m, src + i));
  }
#else
  for (; i < n; ++i) dst[i] = src[i];
#endif
}

inline void zero_n(float* dst, i64 n) {
  using namespace Eigen::internal;
  i64 i = 0;
  for (; i + kPS <= n; i += kPS) pstoreu(dst + i, pset1<Packet>(0.0f));
#ifdef __AVX512F__
  if (i < n) _mm512_mask_storeu_ps(dst + i, static_cast<__mmask16>((1u << (n - i)) - 1), _mm512_setzero_ps());
#else
  for (; i < n; ++i) dst[i] = 0.0f;
#endif
}

/// Zero floats kept after every plane so that the packet loads of a block (up to kMaxNV packets
/// from a tap's shift, at most (kw-1)*dw) may run past its end.
i64 slack_for(const ConvGeometry& g) { return kMaxNV * kPS + (g.kw - 1) * g.dw + kPS; }

// Padded planes: the caller zeroes a work buffer once (per thread and call) and each plane then
// only overwrites the interior positions, so borders and slack stay zero without refilling.

/// Writes plane src [H][W] into the interior of the sw phase planes [sw][Hp][Wph]
/// (Wph = ceil(Wp/sw)) of dst: padded column c goes to phase c % sw, column c / sw.
void fill_phases(const float* src, i64 H, i64 W, i64 top, i64 left, i64 Hp, i64 Wp, i64 sw, float* dst) {
  const i64 Wph = (Wp + sw - 1) / sw, plane = Hp * Wph;
  // Per phase, the source columns w ≡ φ - left (mod sw) in one strided run: no division per
  // element (this copy used to cost several times the strided depthwise conv it feeds).
  for (i64 phi = 0; phi < sw; ++phi) {
    const i64 w0 = ((phi - left) % sw + sw) % sw;
    if (w0 >= W) continue;
    const i64 col0 = (left + w0) / sw, count = (W - w0 + sw - 1) / sw;
    for (i64 h = 0; h < H; ++h) {
      const float* s = src + h * W + w0;
      float* d = dst + phi * plane + (top + h) * Wph + col0;
      for (i64 k = 0; k < count; ++k) d[k] = s[k * sw];
    }
  }
}

/// Writes plane src [H][W] into the interior of dst [..][Wp] at (top, left).
void fill_plane(const float* src, i64 H, i64 W, i64 top, i64 left, i64 Wp, float* dst) {
  for (i64 h = 0; h < H; ++h) copy_n(src + h * W, W, dst + (top + h) * Wp + left);
}

/// A zeroed work buffer of n floats.
float* zeroed(ScratchBuffer& buf, i64 n) {
  float* p = buf.get(static_cast<std::size_t>(n));
  zero_n(p, n);
  return p;
}

/// Range [lo, hi) of output positions o whose input position o*s - p + k*d lies in [0, size).
void valid_range(i64 size, i64 out, i64 s, i64 p, i64 kd, i64& lo, i64& hi) {
  const i64 a = p - kd;  // o*s >= a  and  o*s <= size - 1 + a
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = size - 1 + a < 0 ? 0 : std::min(out, (size - 1 + a) / s + 1);
  if (hi < lo) hi = lo;
}

/// Horizontal sums of `count` dot products Σ_p g[p]·x[p + shift[t]] over p < len (len a multiple
/// of PS), accumulated in packets and added to out[t] in a fixed order.
template <int TB>
void dot_taps(const float* g, i64 len, const float* x, const i64* shift, float* out) {
  using namespace Eigen::internal;
  Packet acc[TB];
  for (int t = 0; t < TB; ++t) acc[t] = pset1<Packet>(0.0f);
  for (i64 p = 0; p < len; p += kPS) {
    const Packet gv = ploadu<Packet>(g + p);
    for (int t = 0; t < TB; ++t) acc[t] = pmadd(gv, ploadu<Packet>(x + shift[t] + p), acc[t]);
  }
  for (int t = 0; t < TB; ++t) out[t] += predux(acc[t]);
}

/// Σ p[0..n) in packets, then the tail, in a fixed order.
float packet_sum(const float* p, i64 n) {
  using namespace Eigen::internal;
  Packet acc = pset1<Packet>(0.0f);
  i64 i = 0;
  for (; i + kPS <= n; i += kPS) acc = padd(acc, ploadu<Packet>(p + i));
  float s = predux(acc);
  for (; i < n; ++i) s += p[i];
  return s;
}

void dot_taps_any(const float* g, i64 len, const float* x, const i64* shift, i64 count, float* out) {
  static constexpr void (*kFns[])(const float*, i64, const float*, const i64*, float*) = {
      nullptr,      &dot_taps<1>, &dot_taps<2>, &dot_taps<3>, &dot_taps<4>,
      &dot_taps<5>, &dot_taps<6>, &dot_taps<7>, &dot_taps<8>};
  for (i64 t = 0; t < count; t += 8) kFns[std::min<i64>(8, count - t)](g, len, x, shift + t, out + t);
}

/// One output plane of a single-input-channel correlation whose output columns read consecutive
/// source columns, computed in packets along rows: dst[r*ldd + c] = (accumulate ? dst[..] : bias)
/// + Σ_t wk[t] · xs[r*rstep + toff[t] + c] for r < rows, c < nvec*PS. With unit column stride
/// the source is the padded plane (rstep = sh*Wp, toff = i*dh*Wp + j*dw); with column stride sw
/// it is the plane split into column phases (fill_phases; see phase_tap_offsets). Four packets
/// are in flight at once to hide the FMA latency; the kernel's weights stay in registers.
template <int KH, int KW>
void plane_conv_fixed(const float* xs, i64 rstep, const i64* toff, const float* wk, i64 rows, i64 nvec, float bias,
                      bool accumulate, float* dst, i64 ldd) {
  using namespace Eigen::internal;
  Packet wv[KH * KW];
  for (int t = 0; t < KH * KW; ++t) wv[t] = pset1<Packet>(wk[t]);
  const Packet pb = pset1<Packet>(bias);
  i64 off[KH * KW];
  for (int t = 0; t < KH * KW; ++t) off[t] = toff[t];
  const i64 total = rows * nvec;
  i64 e = 0;
  // The item (row r, packet v) of e, advanced without a division per item (an integer division
  // cost more than the item's nine FMAs).
  i64 r = 0, v = 0;
  for (; e + 4 <= total; e += 4) {
    const float* src[4];
    float* out[4];
    Packet acc[4];
    for (int u = 0; u < 4; ++u) {
      src[u] = xs + r * rstep + v * kPS;
      out[u] = dst + r * ldd + v * kPS;
      acc[u] = accumulate ? ploadu<Packet>(out[u]) : pb;
      if (++v == nvec) v = 0, ++r;
    }
    for (int t = 0; t < KH * KW; ++t)
      for (int u = 0; u < 4; ++u) acc[u] = pmadd(wv[t], ploadu<Packet>(src[u] + off[t]), acc[u]);
    for (int u = 0; u < 4; ++u) pstoreu(out[u], acc[u]);
  }
  for (; e < total; ++e) {
    const float* src = xs + r * rstep + v * kPS;
    float* out = dst + r * ldd + v * kPS;
    Packet acc = accumulate ? ploadu<Packet>(out) : pb;
    for (int t = 0; t < KH * KW; ++t) acc = pmadd(wv[t], ploadu<Packet>(src + off[t]), acc);
    pstoreu(out, acc);
    if (++v == nvec) v = 0, ++r;
  }
}

/// plane_conv_fixed for any number of taps (weights broadcast from memory).
void plane_conv_any(const float* xs, i64 rstep, const i64* toff, i64 taps, const float* wk, i64 rows, i64 nvec,
                    float bias, bool accumulate, float* dst, i64 ldd) {
  using namespace Eigen::internal;
  for (i64 e = 0; e < rows * nvec; ++e) {
    const i64 r = e / nvec, v = e % nvec;
    const float* src = xs + r * rstep + v * kPS;
    float* out = dst + r * ldd + v * kPS;
    Packet acc = accumulate ? ploadu<Packet>(out) : pset1<Packet>(bias);
    for (i64 t = 0; t < taps; ++t) acc = pmadd(pset1<Packet>(wk[t]), ploadu<Packet>(src + toff[t]), acc);
    pstoreu(out, acc);
  }
}

void plane_conv(const float* xs, i64 rstep, const std::vector<i64>& toff, const float* wk, i64 kh, i64 kw, i64 rows,
                i64 nvec, float bias, bool accumulate, float* dst, i64 ldd) {
  if (kh == 3 && kw == 3)
    plane_conv_fixed<3, 3>(xs, rstep, toff.data(), wk, rows, nvec, bias, accumulate, dst, ldd);
  else if (kh == 5 && kw == 5)
    plane_conv_fixed<5, 5>(xs, rstep, toff.data(), wk, rows, nvec, bias, accumulate, dst, ldd);
  else
    plane_conv_any(xs, rstep, toff.data(), kh * kw, wk, rows, nvec, bias, accumulate, dst, ldd);
}

/// Tap offsets of a plane with `pitch` floats per row: tap (i, j) at i*dh*pitch + j*dw.
std::vector<i64> plane_tap_offsets(i64 kh, i64 kw, i64 dh, i64 dw, i64 pitch) {
  std::vector<i64> off(static_cast<std::size_t>(kh * kw));
  for (i64 i = 0; i < kh; ++i)
    for (i64 j = 0; j < kw; ++j) off[i * kw + j] = i * dh * pitch + j * dw;
  return off;
}

/// Tap offsets into the column phases of fill_phases (sw phase planes of `phase` floats, Wph
/// per row): tap (i, j) reads padded column ow*sw + j*dw, i.e. phase (j*dw) % sw at column
/// ow + (j*dw) / sw, so that consecutive outputs read consecutive floats.
std::vector<i64> phase_tap_offsets(i64 kh, i64 kw, i64 dh, i64 dw, i64 sw, i64 Wph, i64 phase) {
  std::vector<i64> off(static_cast<std::size_t>(kh * kw));
  for (i64 i = 0; i < kh; ++i)
    for (i64 j = 0; j < kw; ++j) {
      const i64 c = j * dw;
      off[i * kw + j] = (c % sw) * phase + i * dh * Wph + c / sw;
    }
  return off;
}

/// Copies rows × cols from src (row stride lds) to the dense dst [rows][cols].
void copy_rows(const float* src, i64 lds, i64 rows, i64 cols, float* dst) {
  for (i64 r = 0; r < rows; ++r) copy_n(src + r * lds, cols, dst + r * cols);
}

}  // namespace

void conv2d_forward_planar(const float* x, const float* w, const float* b, const ConvGeometry& g, Activation act,
                           float* out) {
  const i64 G = g.groups, Cog = g.Cog(), T = g.taps(), OH = g.OH, OW = g.OW, P = OH * OW;
  const i64 Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, sw = g.sw, slack = slack_for(g);

  if (sw == 1) {
    // Unit column stride: each output plane in packets along its rows, the padded input plane
    // shared by the group's output channels.
    const i64 nvec = (OW + kPS - 1) / kPS, ldr = nvec * kPS;
    const std::vector<i64> toff = plane_tap_offsets(g.kh, g.kw, g.dh, g.dw, Wp);
    parallel_for(g.N * G, 1, [&](i64 q0, i64 q1) {
      thread_local ScratchBuffer pbuf, rbuf;
      float* xs = zeroed(pbuf, Hp * Wp + slack);
      float* rows = rbuf.get(static_cast<std::size_t>(ldr));
      for (i64 q = q0; q < q1; ++q) {
        const i64 n = q / G, gi = q % G;
        fill_plane(x + q * g.H * g.W, g.H, g.W, g.ph, g.pw, Wp, xs);
        for (i64 co = gi * Cog; co < (gi + 1) * Cog; ++co) {
          float* plane = out + (n * g.Co + co) * P;
          const float bias = b != nullptr ? b[co] : 0.0f;
          // All rows but the last straight into the output: a row's last packet spills past its
          // end into the next row, which is written after it. The last row would spill into the
          // next plane (another thread's, maybe), so it goes through the row buffer.
          plane_conv(xs, g.sh * Wp, toff, w + co * T, g.kh, g.kw, OH - 1, nvec, bias, false, plane, OW);
          plane_conv(xs + (OH - 1) * g.sh * Wp, g.sh * Wp, toff, w + co * T, g.kh, g.kw, 1, nvec, bias, false, rows,
                     ldr);
          copy_rows(rows, ldr, 1, OW, plane + (OH - 1) * OW);
          apply_activation(plane, P, act);
        }
      }
    });
    return;
  }

  // Strided columns: the padded plane split into sw column phases, so that an output row reads
  // contiguous inputs for each tap.
  const i64 Wph = (Wp + sw - 1) / sw, phase = Hp * Wph, ldt = kMaxNV * kPS;
  if (Cog == 1) {
    // One output channel per plane (depthwise): whole output planes in packets along rows, as
    // with unit stride, reading the phases (a micro-kernel tile of one row would reload the
    // accumulators for every packet of outputs).
    const i64 nvec = (OW + kPS - 1) / kPS, ldr = nvec * kPS;
    const std::vector<i64> toff = phase_tap_offsets(g.kh, g.kw, g.dh, g.dw, sw, Wph, phase);
    parallel_for(g.N * G, 1, [&](i64 q0, i64 q1) {
      thread_local ScratchBuffer pbuf, rbuf;
      float* xs = zeroed(pbuf, sw * phase + slack);
      float* rows = rbuf.get(static_cast<std::size_t>(OH * ldr));
      for (i64 q = q0; q < q1; ++q) {
        fill_phases(x + q * g.H * g.W, g.H, g.W, g.ph, g.pw, Hp, Wp, sw, xs);
        plane_conv(xs, g.sh * Wph, toff, w + (q % G) * T, g.kh, g.kw, OH, nvec, b != nullptr ? b[q % G] : 0.0f, false,
                   rows, ldr);
        copy_rows(rows, ldr, OH, OW, out + q * P);
        apply_activation(out + q * P, P, act);
      }
    });
    return;
  }
  // Several output channels per plane: tiles of (output channels × packets of one output row).
  std::vector<i64> off(static_cast<std::size_t>(Cog));
  for (i64 m = 0; m < Cog; ++m) off[m] = m * T;
  const i64 OW_pad = pad_to_packet(OW);
  parallel_for(g.N * G, 1, [&](i64 q0, i64 q1) {
    thread_local ScratchBuffer pbuf, tbuf;
    float* xs = zeroed(pbuf, sw * phase + slack);
    float* tile = tbuf.get(static_cast<std::size_t>(Cog * ldt));
    std::vector<Seg> segs(static_cast<std::size_t>(T));
    for (i64 q = q0; q < q1; ++q) {
      const i64 n = q / G, gi = q % G;
      fill_phases(x + q * g.H * g.W, g.H, g.W, g.ph, g.pw, Hp, Wp, sw, xs);
      const float* wq = w + gi * Cog * T;
      for (i64 oh = 0; oh < OH; ++oh)
        for (i64 c0 = 0; c0 < OW; c0 += kBlockCols) {
          const int nv = block_nv(OW_pad, c0);
          const i64 len = std::min<i64>(nv * kPS, OW - c0);
          for (i64 i = 0; i < g.kh; ++i)
            for (i64 j = 0; j < g.kw; ++j) {
              const i64 c = j * g.dw;
              segs[i * g.kw + j] =
                  Seg{wq + i * g.kw + j, xs + (c % sw) * phase + (oh * g.sh + i * g.dh) * Wph + c / sw + c0};
            }
          run_rows(Cog, nv, segs.data(), static_cast<int>(T), Steps{1, 1, 0}, off.data(), nullptr, 0, false, tile, ldt);
          for (i64 m = 0; m < Cog; ++m) {
            const float bias = b != nullptr ? b[gi * Cog + m] : 0.0f;
            float* d = out + (n * g.Co + gi * Cog + m) * P + oh * OW + c0;
            for (i64 k = 0; k < len; ++k) d[k] = tile[m * ldt + k] + bias;
          }
        }
      apply_activation(out + (n * g.Co + gi * Cog) * P, Cog * P, act);
    }
  });
}

void conv2d_backward_planar(const float* gy, const float* x, const float* w, const ConvGeometry& g, float* dx,
                            float* dw, float* db) {
  const i64 G = g.groups, Cog = g.Cog(), T = g.taps(), Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  const i64 H = g.H, W = g.W, OH = g.OH, OW = g.OW, sh = g.sh, sw = g.sw, P = OH * OW, slack = slack_for(g);
  if (dx != nullptr) {
    const bool wide = sh == 1 && sw == 1 && g.ph <= g.dh * (g.kh - 1) && g.pw <= g.dw * (g.kw - 1);
    if (wide) {
      // Stride 1: dx = Σ_co correlation of the padded output gradient with the flipped kernel,
      // computed over wide rows of the padded gradient's width Wq.
      const i64 qh = g.dh * (g.kh - 1) - g.ph, qw = g.dw * (g.kw - 1) - g.pw;
      const i64 Hq = OH + 2 * qh, Wq = OW + 2 * qw;
      std::vector<float> wflip(static_cast<std::size_t>(g.Co * T));
      for (i64 co = 0; co < g.Co; ++co)
        for (i64 t = 0; t < T; ++t) wflip[co * T + t] = w[co * T + (T - 1 - t)];
      const i64 nvec = (W + kPS - 1) / kPS, ldr = nvec * kPS;
      const std::vector<i64> toff = plane_tap_offsets(g.kh, g.kw, g.dh, g.dw, Wq);
      parallel_for(g.N * G, 1, [&](i64 q0, i64 q1) {
        thread_local ScratchBuffer pbuf, rbuf;
        float* gp = zeroed(pbuf, Hq * Wq + slack);
        float* rows = rbuf.get(static_cast<std::size_t>(H * ldr));
        for (i64 q = q0; q < q1; ++q) {
          const i64 n = q / G, gi = q % G;
          for (i64 c = 0; c < Cog; ++c) {
            const i64 co = gi * Cog + c;
            fill_plane(gy + (n * g.Co + co) * P, OH, OW, qh, qw, Wq, gp);
            plane_conv(gp, Wq, toff, wflip.data() + co * T, g.kh, g.kw, H, nvec, 0.0f, c > 0, rows, ldr);
          }
          copy_rows(rows, ldr, H, W, dx + q * H * W);
        }
      });
    } else {
      // Strided (or padding beyond the kernel's reach): every output gradient adds w * gy into
      // its window of a padded plane, in a fixed order.
      parallel_for(g.N * G, 1, [&](i64 q0, i64 q1) {
        thread_local ScratchBuffer pbuf;
        float* dxp = pbuf.get(static_cast<std::size_t>(Hp * Wp));
        for (i64 q = q0; q < q1; ++q) {
          const i64 n = q / G, gi = q % G;
          std::fill(dxp, dxp + Hp * Wp, 0.0f);
          for (i64 co = gi * Cog; co < (gi + 1) * Cog; ++co) {
            const float* wk = w + co * T;
            const float* plane = gy + (n * g.Co + co) * P;
            for (i64 oh = 0; oh < OH; ++oh)
              for (i64 i = 0; i < g.kh; ++i)
                for (i64 j = 0; j < g.kw; ++j) {
                  const float wv = wk[i * g.kw + j];
                  float* dst = dxp + (oh * sh + i * g.dh) * Wp + j * g.dw;
                  for (i64 ow = 0; ow < OW; ++ow) dst[ow * sw] += wv * plane[oh * OW + ow];
                }
          }
          for (i64 h = 0; h < H; ++h)
            std::copy(dxp + (h + g.ph) * Wp + g.pw, dxp + (h + g.ph) * Wp + g.pw + W, dx + q * H * W + h * W);
        }
      });
    }
  }
  if (dw == nullptr && db == nullptr) return;
  // Weight and bias gradients: per fixed batch chunk, dot products of each output-gradient plane
  // (laid out wide, zero in the dropped columns) with the shifted padded input; chunk partials
  // are summed in chunk order.
  const i64 chunks = conv_batch_chunks(g.N);
  std::vector<float> pdw(static_cast<std::size_t>(chunks * g.Co * (T + 1)), 0.0f);
  const bool wide = sh == 1 && sw == 1;
  std::vector<i64> shift(static_cast<std::size_t>(T)), lo_h(T), hi_h(T), lo_w(T), hi_w(T);
  for (i64 i = 0; i < g.kh; ++i)
    for (i64 j = 0; j < g.kw; ++j) {
      const i64 t = i * g.kw + j;
      shift[t] = i * g.dh * Wp + j * g.dw;
      valid_range(H, OH, sh, g.ph, i * g.dh, lo_h[t], hi_h[t]);
      valid_range(W, OW, sw, g.pw, j * g.dw, lo_w[t], hi_w[t]);
    }
  const i64 len = pad_to_packet(OH * Wp);
  parallel_for(chunks, 1, [&](i64 c0, i64 c1) {
    thread_local ScratchBuffer pbuf, gbuf;
    float* xs = zeroed(pbuf, Hp * Wp + slack);
    float* gw = zeroed(gbuf, len);  // columns >= OW and the tail stay zero
    for (i64 c = c0; c < c1; ++c)
      for (i64 n = g.N * c / chunks; n < g.N * (c + 1) / chunks; ++n)
        for (i64 gi = 0; gi < G; ++gi) {
          const float* xq = x + (n * G + gi) * H * W;
          if (dw != nullptr && wide) fill_plane(xq, H, W, g.ph, g.pw, Wp, xs);
          for (i64 co = gi * Cog; co < (gi + 1) * Cog; ++co) {
            const float* gp = gy + (n * g.Co + co) * P;
            float* part = pdw.data() + (c * g.Co + co) * (T + 1);
            if (wide) {
              fill_plane(gp, OH, OW, 0, 0, Wp, gw);
              if (dw != nullptr) dot_taps_any(gw, len, xs, shift.data(), T, part);
            } else if (dw != nullptr) {
              for (i64 i = 0; i < g.kh; ++i)
                for (i64 j = 0; j < g.kw; ++j) {
                  const i64 t = i * g.kw + j;
                  float s = 0.0f;
                  for (i64 oh = lo_h[t]; oh < hi_h[t]; ++oh) {
                    const float* xrow = xq + (oh * sh - g.ph + i * g.dh) * W - g.pw + j * g.dw;
                    for (i64 ow = lo_w[t]; ow < hi_w[t]; ++ow) s += gp[oh * OW + ow] * xrow[ow * sw];
                  }
                  part[t] += s;
                }
            }
            if (db != nullptr) part[T] += packet_sum(gp, P);
          }
        }
  });
  for (i64 co = 0; co < g.Co; ++co)
    for (i64 t = 0; t <= T; ++t) {
      if ((t < T && dw == nullptr) || (t == T && db == nullptr)) continue;
      float s = 0.0f;
      for (i64 c = 0; c < chunks; ++c) s += pdw[(c * g.Co + co) * (T + 1) + t];
      (t < T ? dw[co * T + t] : db[co]) = s;
    }
}

}  // namespace shrink::kernels
