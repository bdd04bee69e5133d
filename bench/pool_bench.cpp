// Google Benchmark of the pooling ops (batch 128): forward without grad and forward + backward,
// for the pools the zoo uses. Counters report input bytes processed per second.
//
//   build/bench/pool_bench
#include <benchmark/benchmark.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace {
using namespace shrink;

enum Kind { kMax2x2, kMax3x3s2p1, kAvg3x3s2p1, kAvg2x2, kAdaptive1x1 };

Tensor pool(Kind kind, const Tensor& x) {
  Pool2dParams p;
  switch (kind) {
    case kMax2x2:
      return max_pool2d(x, p);
    case kMax3x3s2p1:
      p.kernel = {3, 3}, p.stride = {2, 2}, p.padding = {1, 1};
      return max_pool2d(x, p);
    case kAvg3x3s2p1:
      p.kernel = {3, 3}, p.stride = {2, 2}, p.padding = {1, 1};
      return avg_pool2d(x, p);
    case kAvg2x2:
      return avg_pool2d(x, p);
    default:
      return adaptive_avg_pool2d(x, {1, 1});
  }
}

// Args: kind, channels, hw.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"kind", "c", "hw"});
  for (int kind : {kMax2x2, kMax3x3s2p1, kAvg3x3s2p1, kAvg2x2, kAdaptive1x1})
    b->Args({kind, 32, 28})->Args({kind, 64, 14});
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

void BM_PoolForward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({128, state.range(1), state.range(2), state.range(2)}, &gen);
  const Kind kind = static_cast<Kind>(state.range(0));
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(pool(kind, x));
  state.SetBytesProcessed(state.iterations() * x.numel() * 4);
}
BENCHMARK(BM_PoolForward)->Apply(shapes);

void BM_PoolForwardBackward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({128, state.range(1), state.range(2), state.range(2)}, &gen).requires_grad_();
  const Kind kind = static_cast<Kind>(state.range(0));
  Tensor gy = randn(pool(kind, x.detach()).shape(), &gen);
  for (auto _ : state) {
    x.zero_grad();
    pool(kind, x).backward(gy);
  }
  state.SetBytesProcessed(state.iterations() * x.numel() * 4);
}
BENCHMARK(BM_PoolForwardBackward)->Apply(shapes);

}  // namespace
