#pragma once
/// \file
/// The one way kernels parallelise: an index range split over Shrink's threads, never nested.
///
/// Determinism rule (docs/architecture.md): a kernel's result must not depend on the thread count.
/// Work split with parallel_for must write disjoint outputs; reductions split their range into
/// fixed-size chunks (chunk_count/chunk_range), reduce each chunk, then add the chunk results in
/// chunk order, so the rounding is the same on 1 or 64 threads.
///
/// The threads are the caller and the workers of autograd/kernels/thread_pool.h (not OpenMP
/// teams); their count is omp_get_max_threads(), and how they wait is shrink::WaitPolicy.

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "autograd/kernels/thread_pool.h"

namespace shrink::kernels {

/// Calls f(begin, end) on disjoint sub-ranges of [0, n) covering it, in parallel when n is at
/// least 2·`grain` and we are not already inside a parallel_for. The range is cut into
/// min(threads, ⌈n / grain⌉) near-equal chunks; a thread that finishes its chunk takes one no
/// other thread has started.
template <typename F>
void parallel_for(std::int64_t n, std::int64_t grain, F&& f) {
  if (n <= 0) return;
  const int threads = available_threads();
  if (threads <= 1 || n < 2 * grain) {
    f(std::int64_t{0}, n);
    return;
  }
  struct Context {
    std::remove_reference_t<F>* f;
    std::int64_t n, chunks;
  };
  Context ctx{&f, n, std::min<std::int64_t>(threads, (n + grain - 1) / grain)};
  run_chunks(
      ctx.chunks,
      [](void* p, std::int64_t c) {
        const Context& x = *static_cast<Context*>(p);
        (*x.f)(x.n * c / x.chunks, x.n * (c + 1) / x.chunks);
      },
      &ctx);
}

/// Fixed chunk size of deterministic reductions (elements).
inline constexpr std::int64_t kReduceChunk = 16384;
/// Number of fixed-size chunks covering n elements.
inline std::int64_t chunk_count(std::int64_t n, std::int64_t chunk = kReduceChunk) {
  return (n + chunk - 1) / chunk;
}

}  // namespace shrink::kernels
