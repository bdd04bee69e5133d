#pragma once
/// \file
/// Shrink's own worker threads, behind kernels::parallel_for, and how idle threads wait.
///
/// The kernels do not use OpenMP parallel regions: libgomp's idle threads spin for a long time
/// (its wait policy is read from OMP_WAIT_POLICY / GOMP_SPINCOUNT before main, too early for a
/// library to change), and a spinning team collapses when another process shares the cores.
/// Shrink runs parallel work on a small persistent pool instead: the calling thread plus up to
/// `threads - 1` workers, started on first use. Idle threads spin for a bounded time, then block
/// on a condition variable (WaitPolicy). The thread count follows OpenMP's: omp_set_num_threads,
/// else OMP_NUM_THREADS, else the number of cores (omp_get_max_threads()).

#include <cstdint>
#include <string_view>

namespace shrink {

/// How Shrink's idle threads (pool workers waiting for work, a caller waiting for its workers)
/// wait.
enum class WaitPolicy {
  /// Spin about 50 µs, then sleep until woken (the default): short gaps between kernels cost no
  /// wake-up, and a thread never holds a core another process needs for longer than that.
  Passive,
  /// Spin about 5 ms before sleeping: a little faster on a machine Shrink has to itself, much
  /// slower when another busy process shares the cores.
  Active,
};

/// Sets the wait policy of every Shrink thread (takes effect at their next wait).
void set_wait_policy(WaitPolicy policy);
/// The wait policy in force: the last set_wait_policy, else $SHRINK_WAIT_POLICY
/// (`passive` or `active`), else Passive.
WaitPolicy wait_policy();
/// Parses a wait policy name as in $SHRINK_WAIT_POLICY: "passive" or "active"; throws ValueError
/// naming `where` otherwise.
WaitPolicy parse_wait_policy(std::string_view name, std::string_view where);

namespace kernels {

/// The number of threads a parallel_for may use now: 1 inside a parallel_for, else
/// omp_get_max_threads().
int available_threads();

/// Calls task(context, c) for every c in [0, chunks), spread over up to `chunks` threads (the
/// caller takes part). Returns when all calls have returned; rethrows the first exception one of
/// them threw. Calls made from inside a task, or while another thread's job occupies the pool,
/// run every chunk on the calling thread.
void run_chunks(std::int64_t chunks, void (*task)(void* context, std::int64_t chunk), void* context);

}  // namespace kernels
}  // namespace shrink
