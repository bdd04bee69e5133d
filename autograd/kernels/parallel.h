#pragma once
/// \file
/// The one way kernels parallelise: OpenMP over an index range, never nested.
///
/// Determinism rule (docs/architecture.md): a kernel's result must not depend on the thread count. Work
/// split with parallel_for must write disjoint outputs; reductions split their range into
/// fixed-size chunks (chunk_count/chunk_range), reduce each chunk, then add the chunk results in
/// chunk order, so the rounding is the same on 1 or 64 threads.

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace shrink::kernels {

/// Calls f(begin, end) on disjoint sub-ranges of [0, n) covering it, in parallel when n is at
/// least `grain` and we are not already inside a parallel region.
template <typename F>
void parallel_for(std::int64_t n, std::int64_t grain, F&& f) {
  if (n <= 0) return;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || n < 2 * grain) {
    f(std::int64_t{0}, n);
    return;
  }
  const std::int64_t chunks = std::min<std::int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    f(begin, end);
  }
}

/// Fixed chunk size of deterministic reductions (elements).
inline constexpr std::int64_t kReduceChunk = 16384;
/// Number of fixed-size chunks covering n elements.
inline std::int64_t chunk_count(std::int64_t n, std::int64_t chunk = kReduceChunk) {
  return (n + chunk - 1) / chunk;
}

}  // namespace shrink::kernels
