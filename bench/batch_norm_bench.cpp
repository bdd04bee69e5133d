// batch_norm on a ResNet-like activation [64, 64, 32, 32]: training forward (statistics + normalise
// + running-stat update), training forward + backward, and eval forward. Counters report bytes/s
// of the input read.
//
//   build-x/bench/batch_norm_bench
#include <benchmark/benchmark.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

using namespace shrink;

namespace {

constexpr std::int64_t kN = 64, kC = 64, kH = 32, kW = 32;

void set_bytes(benchmark::State& state) {
  state.counters["InputBytes"] = benchmark::Counter(
      4.0 * kN * kC * kH * kW, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1024);
}

void BM_BatchNormTrainForward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({kN, kC, kH, kW}, &gen), w = ones({kC}), b = zeros({kC});
  Tensor rm = zeros({kC}), rv = ones({kC});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(batch_norm(x, w, b, rm, rv, true).raw_data());
  set_bytes(state);
}

void BM_BatchNormTrainForwardBackward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({kN, kC, kH, kW}, &gen), w = ones({kC}), b = zeros({kC});
  x.requires_grad_();
  w.requires_grad_();
  b.requires_grad_();
  Tensor rm = zeros({kC}), rv = ones({kC});
  Tensor g = randn({kN, kC, kH, kW}, &gen);
  for (auto _ : state) {
    batch_norm(x, w, b, rm, rv, true).backward(g);
    x.zero_grad();
    w.zero_grad();
    b.zero_grad();
  }
  set_bytes(state);
}

void BM_BatchNormEvalForward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({kN, kC, kH, kW}, &gen), w = ones({kC}), b = zeros({kC});
  Tensor rm = zeros({kC}), rv = ones({kC});
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(batch_norm(x, w, b, rm, rv, false).raw_data());
  set_bytes(state);
}

}  // namespace

BENCHMARK(BM_BatchNormTrainForward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_BatchNormTrainForwardBackward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_BatchNormEvalForward)->Unit(benchmark::kMicrosecond)->UseRealTime();
