// Backward of the channel-last (NHWC) conv2d kernels: input, weight and bias gradients.
#include <algorithm>
#include <vector>

#include "autograd/kernels/conv_nhwc.h"
#include "autograd/kernels/conv_nhwc_common.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using namespace conv_detail;

/// Output rows [lo, hi) whose input row o*s - p + k*d lies inside [0, size).
void valid_outputs(i64 size, i64 out, i64 s, i64 p, i64 kd, i64& lo, i64& hi) {
  lo = 0;
  while (lo < out && lo * s - p + kd < 0) ++lo;
  hi = out;
  while (hi > lo && (hi - 1) * s - p + kd >= size) --hi;
}

/// What the backward pass precomputes once per call, and its per-sample steps.
struct Backward {
  const ConvGeometry& g;
  i64 G, Cg, Cog, T, K, Cog_pad, Cg_pad, Kpad, P, HW, Hp, Wp;
  /// Stride-1 input gradients can be the convolution of the padded output gradient with the
  /// flipped kernel (no scatter): "implicit". Otherwise (strides, padding beyond the kernel's
  /// reach, or when col2im is cheaper, see the constructor) col2im.
  bool implicit = false;
  i64 qh = 0, qw = 0, Hq, Wq, Cy;
  Layout xin, yin, dxout;
  const float* wdx = nullptr;  ///< flipped [tap'][cout][cin] panels (implicit) or [cout][(tap,cin)] (col2im)
  std::shared_ptr<const BorderPlan> dx_plan;  ///< implicit input gradient: pixels of dx over the padded gradient
  std::vector<i64> toff_x, pix_x, toff_y, pix_y, ci_off;
  std::vector<i64> row_lo, row_hi, col_lo, col_hi;  ///< per tap: output rows/columns reading the input

  Backward(const ConvGeometry& geo, const float* w, bool need_dx, ScratchBuffer& wbuf)
      : g(geo),
        G(g.groups),
        Cg(g.Cg()),
        Cog(g.Cog()),
        T(g.taps()),
        K(T * Cg),
        Cog_pad(pad_to_packet(Cog)),
        Cg_pad(pad_to_packet(Cg)),
        Kpad(pad_to_packet(K)),
        P(g.OH * g.OW),
        HW(g.H * g.W),
        Hp(g.H + 2 * g.ph),
        Wp(g.W + 2 * g.pw),
        Cy(G * Cog_pad) {
    if (need_dx && g.sh == 1 && g.sw == 1 && g.ph <= g.dh * (g.kh - 1) && g.pw <= g.dw * (g.kw - 1)) {
      const i64 ph = g.dh * (g.kh - 1) - g.ph, pw = g.dw * (g.kw - 1) - g.pw;
      dx_plan = cached_border_plan(g.H, g.W, 1, 1, g.kh, g.kw, g.dh, g.dw, ph, pw, g.OH, g.OW, g.OW + 2 * pw, Cy);
      // Implicit work ∝ valid (pixel, tap) pairs · Cog · pad(Cg); col2im's ∝ OH·OW · Cog · pad(taps·Cg)
      // plus its scatter. Odd channel counts waste packet lanes in the former.
      implicit = double(valid_pairs(*dx_plan)) * pad_to_packet(Cg) <= double(P) * Kpad * (1.0 + 4.0 / Cog);
      if (implicit) qh = ph, qw = pw;
    }
    Hq = g.OH + 2 * qh, Wq = g.OW + 2 * qw;
    xin = Layout{1, g.C, g.C, g.C};
    yin = Layout{G, Cog, Cog_pad, Cy};
    dxout = Layout{G, Cg, Cg_pad, G * Cg_pad};
    if (implicit)
      wdx = pack_panels_strided(wbuf, G, T * Cog, Cg, [&](i64 gi, i64 r) {
        return std::pair<const float*, i64>{w + (gi * Cog + r % Cog) * Cg * T + (T - 1 - r / Cog), T};
      });
    else if (need_dx)
      wdx = pack_panels(wbuf, G, Cog, K,
                        [&](i64 gi, i64 co, i64 k) { return w[((gi * Cog + co) * Cg + k % Cg) * T + k / Cg]; });
    toff_x = tap_offsets(g.kh, g.kw, g.dh, g.dw, Wp, g.C);
    toff_y = tap_offsets(g.kh, g.kw, g.dh, g.dw, Wq, Cy);
    pix_x.resize(static_cast<std::size_t>(P));
    pix_y.resize(static_cast<std::size_t>(P));
    for (i64 p = 0; p < P; ++p) {
      pix_x[p] = ((p / g.OW) * g.sh * Wp + (p % g.OW) * g.sw) * g.C;
      pix_y[p] = p * Cy;  // col2im reads the unpadded gradient
    }
    ci_off.resize(static_cast<std::size_t>(Cg));
    for (i64 c = 0; c < Cg; ++c) ci_off[c] = c;
    for (i64 t = 0; t < T; ++t) {
      i64 lo, hi;
      valid_outputs(g.H, g.OH, g.sh, g.ph, (t / g.kw) * g.dh, lo, hi);
      row_lo.push_back(lo), row_hi.push_back(hi);
      valid_outputs(g.W, g.OW, g.sw, g.pw, (t % g.kw) * g.dw, lo, hi);
      col_lo.push_back(lo), col_hi.push_back(hi);
    }
  }

