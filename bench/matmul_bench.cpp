// GEMM-shaped matmul and linear through Shrink's ops, next to the same product done directly with
// Eigen row-major matrices, so the ratio of Shrink's throughput to Eigen's own GEMM is visible
// (target: at least 85%). Counters report FLOP/s (2·n·k·m per product).
//
//   build-x/bench/matmul_bench --benchmark_filter='Matmul|Eigen'
#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"

using namespace shrink;

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void set_flops(benchmark::State& state, double n, double k, double m) {
  state.counters["FLOPS"] =
      benchmark::Counter(2.0 * n * k * m, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

/// Shapes: square n (256..1024), and the MLP layer [128, 784] x [784, 300] (arg 0).
void shape_of(std::int64_t arg, std::int64_t& n, std::int64_t& k, std::int64_t& m) {
  if (arg == 0) {
    n = 128, k = 784, m = 300;
  } else {
    n = k = m = arg;
  }
}

void BM_ShrinkMatmul(benchmark::State& state) {
  std::int64_t n, k, m;
  shape_of(state.range(0), n, k, m);
  Generator gen(0);
  Tensor a = randn({n, k}, &gen), b = randn({k, m}, &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
  set_flops(state, n, k, m);
}

void BM_EigenGemm(benchmark::State& state) {
  std::int64_t n, k, m;
  shape_of(state.range(0), n, k, m);
  RowMat a = RowMat::Random(n, k), b = RowMat::Random(k, m), c(n, m);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, n, k, m);
}

/// linear on the MLP layer: x [128, 784], W [300, 784], b [300] (x·Wᵀ + b).
void BM_ShrinkLinearForward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({128, 784}, &gen), w = randn({300, 784}, &gen), bias = randn({300}, &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(linear(x, w, bias).raw_data());
  set_flops(state, 128, 784, 300);
}

void BM_EigenLinearForward(benchmark::State& state) {
  RowMat x = RowMat::Random(128, 784), w = RowMat::Random(300, 784), y(128, 300);
  Eigen::RowVectorXf bias = Eigen::RowVectorXf::Random(300);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    y.rowwise() += bias;
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, 128, 784, 300);
}

/// Forward and backward of linear (three GEMMs: y = x·Wᵀ, dx = g·W, dW = gᵀ·x) plus db.
void BM_ShrinkLinearForwardBackward(benchmark::State& state) {
  Generator gen(0);
  Tensor x = randn({128, 784}, &gen), w = randn({300, 784}, &gen), bias = randn({300}, &gen);
  x.requires_grad_();
  w.requires_grad_();
  bias.requires_grad_();
  Tensor g = randn({128, 300}, &gen);
  for (auto _ : state) {
    linear(x, w, bias).backward(g);
    x.zero_grad();
    w.zero_grad();
    bias.zero_grad();
  }
  set_flops(state, 3 * 128, 784, 300);
}

void BM_EigenLinearForwardBackward(benchmark::State& state) {
  RowMat x = RowMat::Random(128, 784), w = RowMat::Random(300, 784), g = RowMat::Random(128, 300);
  RowMat y(128, 300), dx(128, 784), dw(300, 784);
  Eigen::RowVectorXf bias = Eigen::RowVectorXf::Random(300), db(300);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    y.rowwise() += bias;
    dx.noalias() = g * w;
    dw.noalias() = g.transpose() * x;
    db = g.colwise().sum();
    benchmark::DoNotOptimize(y.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::DoNotOptimize(dw.data());
    benchmark::DoNotOptimize(db.data());
  }
  set_flops(state, 3 * 128, 784, 300);
}

/// Batched products [B, n, k] x [B, k, m] with small matrices (parallel over the batch).
void BM_ShrinkBatchedMatmul(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  Generator gen(0);
  Tensor a = randn({64, n, n}, &gen), b = randn({64, n, n}, &gen);
  NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
  set_flops(state, 64 * n, n, n);
}

}  // namespace

BENCHMARK(BM_ShrinkMatmul)->Arg(256)->Arg(512)->Arg(1024)->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_EigenGemm)->Arg(256)->Arg(512)->Arg(1024)->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ShrinkLinearForward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_EigenLinearForward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ShrinkLinearForwardBackward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_EigenLinearForwardBackward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ShrinkBatchedMatmul)->Arg(16)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime();
