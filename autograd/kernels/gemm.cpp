#include "autograd/kernels/gemm.h"

#include <Eigen/Core>

namespace shrink::kernels {
namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat, Eigen::Aligned16>;
using ConstMapU = Eigen::Map<const RowMat>;
using MutMap = Eigen::Map<RowMat>;

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
  if (!trans_a && !trans_b) assign(c, a, b, alpha, beta);
  else if (trans_a && !trans_b) assign(c, a.transpose(), b, alpha, beta);
  else if (!trans_a && trans_b) assign(c, a, b.transpose(), alpha, beta);
  else assign(c, a.transpose(), b.transpose(), alpha, beta);
}

}  // namespace shrink::kernels
