#include "autograd/kernels/conv_nhwc.h"

#include <algorithm>
#include <vector>

#include "autograd/kernels/conv_nhwc_common.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
using namespace conv_detail;

void conv2d_forward_nhwc(const float* x, const float* w, const float* b, const ConvGeometry& g, Activation act,
                         float* out) {
  const i64 G = g.groups, Cg = g.Cg(), Cog = g.Cog(), T = g.taps();
  const i64 Cog_pad = pad_to_packet(Cog), ldy = G * Cog_pad, P = g.OH * g.OW;
  const i64 Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, HW = g.H * g.W;
  // Weights as [tap][cin][cout] panels: w[co][ci][t] -> (row t*Cg + ci, column co).
  thread_local ScratchBuffer wbuf;  // the calling thread's, reused across calls
  const float* wpk = pack_conv_weights(wbuf, w, G, Cog, Cg, T);
  std::vector<float> bias;
  if (b != nullptr) {
    bias.assign(static_cast<std::size_t>(ldy), 0.0f);
    for (i64 gi = 0; gi < G; ++gi) std::copy(b + gi * Cog, b + (gi + 1) * Cog, bias.begin() + gi * Cog_pad);
  }
  const auto toff = tap_offsets(g.kh, g.kw, g.dh, g.dw, Wp, g.C);
  const std::shared_ptr<const BorderPlan> plan_ptr =
      cached_border_plan(g.OH, g.OW, g.sh, g.sw, g.kh, g.kw, g.dh, g.dw, g.ph, g.pw, g.H, g.W, Wp, g.C);
  const BorderPlan& plan = *plan_ptr;
  const Layout xin{1, g.C, g.C, g.C}, yout{G, Cog, Cog_pad, ldy};

  parallel_for(g.N, 1, [&](i64 n0, i64 n1) {
    thread_local ScratchBuffer xbuf, ybuf;
    float* xp = xbuf.get(static_cast<std::size_t>(Hp * Wp * g.C));
    float* yb = ybuf.get(static_cast<std::size_t>(P * ldy));
    std::vector<Seg> segs(static_cast<std::size_t>(T));
    for (i64 n = n0; n < n1; ++n) {
      pack_padded(x + n * g.C * HW, g.H, g.W, xin, g.ph, g.pw, Hp, Wp, xp);
      implicit_gemm(xp, plan, toff, G, Cg, Cg, wpk, Cog_pad, b != nullptr ? bias.data() : nullptr, yb, ldy, segs);
      unpack_dense(yb, P, yout, out + n * g.Co * P, plan.inverse.data());
      apply_activation(out + n * g.Co * P, g.Co * P, act);
    }
  });
}

}  // namespace shrink::kernels
