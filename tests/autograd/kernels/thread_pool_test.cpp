// Shrink's thread pool behind kernels::parallel_for: coverage of the range, nesting, exceptions,
// concurrent callers, the OpenMP thread count, the wait policy, and GEMM results that do not
// depend on the thread count now that gemm splits its rows itself.
#include "autograd/kernels/thread_pool.h"

#include <gtest/gtest.h>
#include <omp.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "autograd/error.h"
#include "autograd/kernels/gemm.h"
#include "autograd/kernels/parallel.h"
#include "tests/support/errors.h"

namespace shrink::kernels {
namespace {

/// Sets omp_set_num_threads(n) for the scope.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

TEST(ParallelFor, CoversTheRangeOnceInChunksThatFollowTheThreadCount) {
  for (int threads : {1, 2, 3}) {
    ThreadCount tc(threads);
    for (std::int64_t n : {1, 7, 100, 1000, 12345}) {
      std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
      std::atomic<int> calls{0};
      parallel_for(n, 10, [&](std::int64_t b, std::int64_t e) {
        calls.fetch_add(1);
        for (std::int64_t i = b; i < e; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
      });
      for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<std::size_t>(i)].load(), 1) << i;
      const std::int64_t expected = n < 20 ? 1 : std::min<std::int64_t>(threads, (n + 9) / 10);
      EXPECT_EQ(calls.load(), expected) << "threads " << threads << " n " << n;
    }
  }
}

TEST(ParallelFor, NestedCallsRunOnTheCallingThread) {
  ThreadCount tc(2);
  std::atomic<int> inner_calls{0}, nested_threads{0};
  parallel_for(1000, 1, [&](std::int64_t, std::int64_t) {
    nested_threads.fetch_add(available_threads());
    parallel_for(1000, 1, [&](std::int64_t b, std::int64_t e) {
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, 1000);
      inner_calls.fetch_add(1);
    });
  });
  EXPECT_EQ(inner_calls.load(), 2);
  EXPECT_EQ(nested_threads.load(), 2);  // 1 in each of the two chunks
  EXPECT_EQ(available_threads(), 2);
}

TEST(ParallelFor, RethrowsTheExceptionOfAChunkAndStaysUsable) {
  ThreadCount tc(2);
  for (int round = 0; round < 20; ++round) {
    EXPECT_THROW(parallel_for(1000, 1,
                              [&](std::int64_t b, std::int64_t) {
                                if (b > 0) throw ValueError("chunk failed");
                              }),
                 ValueError);
    std::atomic<std::int64_t> sum{0};
    parallel_for(1000, 1, [&](std::int64_t b, std::int64_t e) { sum.fetch_add(e - b); });
    EXPECT_EQ(sum.load(), 1000);
  }
}

TEST(ParallelFor, ConcurrentCallersEachGetTheirWholeRange) {
  ThreadCount tc(2);
  auto caller = [](std::int64_t* out) {
    for (int round = 0; round < 200; ++round) {
      std::atomic<std::int64_t> sum{0};
      parallel_for(5000, 100, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) sum.fetch_add(i);
      });
      *out += sum.load();
    }
  };
  std::int64_t a = 0, b = 0;
  std::thread other(caller, &b);
  caller(&a);
  other.join();
  const std::int64_t expected = 200 * (std::int64_t{5000} * 4999 / 2);
  EXPECT_EQ(a, expected);
  EXPECT_EQ(b, expected);
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Idle workers must give their cores back: after a job, a 200 ms pause of the caller costs
// (nearly) no CPU time, under both policies (each spins a bounded time, then sleeps).
TEST(WaitPolicy, IdleWorkersSleep) {
  ThreadCount tc(2);
  const WaitPolicy saved = wait_policy();
  for (WaitPolicy policy : {WaitPolicy::Passive, WaitPolicy::Active}) {
    set_wait_policy(policy);
    EXPECT_EQ(wait_policy(), policy);
    std::atomic<int> sink{0};
    parallel_for(100, 1, [&](std::int64_t b, std::int64_t e) { sink.fetch_add(static_cast<int>(e - b)); });
    const double cpu0 = process_cpu_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_LT(process_cpu_seconds() - cpu0, 0.05) << (policy == WaitPolicy::Active ? "active" : "passive");
  }
  set_wait_policy(saved);
}

TEST(WaitPolicy, ParsesTheEnvironmentSpelling) {
  EXPECT_EQ(parse_wait_policy("passive", "SHRINK_WAIT_POLICY"), WaitPolicy::Passive);
  EXPECT_EQ(parse_wait_policy("active", "SHRINK_WAIT_POLICY"), WaitPolicy::Active);
  testing::expect_message<ValueError>([] { parse_wait_policy("spin", "SHRINK_WAIT_POLICY"); },
                                      "SHRINK_WAIT_POLICY: expected passive or active, got 'spin'");
}

/// op(A)·op(B) with deterministic data, computed with `threads` threads.
std::vector<float> product(bool ta, bool tb, std::int64_t M, std::int64_t N, std::int64_t K, int threads) {
  std::vector<float> a(static_cast<std::size_t>(M * K)), b(static_cast<std::size_t>(K * N));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7919) % 1000) / 997.0f - 0.5f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 104729) % 1000) / 991.0f - 0.5f;
  std::vector<float> c(static_cast<std::size_t>(M * N), 1.0f);
  ThreadCount tc(threads);
  gemm(ta, tb, M, N, K, 0.75f, a.data(), b.data(), 0.5f, c.data());
  return c;
}

TEST(Gemm, BitIdenticalOnOneTwoAndThreeThreads) {
  struct Shape {
    std::int64_t M, N, K;
  };
  for (const Shape s : {Shape{128, 300, 784}, Shape{784, 300, 128}, Shape{37, 129, 600}, Shape{300, 10, 1000},
                        Shape{1000, 33, 257}}) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      const auto one = product(ta, tb, s.M, s.N, s.K, 1);
      for (int threads : {2, 3}) {
        const auto many = product(ta, tb, s.M, s.N, s.K, threads);
        EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0)
            << s.M << "x" << s.N << "x" << s.K << " trans " << ta << tb << " threads " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace shrink::kernels
