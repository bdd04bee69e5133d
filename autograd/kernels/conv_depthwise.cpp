#include "autograd/kernels/conv_depthwise.h"

#include <algorithm>
#include <vector>

#include "autograd/kernels/conv_nhwc_common.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using namespace conv_detail;

/// NP consecutive output pixels of each of `rows` output rows for the channel packet at `img`
/// (its first row start in a padded channel-last image, `ld` floats per pixel, `step` floats
/// between output pixels, `row_step` between output rows): y[r*y_row + u*ld] = bias + Σ_t w[t] ·
/// img[r*row_step + u*step + toff[t]], taps in order (the planar path's summation order, so both
/// give the same floats). The NP accumulators are independent chains: with 8 of them the FMAs run
/// at full rate, where one pixel's chain of nine dependent FMAs would wait on each result. One
/// call covers every row: at batch 1 a 7×7 map has just one block per row, and a call per block
/// cost as much in its prologue as in its 63 FMAs.
template <int NP>
void depthwise_pixels(const float* img, i64 step, i64 row_step, i64 rows, const i64* toff, i64 taps, const float* wpk,
                      i64 ld, Packet bias, float* y, i64 y_row) {
  using namespace Eigen::internal;
  for (i64 r = 0; r < rows; ++r, img += row_step, y += y_row) {
    Packet acc[NP];
    for (int u = 0; u < NP; ++u) acc[u] = bias;
    for (i64 t = 0; t < taps; ++t) {
      const Packet wt = ploadu<Packet>(wpk + t * ld);
      const float* src = img + toff[t];
      for (int u = 0; u < NP; ++u) acc[u] = pmadd(wt, ploadu<Packet>(src + u * step), acc[u]);
    }
    for (int u = 0; u < NP; ++u) pstoreu(y + u * ld, acc[u]);
  }
}

/// `rows` output rows of OW pixels for one channel packet: blocks of 8 pixels, then the rest as
/// one block.
void depthwise_rows(const float* img, i64 step, i64 row_step, i64 rows, const i64* toff, i64 taps, const float* wpk,
                    i64 ld, Packet bias, i64 OW, float* y, i64 y_row) {
  using Block = void (*)(const float*, i64, i64, i64, const i64*, i64, const float*, i64, Packet, float*, i64);
  static constexpr Block kBlocks[] = {nullptr,
                                      &depthwise_pixels<1>,
                                      &depthwise_pixels<2>,
                                      &depthwise_pixels<3>,
                                      &depthwise_pixels<4>,
                                      &depthwise_pixels<5>,
                                      &depthwise_pixels<6>,
                                      &depthwise_pixels<7>};
  i64 ow = 0;
  for (; ow + 8 <= OW; ow += 8)
    depthwise_pixels<8>(img + ow * step, step, row_step, rows, toff, taps, wpk, ld, bias, y + ow * ld, y_row);
  if (ow < OW) kBlocks[OW - ow](img + ow * step, step, row_step, rows, toff, taps, wpk, ld, bias, y + ow * ld, y_row);
}

}  // namespace

void conv2d_forward_depthwise_nhwc(const float* x, const float* w, const float* b, const ConvGeometry& g,
                                   Activation act, float* out) {
  using namespace Eigen::internal;
  const i64 C = g.C, Cpad = pad_to_packet(C), T = g.taps(), P = g.OH * g.OW;
  const i64 Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, HW = g.H * g.W;
  // Weights as [tap][channel] rows and the bias as one row, padded with zero channels.
  // In the calling thread's reused buffers (at batch 1 allocations cost as much as the FMAs);
  // the workers read them through the references (a thread_local named inside the parallel
  // lambda would be the worker's own).
  thread_local std::vector<float> wpk_buf, bias_buf;
  thread_local std::vector<i64> toff_buf;
  wpk_buf.assign(static_cast<std::size_t>(T * Cpad), 0.0f);
  bias_buf.assign(static_cast<std::size_t>(Cpad), 0.0f);
  for (i64 c = 0; c < C; ++c)
    for (i64 t = 0; t < T; ++t) wpk_buf[t * Cpad + c] = w[c * T + t];
  if (b != nullptr) std::copy(b, b + C, bias_buf.begin());
  tap_offsets(g.kh, g.kw, g.dh, g.dw, Wp, Cpad, toff_buf);
  const std::vector<float>& wpk = wpk_buf;
  const std::vector<float>& bias = bias_buf;
  const std::vector<i64>& toff = toff_buf;
  const Layout layout{1, C, Cpad, Cpad};
  const i64 step = g.sw * Cpad, row_step = g.sh * Wp * Cpad;

  parallel_for(g.N, 1, [&](i64 n0, i64 n1) {
    thread_local ScratchBuffer xbuf, ybuf;
    float* xp = xbuf.get(static_cast<std::size_t>(Hp * Wp * Cpad));
    float* yb = ybuf.get(static_cast<std::size_t>(P * Cpad));
    for (i64 n = n0; n < n1; ++n) {
      pack_padded(x + n * C * HW, g.H, g.W, layout, g.ph, g.pw, Hp, Wp, xp);
      for (i64 c = 0; c < Cpad; c += kPS) {
        const Packet pb = ploadu<Packet>(bias.data() + c);
        depthwise_rows(xp + c, step, row_step, g.OH, toff.data(), T, wpk.data() + c, Cpad, pb, g.OW, yb + c,
                       g.OW * Cpad);
      }
      unpack_dense(yb, P, layout, out + n * C * P);
      apply_activation(out + n * C * P, C * P, act);
    }
  });
}

}  // namespace shrink::kernels