  /// dx of one sample from its padded channel-last output gradient yp (stride 1).
  void input_grad_implicit(const float* yp, float* dxn, ScratchBuffer& dbuf, std::vector<Seg>& segs) const {
    const i64 ldx = G * Cg_pad;
    float* dxb = dbuf.get(static_cast<std::size_t>(HW * ldx));
    implicit_gemm(yp, *dx_plan, toff_y, G, Cog, Cog_pad, wdx, Cg_pad, nullptr, dxb, ldx, segs);
    unpack_dense(dxb, HW, dxout, dxn, dx_plan->inverse.data());
  }

  /// dx of one sample by col2im: dcol[p][(t,ci)] = Σ_co gy[p][co] w[co][ci][t], added into a
  /// zeroed padded image whose interior is the input gradient.
  void input_grad_col2im(const float* yp, float* dxn, ScratchBuffer& dbuf, ScratchBuffer& cbuf) const {
    float* dcol = cbuf.get(static_cast<std::size_t>(P * Kpad));
    float* dxp = dbuf.get(static_cast<std::size_t>(Hp * Wp * g.C));
    std::fill(dxp, dxp + Hp * Wp * g.C, 0.0f);
    for (i64 gi = 0; gi < G; ++gi) {
      for (i64 col0 = 0; col0 < Kpad; col0 += kBlockCols) {
        const int nv = block_nv(Kpad, col0);
        const Seg seg{yp + gi * Cog_pad, wdx + gi * Cog * Kpad + Cog * col0};
        run_rows(P, nv, &seg, 1, Steps{Cog, 1, nv * kPS}, pix_y.data(), nullptr, 0, false, dcol + col0, Kpad);
      }
      for (i64 p = 0; p < P; ++p) {
        float* base = dxp + pix_x[p] + gi * Cg;
        const float* src = dcol + p * Kpad;
        for (i64 t = 0; t < T; ++t) {
          float* dst = base + toff_x[t];
          for (i64 ci = 0; ci < Cg; ++ci) dst[ci] += src[t * Cg + ci];
        }
      }
    }
    for (i64 h = 0; h < g.H; ++h) transpose(dxp + ((h + g.ph) * Wp + g.pw) * g.C, g.W, g.C, g.C, dxn + h * g.W, HW);
  }

  /// Floats of one padded channel-last image [Hp][Wp][C].
  i64 xpad_size() const { return Hp * Wp * g.C; }

  /// Adds the weight gradient of `count` consecutive samples (padded channel-last inputs xps
  /// [count][Hp][Wp][C], channel-last output gradients yps [count][Hq][Wq][Cy], padded for the
  /// implicit input gradient or not, read in place) to the chunk partial
  /// part [g][(t,ci)][co] (overwritten when `first`). Per tap, the reduction covers only the
  /// output pixels that read inside the input, over all the samples at once (each partial tile is
  /// loaded/stored once), one run per output row read in place from the padded image (copies of
  /// the image shifted by each kernel column, which made every sample one run, cost more in
  /// copying than the runs' switches: 3% of the weight gradient on resnet20's stride-1 layers,
  /// 16% on its strided ones).
  void weight_grad(const float* xps, const float* yps, i64 count, bool first, float* part,
                   std::vector<Seg>& segs) const {
    for (i64 t = 0; t < T; ++t) {
      const i64 i = t / g.kw, j = t % g.kw, r0 = row_lo[t], r1 = row_hi[t], c0 = col_lo[t], c1 = col_hi[t];
      const i64 runs = r1 <= r0 || c1 <= c0 ? 0 : r1 - r0;
      const Steps st{c1 - c0, g.sw * g.C, Cy};
      for (i64 gi = 0; gi < G; ++gi)
        for (i64 col0 = 0; col0 < Cog_pad; col0 += kBlockCols) {
          int nseg = 0;
          for (i64 s = 0; s < count; ++s)
            for (i64 rr = 0; rr < runs; ++rr) {
              const i64 oh = r0 + rr;
              segs[nseg++] =
                  Seg{xps + s * xpad_size() + ((oh * g.sh + i * g.dh) * Wp + c0 * g.sw + j * g.dw) * g.C + gi * Cg,
                      yps + s * Hq * Wq * Cy + ((oh + qh) * Wq + qw + c0) * Cy + gi * Cog_pad + col0};
            }
          float* cdst = part + (gi * K + t * Cg) * Cog_pad + col0;
          run_rows(Cg, block_nv(Cog_pad, col0), segs.data(), nseg, st, ci_off.data(), first ? nullptr : cdst, Cog_pad,
                   true, cdst, Cog_pad);
        }
    }
  }
};

}  // namespace

