// Measures the machine's fp32 fused multiply-add peak: the GFLOP/s that independent FMA chains
// reach in registers, on 1 thread and on N threads at once (one FMA = 2 FLOPs). The zoo benchmark
// (bench/zoo_vs_torch.py) reports each model's training GFLOP/s as a fraction of this number.
//
//   fma_peak [--threads 2] [--seconds 0.2] [--repeats 5]
//
// Prints one JSON object: the widest instruction set the CPU supports (avx512 / avx2 / scalar),
// and the best GFLOP/s over the repeats for 1 thread and for --threads threads. The kernels are
// compiled for their instruction set with target attributes and chosen at run time, so the
// result does not depend on the build's -march.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Each kernel runs `kChains` independent chains acc = acc·a + b for `iters` rounds. More chains
// than FMA latency × FMA ports keeps every port busy; a = 1 − 2⁻²⁰ and b = 2⁻²⁰ keep the values
// near 1 (no overflow, no denormals). Returns a sum of the accumulators so nothing is elided.
constexpr int kChains = 12;
constexpr float kA = 1.0f - 1.0f / (1 << 20), kB = 1.0f / (1 << 20);

__attribute__((target("avx512f"))) float fma_avx512(long iters) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(c));
  const __m512 a = _mm512_set1_ps(kA), b = _mm512_set1_ps(kB);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  alignas(64) float lanes[16];
  float sum = 0.0f;
  for (int c = 0; c < kChains; ++c) {
    _mm512_store_ps(lanes, acc[c]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) float fma_avx2(long iters) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(kA), b = _mm256_set1_ps(kB);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  alignas(32) float lanes[8];
  float sum = 0.0f;
  for (int c = 0; c < kChains; ++c) {
    _mm256_store_ps(lanes, acc[c]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

float fma_scalar(long iters) {
  float acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = 1.0f + 0.01f * static_cast<float>(c);
  for (long i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < kChains; ++c) acc[c] = __builtin_fmaf(acc[c], kA, kB);
  }
  float sum = 0.0f;
  for (float v : acc) sum += v;
  return sum;
}

struct Isa {
  const char* name;
  int lanes;
  float (*kernel)(long);
};

Isa widest_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"avx512", 16, fma_avx512};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2", 8, fma_avx2};
  return {"scalar", 1, fma_scalar};
}

std::atomic<float> sink{0.0f};

/// GFLOP/s of `threads` threads each running the kernel for `iters` rounds, started together.
double gflops(const Isa& isa, int threads, long iters) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      sink.store(isa.kernel(iters), std::memory_order_relaxed);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return 2.0 * kChains * isa.lanes * static_cast<double>(iters) * threads / s / 1e9;
}

/// Best of `repeats` runs of about `seconds` each (the first run calibrates the round count).
double best_gflops(const Isa& isa, int threads, double seconds, int repeats) {
  const long probe = 1 << 20;
  const double probe_rate = gflops(isa, 1, probe);  // GFLOP/s of one thread
  const long iters =
      std::max<long>(probe, static_cast<long>(seconds * probe_rate * 1e9 / (2.0 * kChains * isa.lanes)));
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) best = std::max(best, gflops(isa, threads, iters));
  return best;
}

int usage() {
  std::fprintf(stderr, "usage: fma_peak [--threads N] [--seconds S] [--repeats R]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double seconds = 0.2;
  int repeats = 5;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return usage(), 0;
    if (i + 1 >= argc) return usage();
    char* end = nullptr;
    const double value = std::strtod(argv[i + 1], &end);
    if (*end != '\0' || value <= 0) return usage();
    if (flag == "--threads") threads = static_cast<int>(value);
    else if (flag == "--seconds") seconds = value;
    else if (flag == "--repeats") repeats = static_cast<int>(value);
    else return usage();
  }
  const Isa isa = widest_isa();
  const double one = best_gflops(isa, 1, seconds, repeats);
  const double all = best_gflops(isa, threads, seconds, repeats);
  std::printf("{\"isa\": \"%s\", \"threads\": %d, \"gflops_1_thread\": %.1f, \"gflops\": %.1f}\n", isa.name, threads,
              one, all);
  return 0;
}
