#include "autograd/kernels/gemm.h"

#include <algorithm>

#include <Eigen/Core>

namespace shrink::kernels {
namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMapU = Eigen::Map<const RowMat>;
using MutMap = Eigen::Map<RowMat>;

/// Depth of the K blocks fed to Eigen. Eigen picks its own depth blocking (kc) differently when
/// it runs multi-threaded (kc ≤ 320) and single-threaded (kc from the L1 size), and kc decides
/// where partial sums are rounded, so a product with K > kc would round differently on 1 and 2
/// threads. Blocks of 256 (a multiple of 8, below both choices) are never split by Eigen, so the
/// summation order is ours and the same for every thread count.
constexpr std::int64_t kDepthBlock = 256;

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
}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  MutMap c(C, M, N);
  if (K == 0) {
    if (beta == 0.0f) c.setZero();
    else c *= beta;
    return;
  }
  // Stored shapes: A is [M,K] (or [K,M] when transposed), B is [K,N] (or [N,K]).
  ConstMapU a(A, trans_a ? K : M, trans_a ? M : K);
  ConstMapU b(B, trans_b ? N : K, trans_b ? K : N);
  for (std::int64_t k0 = 0; k0 < K; k0 += kDepthBlock) {
    const std::int64_t kk = std::min(kDepthBlock, K - k0);
    const float blk_beta = k0 == 0 ? beta : 1.0f;
    if (!trans_a && !trans_b) assign(c, a.middleCols(k0, kk), b.middleRows(k0, kk), alpha, blk_beta);
    else if (trans_a && !trans_b) assign(c, a.middleRows(k0, kk).transpose(), b.middleRows(k0, kk), alpha, blk_beta);
    else if (!trans_a && trans_b) assign(c, a.middleCols(k0, kk), b.middleCols(k0, kk).transpose(), alpha, blk_beta);
    else assign(c, a.middleRows(k0, kk).transpose(), b.middleCols(k0, kk).transpose(), alpha, blk_beta);
  }
}

}  // namespace shrink::kernels
