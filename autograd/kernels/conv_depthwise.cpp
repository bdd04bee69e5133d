#include "autograd/kernels/conv_depthwise.h"

#include <algorithm>
#include <vector>

#include "autograd/kernels/conv_nhwc_common.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using namespace conv_detail;

/// Output pixels processed together: their accumulators and the taps' weight packets must fit
/// the 16 vector registers of AVX2 for a 3×3 kernel (9 weights + 4 accumulators + 1 operand).
constexpr int kPixels = 4;

/// One output row's pixels [0, OW) for the channel packet at column `c` of a padded
/// channel-last image `img` (`ld` floats per pixel): y[ow*ld + c] = bias + Σ_t w[t] ·
/// img[row + ow*step + toff[t] + c], taps in order (the planar path's summation order, so both
/// give the same floats). TAPS > 0 holds the weights in registers; 0 reads them per use.
template <int TAPS>
void depthwise_row(const float* img, i64 step, const i64* toff, i64 taps, const float* wpk, i64 ld, Packet bias, i64 OW,
                   float* y) {
  using namespace Eigen::internal;
  constexpr int kRegTaps = TAPS > 0 ? TAPS : 1;
  Packet wv[kRegTaps];
  if constexpr (TAPS > 0)
    for (int t = 0; t < TAPS; ++t) wv[t] = ploadu<Packet>(wpk + t * ld);
  const auto weight = [&](i64 t) {
    if constexpr (TAPS > 0)
      return wv[t];
    else
      return ploadu<Packet>(wpk + t * ld);
  };
  const i64 T = TAPS > 0 ? TAPS : taps;
  i64 ow = 0;
  for (; ow + kPixels <= OW; ow += kPixels) {
    Packet acc[kPixels];
    for (int u = 0; u < kPixels; ++u) acc[u] = bias;
    for (i64 t = 0; t < T; ++t) {
      const Packet wt = weight(t);
      for (int u = 0; u < kPixels; ++u) acc[u] = pmadd(wt, ploadu<Packet>(img + (ow + u) * step + toff[t]), acc[u]);
    }
    for (int u = 0; u < kPixels; ++u) pstoreu(y + (ow + u) * ld, acc[u]);
  }
  for (; ow < OW; ++ow) {
    Packet acc = bias;
    for (i64 t = 0; t < T; ++t) acc = pmadd(weight(t), ploadu<Packet>(img + ow * step + toff[t]), acc);
    pstoreu(y + ow * ld, acc);
  }
}

}  // namespace

void conv2d_forward_depthwise_nhwc(const float* x, const float* w, const float* b, const ConvGeometry& g,
                                   Activation act, float* out) {
  using namespace Eigen::internal;
  const i64 C = g.C, Cpad = pad_to_packet(C), T = g.taps(), P = g.OH * g.OW;
  const i64 Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, HW = g.H * g.W;
  // Weights as [tap][channel] rows and the bias as one row, padded with zero channels.
  std::vector<float> wpk(static_cast<std::size_t>(T * Cpad), 0.0f), bias(static_cast<std::size_t>(Cpad), 0.0f);
  for (i64 c = 0; c < C; ++c)
    for (i64 t = 0; t < T; ++t) wpk[t * Cpad + c] = w[c * T + t];
  if (b != nullptr) std::copy(b, b + C, bias.begin());
  const std::vector<i64> toff = tap_offsets(g.kh, g.kw, g.dh, g.dw, Wp, Cpad);
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
        for (i64 oh = 0; oh < g.OH; ++oh) {
          const float* img = xp + oh * row_step + c;
          float* y = yb + oh * g.OW * Cpad + c;
          if (T == 9)
            depthwise_row<9>(img, step, toff.data(), T, wpk.data() + c, Cpad, pb, g.OW, y);
          else
            depthwise_row<0>(img, step, toff.data(), T, wpk.data() + c, Cpad, pb, g.OW, y);
        }
      }
      unpack_dense(yb, P, layout, out + n * C * P);
      apply_activation(out + n * C * P, C * P, act);
    }
  });
}

}  // namespace shrink::kernels
