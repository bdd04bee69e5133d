// Element-wise ops on 1M float32 elements: add, mul (two same-shape operands), relu, sigmoid;
// forward only (no graph) and forward + backward. Counters report elements/s.
//
//   build-x/bench/elementwise_bench
#include <benchmark/benchmark.h>

#include <functional>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

using namespace shrink;

namespace {

constexpr std::int64_t kElements = 1 << 20;

using Op = std::function<Tensor(const Tensor&, const Tensor&)>;

Op op_of(std::int64_t which) {
  switch (which) {
    case 0:
      return [](const Tensor& a, const Tensor& b) { return add(a, b); };
    case 1:
      return [](const Tensor& a, const Tensor& b) { return mul(a, b); };
    case 2:
      return [](const Tensor& a, const Tensor&) { return relu(a); };
    default:
      return [](const Tensor& a, const Tensor&) { return sigmoid(a); };
  }
}

const char* name_of(std::int64_t which) {
  static const char* names[] = {"add", "mul", "relu", "sigmoid"};
  return names[which];
}

void set_rate(benchmark::State& state) {
  state.SetLabel(name_of(state.range(0)));
  state.counters["Elements"] =
      benchmark::Counter(double(kElements), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

void BM_ElementwiseForward(benchmark::State& state) {
  const Op op = op_of(state.range(0));
  Generator gen(0);
  Tensor a = randn({kElements}, &gen), b = randn({kElements}, &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(op(a, b).raw_data());
  set_rate(state);
}

void BM_ElementwiseForwardBackward(benchmark::State& state) {
  const Op op = op_of(state.range(0));
  Generator gen(0);
  Tensor a = randn({kElements}, &gen), b = randn({kElements}, &gen), g = randn({kElements}, &gen);
  a.requires_grad_();
  b.requires_grad_();
  for (auto _ : state) {
    op(a, b).backward(g);
    a.zero_grad();
    b.zero_grad();
  }
  set_rate(state);
}

}  // namespace

BENCHMARK(BM_ElementwiseForward)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ElementwiseForwardBackward)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond)->UseRealTime();
