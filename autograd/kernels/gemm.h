#pragma once
/// \file
/// GEMM on raw row-major float buffers through Eigen (the one matrix-multiply of Shrink).
///
/// Eigen parallelises large products itself with OpenMP and runs single-threaded when called
/// from inside a parallel region, so callers choose one level of parallelism: either call gemm
/// from a serial context (Eigen's threads) or from inside parallel_for (one thread each).
/// Eigen's own depth blocking differs between its threaded and single-threaded paths, so gemm
/// feeds it the reduction dimension in fixed blocks of 256 (see gemm.cpp): results do not depend
/// on the thread count.

#include <cstdint>

namespace shrink::kernels {

/// C[M,N] = alpha · op(A) · op(B) + beta · C, all row-major and densely packed.
/// op(A) is A [M,K] or, when trans_a, Aᵀ with A stored [K,M]; likewise op(B) is [K,N] or Bᵀ with
/// B stored [N,K]. beta = 0 ignores C's previous contents (it may be uninitialised).
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C);

}  // namespace shrink::kernels
