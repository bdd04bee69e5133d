#pragma once
/// \file
/// The register-blocked micro-kernel behind the channel-last (NHWC) convolution kernels.
///
/// It computes an MR×(NV·PS) tile C = init + Σ_steps bcast(q[off[m]]) · r[0 .. NV·PS) where PS
/// is the SIMD width (Eigen's float packet, so the code is portable across SSE/AVX/AVX-512/NEON)
/// and the reduction steps come in runs ("segments") that share one length and pair of strides.
/// The same kernel serves
///  - conv forward / input gradient: rows = output pixels (off = pixel offsets in a padded NHWC
///    image), one run per kernel tap over the input channels, r = packed weights;
///  - weight gradient: rows = input channels of one tap, runs = output pixels (per sample, or
///    per output row), r = channel-last output gradient;
///  - col2im's column gradient and the strided planar convolution.
/// Accumulators stay in registers for the whole reduction, so the loop is FMA-bound (it reaches
/// the FMA peak with operands in L1). Internal to the conv kernels.

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

namespace shrink::kernels::conv_detail {

using Packet = Eigen::internal::packet_traits<float>::type;
/// SIMD width in floats (16 with AVX-512, 8 with AVX, 4 with SSE/NEON).
inline constexpr int kPS = Eigen::internal::packet_traits<float>::size;
#ifdef EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS
inline constexpr int kRegs = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS;
#else
inline constexpr int kRegs = 16;
#endif
/// Widest tile in packets, and tallest tile for a given width (accumulators + operands must
/// fit the vector registers).
inline constexpr int kMaxNV = kRegs >= 32 ? 4 : 2;
inline constexpr int kMaxMR = 8;  // more rows run out of general registers for the offsets
constexpr int max_mr(int nv) { return std::min(kMaxMR, (kRegs - nv - 2) / nv); }

/// Rounds n up to a multiple of the SIMD width.
inline std::int64_t pad_to_packet(std::int64_t n) { return (n + kPS - 1) / kPS * kPS; }

/// Start of one run of reduction steps: step s reads q[s*qstep + off[m]] and r[s*rstep + v*PS].
struct Seg {
  const float* q;
  const float* r;
};

/// Length and strides shared by every run of a call.
struct Steps {
  std::int64_t len, qstep, rstep;
};

/// C[m*ldc + v*PS + j] = init[m*init_ld + v*PS + j] (or 0 when init is null)
///                      + Σ_segments Σ_steps q[off[m]] · r[v*PS + j].
/// `init` may alias `C` (accumulation). With PACKED, the strides are the packed forward's
/// (qstep 1, rstep NV·PS) as constants: with them in registers the 8-row, one-packet tile ran
/// out of general registers and reloaded two strides from the stack at every step.
template <int MR, int NV, bool PACKED = false>
void micro(const Seg* segs, int nseg, Steps st, const std::int64_t* off, const float* init, std::int64_t init_ld,
           float* c, std::int64_t ldc) {
  using namespace Eigen::internal;
  Packet acc[MR][NV];
  if (init != nullptr) {
    for (int m = 0; m < MR; ++m)
      for (int v = 0; v < NV; ++v) acc[m][v] = ploadu<Packet>(init + m * init_ld + v * kPS);
  } else {
    for (int m = 0; m < MR; ++m)
      for (int v = 0; v < NV; ++v) acc[m][v] = pset1<Packet>(0.0f);
  }
  std::int64_t o[MR];
  for (int m = 0; m < MR; ++m) o[m] = off[m];
  // One flat loop over every step (segment switches inside): with nested loops GCC moves the
  // accumulators through the stack at each segment boundary.
  const std::int64_t qs = PACKED ? 1 : st.qstep, rs = PACKED ? NV * kPS : st.rstep, total = st.len * nseg;
  if (total > 0) {
    const float* q = segs[0].q;
    const float* r = segs[0].r;
    std::int64_t left = st.len;
    int s = 0;
    for (std::int64_t step = 0; step < total; ++step) {
      Packet w[NV];
      for (int v = 0; v < NV; ++v) w[v] = ploadu<Packet>(r + v * kPS);
      for (int m = 0; m < MR; ++m) {
        const Packet b = pset1<Packet>(q[o[m]]);
        for (int v = 0; v < NV; ++v) acc[m][v] = pmadd(w[v], b, acc[m][v]);
      }
      q += qs;
      r += rs;
      if (--left == 0 && ++s < nseg) {
        q = segs[s].q;
        r = segs[s].r;
        left = st.len;
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int v = 0; v < NV; ++v) pstoreu(c + m * ldc + v * kPS, acc[m][v]);
}

using MicroFn = void (*)(const Seg*, int, Steps, const std::int64_t*, const float*, std::int64_t, float*, std::int64_t);

/// The micro-kernel for 1 ≤ mr ≤ max_mr(nv), 1 ≤ nv ≤ kMaxNV; `packed`: the one for Steps
/// with qstep 1 and rstep nv·PS (callers need not check: run_rows picks it).
MicroFn micro_fn(int mr, int nv, bool packed = false);

/// Width of a column block: the widest tile.
inline constexpr std::int64_t kBlockCols = kMaxNV * kPS;

/// Packets in the column block starting at col0 of a packed width (a multiple of PS): blocks
/// are [0, kBlockCols), [kBlockCols, 2·kBlockCols), ... the last one narrower.
inline int block_nv(std::int64_t width, std::int64_t col0) {
  return static_cast<int>(std::min<std::int64_t>(kBlockCols, width - col0) / kPS);
}

/// Runs the micro-kernel over `rows` rows in the fewest tiles of at most max_mr(nv) rows, their
/// heights as equal as possible (49 rows -> 4×6 + 5×5, not 8×6 + 1: a one-row tile streams the
/// whole reduction operand for a single row): row m of the tile starting at r0 uses off[r0+m]
/// and writes c + (r0+m)*ldc.
inline void run_rows(std::int64_t rows, int nv, const Seg* segs, int nseg, Steps st, const std::int64_t* off,
                     const float* init, std::int64_t init_ld, bool init_follows_rows, float* c, std::int64_t ldc) {
  if (rows <= 0) return;
  const std::int64_t mr = max_mr(nv), tiles = (rows + mr - 1) / mr, base = rows / tiles, taller = rows % tiles;
  const bool packed = st.qstep == 1 && st.rstep == nv * kPS;
  const MicroFn tall = micro_fn(static_cast<int>(base + (taller > 0 ? 1 : 0)), nv, packed);
  const MicroFn low = micro_fn(static_cast<int>(base), nv, packed);
  std::int64_t r0 = 0;
  for (std::int64_t t = 0; t < tiles; ++t) {
    const std::int64_t n = t < taller ? base + 1 : base;
    const float* ini = init == nullptr ? nullptr : (init_follows_rows ? init + r0 * init_ld : init);
    (t < taller ? tall : low)(segs, nseg, st, off + r0, ini, init_ld, c + r0 * ldc, ldc);
    r0 += n;
  }
}

}  // namespace shrink::kernels::conv_detail
