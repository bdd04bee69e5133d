#include "autograd/kernels/conv.h"

#include <algorithm>
#include <vector>

#include "autograd/kernels/conv_depthwise.h"
#include "autograd/kernels/conv_nhwc.h"
#include "autograd/kernels/conv_pointwise.h"
#include "autograd/kernels/conv_planar.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using i64 = std::int64_t;

bool is_depthwise(const ConvGeometry& g) { return g.groups == g.C && g.Co == g.C; }

bool is_pointwise(const ConvGeometry& g) {
  return g.groups == 1 && g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

ConvAlgo resolve(const ConvGeometry& g, ConvAlgo algo, bool backward) {
  if (algo == ConvAlgo::Auto) return choose_conv_algo(g, backward);
  SHRINK_ASSERT(algo != ConvAlgo::Planar || g.Cg() == 1, "planar conv needs one input channel per group");
  SHRINK_ASSERT(algo != ConvAlgo::Gemm1x1 || is_pointwise(g), "gemm conv needs a 1x1, stride 1, unpadded kernel");
  SHRINK_ASSERT(algo != ConvAlgo::DepthwiseNhwc || is_depthwise(g), "depthwise conv needs groups == C == Co");
  if (algo == ConvAlgo::DepthwiseNhwc && backward) return ConvAlgo::Planar;
  return algo;
}

// 1×1 forward: out[n] = W [Co,C] · x[n] [C,P] (+ bias), single-threaded per sample. Up to
// kDirectMaxC input channels the product runs in registers straight on the NCHW data
// (conv_pointwise.h); with more, Eigen's GEMM (its packing pays off: 128 → 128 channels on a 7×7
// map at batch 1 took 19 µs with it and 23 µs direct, 64 → 128 12 µs direct and 15 µs with it).
constexpr i64 kDirectMaxC = 64;
/// Output pixels (over the batch) up to which a 1×1 forward runs on the NCHW data whatever its
/// channels (up to kDirectMaxC): see choose_conv_algo.
constexpr i64 kFewPixels = 256;

void forward_1x1(const float* x, const float* w, const float* b, const ConvGeometry& g, Activation act, float* out) {
  const i64 P = g.OH * g.OW;
  parallel_for(g.N, 1, [&](i64 n0, i64 n1) {
    for (i64 n = n0; n < n1; ++n) {
      float* o = out + n * g.Co * P;
      if (g.C <= kDirectMaxC) {
        pointwise_forward_nchw(x + n * g.C * P, w, b, g.C, g.Co, P, o);
      } else {
        gemm(false, false, g.Co, P, g.C, 1.0f, w, x + n * g.C * P, 0.0f, o);
        if (b != nullptr)
          for (i64 co = 0; co < g.Co; ++co)
            for (i64 p = 0; p < P; ++p) o[co * P + p] += b[co];
      }
      apply_activation(o, g.Co * P, act);
    }
  });
}

// 1×1 backward: dx[n] = Wᵀ · gy[n]; dW = Σ_n gy[n] · x[n]ᵀ accumulated per fixed chunk.
void backward_1x1(const float* gy, const float* x, const float* w, const ConvGeometry& g, float* dx, float* dw,
                  float* db) {
  const i64 P = g.OH * g.OW, chunks = conv_batch_chunks(g.N), wlen = g.Co * g.C;
  std::vector<float> pdw(dw != nullptr ? static_cast<std::size_t>(chunks * wlen) : 0);
  std::vector<double> pdb(db != nullptr ? static_cast<std::size_t>(chunks * g.Co) : 0);
  parallel_for(chunks, 1, [&](i64 c0, i64 c1) {
    for (i64 c = c0; c < c1; ++c) {
      const i64 nbeg = g.N * c / chunks, nend = g.N * (c + 1) / chunks;
      for (i64 n = nbeg; n < nend; ++n) {
        const float* gyn = gy + n * g.Co * P;
        if (dx != nullptr) gemm(true, false, g.C, P, g.Co, 1.0f, w, gyn, 0.0f, dx + n * g.C * P);
        if (dw != nullptr)
          gemm(false, true, g.Co, g.C, P, 1.0f, gyn, x + n * g.C * P, n == nbeg ? 0.0f : 1.0f, pdw.data() + c * wlen);
        if (db != nullptr)
          for (i64 co = 0; co < g.Co; ++co) {
            double s = 0;
            for (i64 p = 0; p < P; ++p) s += gyn[co * P + p];
            pdb[c * g.Co + co] += s;
          }
      }
    }
  });
  if (dw != nullptr) {
    std::copy(pdw.begin(), pdw.begin() + wlen, dw);
    for (i64 c = 1; c < chunks; ++c)
      for (i64 e = 0; e < wlen; ++e) dw[e] += pdw[c * wlen + e];
  }
  if (db != nullptr)
    for (i64 co = 0; co < g.Co; ++co) {
      double s = 0;
      for (i64 c = 0; c < chunks; ++c) s += pdb[c * g.Co + co];
      db[co] = static_cast<float>(s);
    }
}

}  // namespace

