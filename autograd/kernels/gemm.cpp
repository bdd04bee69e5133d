// Eigen must not start OpenMP teams (their idle threads spin; see thread_pool.h): this file is
// the only one that instantiates Eigen's products, and gemm parallelises them itself.
#define EIGEN_DONT_PARALLELIZE
#include "autograd/kernels/gemm.h"

#include <algorithm>

#include <Eigen/Core>

#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMapU = Eigen::Map<const RowMat>;
using MutMap = Eigen::Map<RowMat>;

/// Depth of the K blocks fed to Eigen. Eigen picks its own depth blocking (kc) from the L1 size
/// and kc decides where partial sums are rounded; blocks of 256 (a multiple of 8, below Eigen's
/// choice) are never split by Eigen, so the summation order is ours.
constexpr std::int64_t kDepthBlock = 256;
/// Rows of C per parallel block: a multiple of Eigen's register-block width (4 or 8 columns of
/// its column-major view of a row-major C), so a row is computed by the same micro-kernel
/// whatever full block it falls in (a partial last block may take another path).
constexpr std::int64_t kRowBlock = kGemmRowBlock;
/// Multiply-adds below which a product is not worth splitting (one row block per ~this much work).
constexpr std::int64_t kMinParallelWork = std::int64_t{1} << 18;

template <typename LHS, typename RHS>
void assign(MutMap& c, const LHS& a, const RHS& b, float alpha, float beta) {
  if (beta == 0.0f) {
    if (alpha == 1.0f) c.noalias() = a * b;
    else c.noalias() = alpha * (a * b);
  } else {
    if (beta != 1.0f) c *= beta;
    if (alpha == 1.0f) c.noalias() += a * b;
    else c.noalias() += alpha * (a * b);
  }
}

/// Rows [r0, r0 + rows) of C, all of K. `a` and `b` map the whole stored A and B.
void gemm_rows(bool trans_a, bool trans_b, std::int64_t r0, std::int64_t rows, std::int64_t K, float alpha,
               const ConstMapU& a, const ConstMapU& b, float beta, float* C, std::int64_t N) {
  MutMap c(C + r0 * N, rows, N);
  for (std::int64_t k0 = 0; k0 < K; k0 += kDepthBlock) {
    const std::int64_t kk = std::min(kDepthBlock, K - k0);
    const float blk_beta = k0 == 0 ? beta : 1.0f;
    if (!trans_a && !trans_b) {
      assign(c, a.block(r0, k0, rows, kk), b.middleRows(k0, kk), alpha, blk_beta);
    } else if (trans_a && !trans_b) {
      assign(c, a.block(k0, r0, kk, rows).transpose(), b.middleRows(k0, kk), alpha, blk_beta);
    } else if (!trans_a && trans_b) {
      assign(c, a.block(r0, k0, rows, kk), b.middleCols(k0, kk).transpose(), alpha, blk_beta);
    } else {
      assign(c, a.block(k0, r0, kk, rows).transpose(), b.middleCols(k0, kk).transpose(), alpha, blk_beta);
    }
  }
}
}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    MutMap c(C, M, N);
    if (beta == 0.0f) c.setZero();
    else c *= beta;
    return;
  }
  // Stored shapes: A is [M,K] (or [K,M] when transposed), B is [K,N] (or [N,K]).
  const ConstMapU a(A, trans_a ? K : M, trans_a ? M : K);
  const ConstMapU b(B, trans_b ? N : K, trans_b ? K : N);
  const std::int64_t blocks = (M + kRowBlock - 1) / kRowBlock;
  const std::int64_t grain = std::max<std::int64_t>(1, kMinParallelWork / (kRowBlock * N * K));
  parallel_for(blocks, grain, [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t r0 = b0 * kRowBlock, r1 = std::min(M, b1 * kRowBlock);
    gemm_rows(trans_a, trans_b, r0, r1 - r0, K, alpha, a, b, beta, C, N);
  });
}

}  // namespace shrink::kernels
