// Where a forward pass's time goes: per-node times of a zoo model traced and conv → BatchNorm
// fused as `speedup_timing --fuse 1` times it, dense and shrunk (bench/shrunk_zoo.h). Each node's
// figure is the median over the runs (after 3 untimed ones); eval mode, no grad. Every node runs
// on its own, so a conv and the relu GraphModule would fuse with it show up separately.
//
//   node_profile [MODEL=resnet20] [BATCH=1] [RUNS=200] [dense|shrunk|both]
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "bench/paired_training.h"
#include "bench/shrunk_zoo.h"
#include "speedup/functional_ops.h"

using namespace shrink;
using Clock = std::chrono::steady_clock;

namespace {

/// Runs `gm`'s graph node by node as GraphModule::forward does, timing each node.
void profile(const char* label, speedup::GraphModule& gm, const Tensor& x, int runs) {
  const speedup::Graph& g = gm.graph();
  const std::size_t n = g.nodes.size();
  std::vector<std::vector<double>> times(n);
  std::vector<double> totals;
  for (int r = 0; r < runs + 3; ++r) {
    std::vector<Tensor> values(n);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      const speedup::GraphNode& node = g.nodes[i];
      const auto t0 = Clock::now();
      if (node.kind == speedup::NodeKind::Input) {
        values[i] = x;
      } else if (node.kind == speedup::NodeKind::Module) {
        values[i] = (*gm.find_module(node.target))(values[static_cast<std::size_t>(node.inputs[0])]);
      } else {
        TensorList args;
        for (int in : node.inputs) args.push_back(values[static_cast<std::size_t>(in)]);
        values[i] = speedup::run_function(node, args);
      }
      if (r >= 3) times[i].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    if (r >= 3) totals.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::printf("== %s: forward %.1f us (median)\n", label, bench::median(totals));
  for (std::size_t i = 1; i < n; ++i) {
    const speedup::GraphNode& node = g.nodes[i];
    std::string shape;
    for (auto d : node.shape) shape += std::to_string(d) + " ";
    std::printf("%9.1f us  %-26s %-20s %s\n", bench::median(times[i]), node.name.c_str(),
                node.kind == speedup::NodeKind::Module ? node.module_type.c_str() : node.target.c_str(), shape.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "resnet20";
  const int batch = argc > 2 ? std::stoi(argv[2]) : 1;
  const int runs = argc > 3 ? std::stoi(argv[3]) : 200;
  const std::string which = argc > 4 ? argv[4] : "both";
  const Tensor example = zeros({1, 1, 28, 28});
  auto pair = bench::shrunk_pair(name, example);
  std::size_t fused = 0;
  const auto dense = bench::fused_graph_module(*pair.dense, example, fused);
  const auto shrunk = bench::fused_graph_module(*pair.shrunk, example, fused);
  NoGradGuard no_grad;
  Generator gen(1);
  const Tensor x = randn({batch, 1, 28, 28}, &gen);
  if (which != "shrunk") profile("dense", *dense, x, runs);
  if (which != "dense") profile("shrunk", *shrunk, x, runs);
  return 0;
}
