// Google Benchmark of conv2d (batch 128, the zoo's layer shapes): forward without grad, and a
// training step (forward + backward with input, weight and bias requiring grad). Counters report
// FLOP/s of the nominal 2·N·Cout·(Cin/groups)·kh·kw·OH·OW multiply-adds per pass.
//
//   build/bench/conv_bench --benchmark_filter=Train
#include <benchmark/benchmark.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace {
using namespace shrink;

struct ConvCase {
  Tensor x, w, b, gy;
  Conv2dParams p;
  double flops;  // one pass
};

// Args: cin, cout, hw, kernel, padding, groups.
ConvCase make_case(const benchmark::State& state) {
  const std::int64_t cin = state.range(0), cout = state.range(1), hw = state.range(2), k = state.range(3),
                     pad = state.range(4), groups = state.range(5), n = 128;
  Generator gen(0);
  ConvCase c;
  c.x = randn({n, cin, hw, hw}, &gen).requires_grad_();
  c.w = (randn({cout, cin / groups, k, k}, &gen) * 0.1f).detach().requires_grad_();
  c.b = randn({cout}, &gen).requires_grad_();
  c.p.padding = {pad, pad};
  c.p.groups = groups;
  const std::int64_t o = hw + 2 * pad - k + 1;
  c.gy = randn({n, cout, o, o}, &gen);
  c.flops = 2.0 * n * cout * (cin / groups) * k * k * o * o;
  return c;
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cin", "cout", "hw", "k", "pad", "groups"});
  b->Args({1, 32, 28, 3, 1, 1})->Args({32, 32, 28, 3, 1, 1})->Args({32, 64, 14, 3, 1, 1});
  b->Args({64, 64, 14, 3, 1, 1})->Args({64, 128, 7, 3, 1, 1})->Args({128, 128, 7, 3, 1, 1});
  b->Args({1, 20, 28, 5, 0, 1})->Args({20, 50, 12, 5, 0, 1})->Args({32, 32, 14, 3, 1, 32});
  b->Args({64, 128, 14, 1, 0, 1});  // pointwise (GEMM path)
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_Conv2dForward(benchmark::State& state) {
  ConvCase c = make_case(state);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(c.x, c.w, c.b, c.p));
  state.counters["FLOP/s"] = benchmark::Counter(c.flops, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Conv2dForward)->Apply(shapes);

void BM_Conv2dTrainStep(benchmark::State& state) {
  ConvCase c = make_case(state);
  for (auto _ : state) {
    c.x.zero_grad(), c.w.zero_grad(), c.b.zero_grad();
    conv2d(c.x, c.w, c.b, c.p).backward(c.gy);
  }
  state.counters["FLOP/s"] = benchmark::Counter(3 * c.flops, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Conv2dTrainStep)->Apply(shapes);

}  // namespace
