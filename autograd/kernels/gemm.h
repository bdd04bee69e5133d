#pragma once
/// \file
/// GEMM on raw row-major float buffers through Eigen (the one matrix-multiply of Shrink).
///
/// Eigen runs single-threaded here (no OpenMP teams); gemm splits large products by rows of C
/// over parallel_for itself, so it runs on Shrink's threads and their wait policy. Called from
/// inside parallel_for it runs on the calling thread alone. Row blocks are multiples of 16 rows
/// and the reduction dimension is fed to Eigen in fixed blocks of 256 (see gemm.cpp), so every
/// element is computed the same way whatever the split: results do not depend on the thread
/// count.

#include <cstdint>

namespace shrink::kernels {

/// Rows of C that gemm computes together (and splits over threads in): a row's floats depend on
/// its position within such a block only through whether the block is full, so a product over a
/// subset of rows starting at a multiple of it gives the same floats for those rows.
inline constexpr std::int64_t kGemmRowBlock = 16;

/// C[M,N] = alpha · op(A) · op(B) + beta · C, all row-major and densely packed.
/// op(A) is A [M,K] or, when trans_a, Aᵀ with A stored [K,M]; likewise op(B) is [K,N] or Bᵀ with
/// B stored [N,K]. beta = 0 ignores C's previous contents (it may be uninitialised).
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C);

}  // namespace shrink::kernels