std::int64_t conv_batch_chunks(std::int64_t N) { return std::min<std::int64_t>(N, 8); }

ConvAlgo choose_conv_algo(const ConvGeometry& g, bool backward) {
  if (!backward && is_depthwise(g)) return ConvAlgo::DepthwiseNhwc;
  if (g.Cg() == 1) return ConvAlgo::Planar;
  // Measured on 1×1 layers: the channel-last path wins the backward pass, and the forward pass
  // at batch 128 from 32 input channels up; with fewer, its layout changes dominate and the
  // per-sample product on the NCHW data is faster. So is it on few pixels in all (batch 1 on a
  // 7×7 map: 32 → 64 channels 3.8 µs against 4.8, 64 → 64 6.6 against 7.5), where the
  // channel-last path's weight packing is not spread over enough of them. Up to kDirectMaxC
  // input channels both give the same floats (bias, then one FMA per input channel in order),
  // so this choice by batch size never changes a result.
  if (is_pointwise(g) && !backward &&
      (g.C <= 16 || (g.C <= kDirectMaxC && g.N * g.OH * g.OW <= kFewPixels)))
    return ConvAlgo::Gemm1x1;
  return ConvAlgo::Nhwc;
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeometry& g, ConvAlgo algo,
                      Activation act) {
  Tensor out = Tensor::empty({g.N, g.Co, g.OH, g.OW});
  if (out.numel() == 0) return out;
  const float* bp = b.defined() ? b.data<float>() : nullptr;
  switch (resolve(g, algo, false)) {
    case ConvAlgo::Planar:
      conv2d_forward_planar(x.data<float>(), w.data<float>(), bp, g, act, out.data<float>());
      break;
    case ConvAlgo::Gemm1x1:
      forward_1x1(x.data<float>(), w.data<float>(), bp, g, act, out.data<float>());
      break;
    case ConvAlgo::DepthwiseNhwc:
      conv2d_forward_depthwise_nhwc(x.data<float>(), w.data<float>(), bp, g, act, out.data<float>());
      break;
    default:
      conv2d_forward_nhwc(x.data<float>(), w.data<float>(), bp, g, act, out.data<float>());
      break;
  }
  return out;
}

ConvGrads conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const ConvGeometry& g, bool need_dx,
                          bool need_dw, bool need_db, ConvAlgo algo) {
  ConvGrads r;
  if (need_dx) r.dx = Tensor::empty({g.N, g.C, g.H, g.W});
  if (need_dw) r.dw = Tensor::empty({g.Co, g.Cg(), g.kh, g.kw});
  if (need_db) r.db = Tensor::empty({g.Co});
  if (g.N == 0 || g.Co == 0 || g.OH * g.OW == 0) {
    // Nothing flows back: every gradient is zero.
    for (Tensor* t : {&r.dx, &r.dw, &r.db})
      if (t->defined()) t->zero_();
    return r;
  }
  float* dx = need_dx ? r.dx.data<float>() : nullptr;
  float* dw = need_dw ? r.dw.data<float>() : nullptr;
  float* db = need_db ? r.db.data<float>() : nullptr;
  // x is only read for the weight gradient and w only for the input gradient, so the caller may
  // pass undefined tensors for the one it does not need.
  const float* pg = gy.data<float>();
  const float* px = need_dw ? x.data<float>() : nullptr;
  const float* pw = need_dx ? w.data<float>() : nullptr;
  switch (resolve(g, algo, true)) {
    case ConvAlgo::Planar:
      conv2d_backward_planar(pg, px, pw, g, dx, dw, db);
      break;
    case ConvAlgo::Gemm1x1:
      backward_1x1(pg, px, pw, g, dx, dw, db);
      break;
    default:
      conv2d_backward_nhwc(pg, px, pw, g, dx, dw, db);
      break;
  }
  return r;
}

}  // namespace shrink::kernels