void conv2d_backward_nhwc(const float* gy, const float* x, const float* w, const ConvGeometry& g, float* dx, float* dw,
                          float* db) {
  // The calling thread's buffers for packed weights and chunk partials, reused across calls.
  thread_local ScratchBuffer wbuf, pdw_buf, pdb_buf;
  const Backward bw(g, w, dx != nullptr, wbuf);
  const i64 G = g.groups, Cg = g.Cg(), Cog = g.Cog(), T = g.taps(), K = bw.K, Cog_pad = bw.Cog_pad, Cy = bw.Cy;
  const i64 P = bw.P, HW = bw.HW, xsz = bw.xpad_size(), ysz = bw.Hq * bw.Wq * Cy;
  // Samples per weight-gradient reduction: enough output pixels (~200) that loading and storing
  // the partial's tiles is amortised.
  const i64 S = dw != nullptr ? std::clamp<i64>((196 + P - 1) / P, 1, 8) : 1;
  const i64 chunks = conv_batch_chunks(g.N);
  // Each chunk's first group overwrites its weight partial; bias partials accumulate from zero.
  float* pdw = dw != nullptr ? pdw_buf.get(static_cast<std::size_t>(chunks * G * K * Cog_pad)) : nullptr;
  float* pdb = db != nullptr ? pdb_buf.get(static_cast<std::size_t>(chunks * Cy)) : nullptr;
  if (pdb != nullptr) std::fill(pdb, pdb + chunks * Cy, 0.0f);

  parallel_for(chunks, 1, [&](i64 c0, i64 c1) {
    thread_local ScratchBuffer xbuf, ybuf, dbuf, cbuf;
    std::vector<Seg> segs(static_cast<std::size_t>(std::max(T, S * g.OH)));
    float* xps = dw != nullptr ? xbuf.get(static_cast<std::size_t>(S * xsz)) : nullptr;
    float* yps = ybuf.get(static_cast<std::size_t>(S * ysz));
    for (i64 c = c0; c < c1; ++c) {
      const i64 nbeg = g.N * c / chunks, nend = g.N * (c + 1) / chunks;
      for (i64 n0 = nbeg; n0 < nend; n0 += S) {
        const i64 count = std::min(S, nend - n0);
        for (i64 s = 0; s < count; ++s) {
          const i64 n = n0 + s;
          float* yp = yps + s * ysz;
          pack_padded(gy + n * g.Co * P, g.OH, g.OW, bw.yin, bw.qh, bw.qw, bw.Hq, bw.Wq, yp);
          if (db != nullptr) {
            // Channel-last rows add up element-wise (vectorised), pixel by pixel in order.
            float* acc = pdb + c * Cy;
            for (i64 oh = 0; oh < g.OH; ++oh)
              for (i64 ow = 0; ow < g.OW; ++ow) {
                const float* row = yp + ((oh + bw.qh) * bw.Wq + bw.qw + ow) * Cy;
                for (i64 j = 0; j < Cy; ++j) acc[j] += row[j];
              }
          }
          if (dw != nullptr) pack_padded(x + n * g.C * HW, g.H, g.W, bw.xin, g.ph, g.pw, bw.Hp, bw.Wp, xps + s * xsz);
          if (dx != nullptr && bw.implicit)
            bw.input_grad_implicit(yp, dx + n * g.C * HW, dbuf, segs);
          else if (dx != nullptr)
            bw.input_grad_col2im(yp, dx + n * g.C * HW, dbuf, cbuf);
        }
        if (dw != nullptr) bw.weight_grad(xps, yps, count, n0 == nbeg, pdw + c * G * K * Cog_pad, segs);
      }
    }
  });

  // Sum the chunk partials in chunk order into chunk 0 (thread-count independent), then
  // reorder [g][(t,ci)][co] -> [co][ci][t].
  if (dw != nullptr) {
    const i64 len = G * K * Cog_pad;
    parallel_for(len, 4096, [&](i64 e0, i64 e1) {
      for (i64 c = 1; c < chunks; ++c) {
        const float* src = pdw + c * len;
        for (i64 e = e0; e < e1; ++e) pdw[e] += src[e];
      }
    });
    parallel_for(g.Co, 8, [&](i64 co0, i64 co1) {
      for (i64 co = co0; co < co1; ++co) {
        const float* src = pdw + (co / Cog) * K * Cog_pad + co % Cog;
        for (i64 k = 0; k < K; ++k) dw[(co * Cg + k % Cg) * T + k / Cg] = src[k * Cog_pad];
      }
    });
  }
  if (db != nullptr)
    for (i64 co = 0; co < g.Co; ++co) {
      const i64 col = (co / Cog) * Cog_pad + co % Cog;
      float s = 0.0f;
      for (i64 c = 0; c < chunks; ++c) s += pdb[c * Cy + col];
      db[co] = s;
    }
}

}  // namespace shrink::kernels
