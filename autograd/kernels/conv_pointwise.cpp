#include "autograd/kernels/conv_pointwise.h"

#include <algorithm>

#include "autograd/kernels/conv_micro.h"
#include "autograd/kernels/conv_util.h"

namespace shrink::kernels {
namespace {
using conv_detail::kPS;
using conv_detail::Packet;
using i64 = std::int64_t;

/// Output channels × packets of a tile: 12 accumulators, NV loads and one broadcast in flight
/// fit the 16 vector registers of AVX2.
constexpr int kRows = 6;
constexpr int kCols = 2;

/// MR output channels (rows of w from `w`, `ldw` apart) × NV packets of pixels (x's rows `ldx`
/// apart, output rows `ldo` apart), reduced over C input channels after the bias.
template <int MR, int NV>
void tile(const float* x, i64 ldx, const float* w, i64 ldw, i64 C, const float* b, float* out, i64 ldo) {
  using namespace Eigen::internal;
  Packet acc[MR][NV];
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) acc[m][v] = pset1<Packet>(b != nullptr ? b[m] : 0.0f);
  for (i64 c = 0; c < C; ++c) {
    Packet xv[NV];
    for (int v = 0; v < NV; ++v) xv[v] = ploadu<Packet>(x + c * ldx + v * kPS);
    for (int m = 0; m < MR; ++m) {
      const Packet wv = pset1<Packet>(w[m * ldw + c]);
      for (int v = 0; v < NV; ++v) acc[m][v] = pmadd(wv, xv[v], acc[m][v]);
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) pstoreu(out + m * ldo + v * kPS, acc[m][v]);
}

using TileFn = void (*)(const float*, i64, const float*, i64, i64, const float*, float*, i64);

template <int NV>
TileFn tile_fn(i64 rows) {
  static constexpr TileFn kFns[] = {nullptr,      &tile<1, NV>, &tile<2, NV>, &tile<3, NV>,
                                    &tile<4, NV>, &tile<5, NV>, &tile<6, NV>};
  return kFns[rows];
}

/// Every output channel for the NV packets of pixels at x / out.
template <int NV>
void column_block(const float* x, i64 ldx, const float* w, const float* b, i64 C, i64 Co, float* out, i64 ldo) {
  for (i64 co = 0; co < Co; co += kRows) {
    const i64 rows = std::min<i64>(kRows, Co - co);
    tile_fn<NV>(rows)(x, ldx, w + co * C, C, C, b != nullptr ? b + co : nullptr, out + co * ldo, ldo);
  }
}

}  // namespace

void pointwise_forward_nchw(const float* x, const float* w, const float* b, i64 C, i64 Co, i64 P, float* out) {
  i64 p = 0;
  for (; p + kCols * kPS <= P; p += kCols * kPS) column_block<kCols>(x + p, P, w, b, C, Co, out + p, P);
  for (; p + kPS <= P; p += kPS) column_block<1>(x + p, P, w, b, C, Co, out + p, P);
  if (p == P) return;
  // The last P - p < PS pixels: through zero-padded copies of their columns and of the result.
  const i64 tail = P - p;
  thread_local ScratchBuffer in_buf, out_buf;
  float* xt = in_buf.get(static_cast<std::size_t>(C * kPS));
  float* yt = out_buf.get(static_cast<std::size_t>(Co * kPS));
  for (i64 c = 0; c < C; ++c) {
    std::copy(x + c * P + p, x + c * P + P, xt + c * kPS);
    std::fill(xt + c * kPS + tail, xt + (c + 1) * kPS, 0.0f);
  }
  column_block<1>(xt, kPS, w, b, C, Co, yt, kPS);
  for (i64 co = 0; co < Co; ++co) std::copy(yt + co * kPS, yt + co * kPS + tail, out + co * P + p);
}

}  // namespace shrink::kernels
