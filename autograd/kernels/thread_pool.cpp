#include "autograd/kernels/thread_pool.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "autograd/error.h"

namespace shrink {
namespace {

/// How long an idle thread spins before it blocks, per policy.
constexpr std::chrono::microseconds kPassiveSpin{50};
constexpr std::chrono::microseconds kActiveSpin{5000};

/// -1: not read yet; else a WaitPolicy value.
std::atomic<int> g_policy{-1};

std::chrono::microseconds spin_budget() {
  return wait_policy() == WaitPolicy::Active ? kActiveSpin : kPassiveSpin;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// Spins until done() or the policy's spin budget is spent; returns done().
template <typename Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + spin_budget();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

/// True on the pool's workers and on a caller while it runs its chunks: parallel_for nests
/// serially there.
thread_local bool t_in_job = false;

/// The calling thread plus `workers_` run the chunks of one job at a time. A job is published by
/// bumping the generation in `state_` (high 32 bits; the low 32 bits count claimed chunks);
/// threads claim chunks with a compare-and-swap on `state_`, so a thread that wakes up late
/// finds nothing left instead of running a chunk of a later job, and the caller takes the chunks
/// of a worker that has not woken up yet.
class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }

  void run(std::int64_t chunks, void (*task)(void*, std::int64_t), void* context, int threads) {
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {  // another thread's job has the workers: do this one alone
      run_inline(chunks, task, context);
      return;
    }
    ensure_workers(threads - 1);
    const std::uint64_t gen = ++generation_;
    task_.store(task, std::memory_order_relaxed);
    context_.store(context, std::memory_order_relaxed);
    chunks_.store(chunks, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    state_.store(gen << 32, std::memory_order_release);
    posted_.store(gen);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(wake_mutex_);
      wake_.notify_all();
    }
    t_in_job = true;
    work_on(gen);
    t_in_job = false;
    wait_for_workers(chunks);
    if (error_) std::rethrow_exception(error_);
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(wake_mutex_);
      stop_ = true;
      wake_.notify_all();
    }
    for (std::thread& t : workers_) t.join();
  }

 private:
  Pool() = default;

  static void run_inline(std::int64_t chunks, void (*task)(void*, std::int64_t), void* context) {
    const bool outer = t_in_job;
    t_in_job = true;
    try {
      for (std::int64_t c = 0; c < chunks; ++c) task(context, c);
    } catch (...) {
      t_in_job = outer;
      throw;
    }
    t_in_job = outer;
  }

  void ensure_workers(int count) {
    while (static_cast<int>(workers_.size()) < count) {
      const std::uint64_t seen = posted_.load();
      workers_.emplace_back([this, seen] { worker_loop(seen); });
    }
  }

  /// Claims the next chunk of job `gen`; false when the job has no unclaimed chunk left (or is
  /// over). The fields read belong to `gen` whenever the CAS succeeds: a later job is only
  /// published after every chunk of this one has been claimed and run.
  bool claim(std::uint64_t gen, std::int64_t& chunk, std::int64_t& chunks) {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if ((s >> 32) != (gen & 0xffffffffu)) return false;
      chunks = chunks_.load(std::memory_order_relaxed);
      chunk = static_cast<std::int64_t>(s & 0xffffffffu);
      if (chunk >= chunks) return false;
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
  }

  void work_on(std::uint64_t gen) {
    std::int64_t chunk = 0, chunks = 0;
    while (claim(gen, chunk, chunks)) {
      try {
        task_.load(std::memory_order_relaxed)(context_.load(std::memory_order_relaxed), chunk);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      if (done_.fetch_add(1) + 1 == chunks && caller_waiting_.load()) {
        std::lock_guard<std::mutex> lock(done_mutex_);
        done_cv_.notify_one();
      }
    }
  }

  void wait_for_workers(std::int64_t chunks) {
    if (spin_until([&] { return done_.load(std::memory_order_acquire) == chunks; })) return;
    std::unique_lock<std::mutex> lock(done_mutex_);
    caller_waiting_.store(true);
    done_cv_.wait(lock, [&] { return done_.load() == chunks; });
    caller_waiting_.store(false);
  }

  void worker_loop(std::uint64_t seen) {
    t_in_job = true;
    for (;;) {
      if (!spin_until([&] { return posted_.load(std::memory_order_acquire) != seen; })) {
        std::unique_lock<std::mutex> lock(wake_mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stop_ || posted_.load() != seen; });
        sleepers_.fetch_sub(1);
        if (stop_) return;
      }
      seen = posted_.load(std::memory_order_acquire);
      work_on(seen);
    }
  }

  std::mutex run_mutex_;  // one job at a time
  std::vector<std::thread> workers_;
  std::uint64_t generation_ = 0;  // written under run_mutex_ only

  std::atomic<std::uint64_t> posted_{0};  // generation of the last job published
  std::atomic<std::uint64_t> state_{0};   // (generation << 32) | chunks claimed
  std::atomic<void (*)(void*, std::int64_t)> task_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<std::int64_t> chunks_{0};
  std::atomic<std::int64_t> done_{0};

  std::mutex error_mutex_;
  std::exception_ptr error_;

  std::mutex wake_mutex_;  // idle workers sleep on wake_
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  bool stop_ = false;

  std::mutex done_mutex_;  // the caller sleeps on done_cv_ until its job is done
  std::condition_variable done_cv_;
  std::atomic<bool> caller_waiting_{false};
};

}  // namespace

WaitPolicy parse_wait_policy(std::string_view name, std::string_view where) {
  if (name == "passive") return WaitPolicy::Passive;
  if (name == "active") return WaitPolicy::Active;
  throw ValueError(detail::concat(where, ": expected passive or active, got '", name, "'"));
}

void set_wait_policy(WaitPolicy policy) { g_policy.store(static_cast<int>(policy)); }

WaitPolicy wait_policy() {
  int p = g_policy.load(std::memory_order_relaxed);
  if (p < 0) {
    const char* env = std::getenv("SHRINK_WAIT_POLICY");
    const WaitPolicy parsed =
        env == nullptr || *env == '\0' ? WaitPolicy::Passive : parse_wait_policy(env, "SHRINK_WAIT_POLICY");
    int unset = -1;
    g_policy.compare_exchange_strong(unset, static_cast<int>(parsed));
    p = g_policy.load();
  }
  return static_cast<WaitPolicy>(p);
}

namespace kernels {

int available_threads() { return t_in_job ? 1 : omp_get_max_threads(); }

void run_chunks(std::int64_t chunks, void (*task)(void*, std::int64_t), void* context) {
  if (chunks <= 0) return;
  const int threads = available_threads();
  if (chunks == 1 || threads <= 1) {
    for (std::int64_t c = 0; c < chunks; ++c) task(context, c);
    return;
  }
  Pool::instance().run(chunks, task, context, static_cast<int>(std::min<std::int64_t>(threads, chunks)));
}

}  // namespace kernels
}  // namespace shrink
