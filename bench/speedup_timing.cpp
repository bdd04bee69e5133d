// Times a zoo model dense and physically shrunk in Shrink: L1NormPruner at 0.5 on every Conv2d,
// dependency-aware (Pruner::set_dependency_groups with speedup::dependency_groups), then
// speedup::ModelSpeedup removes the pruned channels. Inference in eval mode without grad: batch-1
// latency and batch-128 throughput. The dense and the shrunk model run in turn (dense, shrunk,
// dense, ...) so that a busy spell on a shared machine hits both; each figure is a median.
// With --save-dir, writes DIR/<model>.dense.h5 and DIR/<model>.shrunk.h5 (io::save_model), which
// bench/speedup_vs_torch.py rebuilds in PyTorch (scripts/model_file_to_torch.py). With --fuse 1,
// both models are timed as traced GraphModules after speedup::fuse_for_inference (every conv →
// BatchNorm pair folded; the files saved are still the unfused models, which the PyTorch side
// fuses with its own fuser). Prints one JSON object per model and line.
//
//   speedup_timing [--models vgg_small,resnet20,mobilenet_small] [--latency-runs 200]
//                  [--batches 20] [--save-dir DIR] [--fuse 0|1]
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "bench/paired_training.h"
#include "bench/shrunk_zoo.h"
#include "speedup/model_file.h"

using namespace shrink;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::vector<std::string> models{"vgg_small", "resnet20", "mobilenet_small"};
  int latency_runs = 200;
  int batches = 20;
  std::string save_dir;
  bool fuse = false;
};

/// Median milliseconds of a forward of `a` and of `b` on `x`, in turn, after 3 untimed forwards each.
std::pair<double, double> forward_in_turn(nn::Module& a, nn::Module& b, const Tensor& x, int runs) {
  auto time = [&](nn::Module& m) {
    const auto t0 = Clock::now();
    m(x);
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  for (int i = 0; i < 3; ++i) time(a), time(b);
  std::vector<double> ta, tb;
  for (int i = 0; i < runs; ++i) {
    ta.push_back(time(a));
    tb.push_back(time(b));
  }
  return {bench::median(ta), bench::median(tb)};
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "speedup_timing: %s: expected a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[i + 1];
    if (flag == "--models") {
      o.models.clear();
      std::stringstream ss(value);
      for (std::string n; std::getline(ss, n, ',');) o.models.push_back(n);
    } else if (flag == "--latency-runs") {
      o.latency_runs = std::stoi(value);
    } else if (flag == "--batches") {
      o.batches = std::stoi(value);
    } else if (flag == "--save-dir") {
      o.save_dir = value;
    } else if (flag == "--fuse") {
      if (value != "0" && value != "1") {
        std::fprintf(stderr, "speedup_timing: --fuse: expected 0 or 1, got %s\n", value.c_str());
        return false;
      }
      o.fuse = value == "1";
    } else {
      std::fprintf(stderr, "speedup_timing: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  const Tensor example = zeros({1, 1, 28, 28});
  for (const auto& name : o.models) {
    auto [dense, shrunk, report] = bench::shrunk_pair(name, example);
    if (!o.save_dir.empty()) {
      io::save_model(*dense, example, o.save_dir + "/" + name + ".dense.h5");
      io::save_model(*shrunk, example, o.save_dir + "/" + name + ".shrunk.h5");
    }
    std::size_t fused_dense = 0, fused_shrunk = 0;
    if (o.fuse) {
      dense = bench::fused_graph_module(*dense, example, fused_dense);
      shrunk = bench::fused_graph_module(*shrunk, example, fused_shrunk);
    }
    dense->eval();
    shrunk->eval();
    NoGradGuard no_grad;
    Generator gen(1);
    const auto [dense_lat, shrunk_lat] = forward_in_turn(*dense, *shrunk, randn({1, 1, 28, 28}, &gen), o.latency_runs);
    const auto [dense_batch, shrunk_batch] = forward_in_turn(*dense, *shrunk, randn({128, 1, 28, 28}, &gen), o.batches);
    std::printf(
        "{\"model\": \"%s\", \"macs_dense\": %lld, \"macs_shrunk\": %lld, \"params_dense\": %lld, "
        "\"params_shrunk\": %lld, \"dense_latency_ms\": %.4f, \"shrunk_latency_ms\": %.4f, "
        "\"dense_ips\": %.1f, \"shrunk_ips\": %.1f, \"fused_pairs_dense\": %zu, \"fused_pairs_shrunk\": %zu}\n",
        name.c_str(), static_cast<long long>(report.macs_before), static_cast<long long>(report.macs_after),
        static_cast<long long>(report.params_before), static_cast<long long>(report.params_after), dense_lat,
        shrunk_lat, 128e3 / dense_batch, 128e3 / shrunk_batch, fused_dense, fused_shrunk);
    std::fflush(stdout);
  }
  return 0;
}
