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
  // Per-call tables live in the calling thread's reused buffers (at batch 1 a layer's
  // allocations cost as much as a small layer's arithmetic). The references below are what the
  // workers read: a thread_local named inside the parallel lambda would be the worker's own.
  thread_local std::vector<float> bias_buf;
  thread_local std::vector<i64> toff_buf;
  if (b != nullptr) {
    bias_buf.assign(static_cast<std::size_t>(ldy), 0.0f);
    for (i64 gi = 0; gi < G; ++gi) std::copy(b + gi * Cog, b + (gi + 1) * Cog, bias_buf.begin() + gi * Cog_pad);
  }
  tap_offsets(g.kh, g.kw, g.dh, g.dw, Wp, g.C, toff_buf);
  const std::vector<float>& bias = bias_buf;
  const std::vector<i64>& toff = toff_buf;
  const std::shared_ptr<const BorderPlan> plan_ptr =
      cached_border_plan(g.OH, g.OW, g.sh, g.sw, g.kh, g.kw, g.dh, g.dw, g.ph, g.pw, g.H, g.W, Wp, g.C);
  const BorderPlan& plan = *plan_ptr;
  const Layout xin{1, g.C, g.C, g.C}, yout{G, Cog, Cog_pad, ldy};

  parallel_for(g.N, 1, [&](i64 n0, i64 n1) {
    thread_local ScratchBuffer xbuf, ybuf;
    float* xp = xbuf.get(static_cast<std::size_t>(Hp * Wp * g.C));
    float* yb = ybuf.get(static_cast<std::size_t>(P * ldy));
    thread_local std::vector<Seg> segs;
    segs.resize(static_cast<std::size_t>(T));
    for (i64 n = n0; n < n1; ++n) {
      pack_padded(x + n * g.C * HW, g.H, g.W, xin, g.ph, g.pw, Hp, Wp, xp);
      implicit_gemm(xp, plan, toff, G, Cg, Cg, wpk, Cog_pad, b != nullptr ? bias.data() : nullptr, yb, ldy, segs);
      unpack_dense(yb, P, yout, out + n * g.Co * P, plan.inverse.data());
      apply_activation(out + n * g.Co * P, g.Co * P, act);
    }
  });
}

}  // namespace shrink::kernels
