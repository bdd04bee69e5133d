// Times every zoo model in Shrink: training images/s (batch 128, SGD with momentum, forward +
// backward + step), inference images/s (batch 256, eval, no grad) and batch-1 latency.
// Prints one JSON object per model and line, read by bench/zoo_vs_torch.py.
//
//   zoo_timing [--models mlp,naive] [--train-batches 20] [--infer-batches 10] [--latency-runs 200]
//              [--train-only 1]   (skip inference and latency, e.g. for bench/contention.sh)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"

using namespace shrink;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Result {
  double train_ips, infer_ips, latency_ms;
};

Result time_model(const std::string& name, int train_batches, int infer_batches, int latency_runs, bool train_only) {
  manual_seed(0);
  auto model = models::create(name);
  optim::SGD sgd(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  Generator gen(1);
  const Tensor x = randn({128, 1, 28, 28}, &gen);
  const Tensor y = randint(0, 10, {128}, &gen);

  auto train_step = [&] {
    sgd.zero_grad();
    Tensor loss = cross_entropy((*model)(x), y);
    loss.backward();
    sgd.step();
  };
  model->train();
  for (int i = 0; i < 3; ++i) train_step();  // warm-up: buffers cached, pages touched
  auto t0 = Clock::now();
  for (int i = 0; i < train_batches; ++i) train_step();
  const double train_ips = 128.0 * train_batches / seconds_since(t0);
  if (train_only) return {train_ips, 0.0, 0.0};

  model->eval();
  NoGradGuard no_grad;
  const Tensor xi = randn({256, 1, 28, 28}, &gen);
  for (int i = 0; i < 2; ++i) (*model)(xi);
  t0 = Clock::now();
  for (int i = 0; i < infer_batches; ++i) (*model)(xi);
  const double infer_ips = 256.0 * infer_batches / seconds_since(t0);

  const Tensor x1 = randn({1, 1, 28, 28}, &gen);
  for (int i = 0; i < 10; ++i) (*model)(x1);
  std::vector<double> lat;
  for (int i = 0; i < latency_runs; ++i) {
    t0 = Clock::now();
    (*model)(x1);
    lat.push_back(seconds_since(t0) * 1e3);
  }
  return {train_ips, infer_ips, median(lat)};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names = models::names();
  int train_batches = 20, infer_batches = 10, latency_runs = 200;
  bool train_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--models") {
      names.clear();
      std::stringstream ss(value);
      for (std::string n; std::getline(ss, n, ',');) names.push_back(n);
    } else if (flag == "--train-batches") {
      train_batches = std::stoi(value);
    } else if (flag == "--infer-batches") {
      infer_batches = std::stoi(value);
    } else if (flag == "--latency-runs") {
      latency_runs = std::stoi(value);
    } else if (flag == "--train-only") {
      train_only = std::stoi(value) != 0;
    } else {
      std::fprintf(stderr, "zoo_timing: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  for (const auto& name : names) {
    const Result r = time_model(name, train_batches, infer_batches, latency_runs, train_only);
    std::printf("{\"model\": \"%s\", \"train_ips\": %.1f, \"infer_ips\": %.1f, \"latency_ms\": %.4f, "
                "\"peak_rss_kb\": %ld}\n",
                name.c_str(), r.train_ips, r.infer_ips, r.latency_ms, peak_rss_kb());
    std::fflush(stdout);
  }
  return 0;
}
