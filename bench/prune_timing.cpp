// Times masked training in Shrink: a zoo model trained dense and the same model with every Conv2d
// masked at 50% by L1NormPruner (weight = weight * weight_mask and bias * bias_mask inside the
// forward graph), batch 128, SGD with momentum 0.9, forward + backward + step. The dense and the
// masked model step in turn (dense, masked, dense, ...) so that a busy spell on a shared machine
// hits both; each figure is the median step time. Prints one JSON object per model and line, read
// by bench/prune_vs_torch.py.
//
//   prune_timing [--models vgg_small,resnet20] [--steps 20] [--warmup 3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"

using namespace shrink;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// One model with its optimizer and a fixed batch.
struct Trainee {
  nn::ModulePtr model;
  std::unique_ptr<optim::SGD> sgd;
  std::unique_ptr<compression::Pruner> pruner;

  explicit Trainee(const std::string& name) {
    manual_seed(0);
    model = models::create(name);
    model->train();
    sgd = std::make_unique<optim::SGD>(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  }

  /// Milliseconds of one training step.
  double step(const Tensor& x, const Tensor& y) {
    const auto t0 = Clock::now();
    sgd->zero_grad();
    Tensor loss = cross_entropy((*model)(x), y);
    loss.backward();
    sgd->step();
    if (pruner) pruner->step();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
};

/// Fraction of the Conv2d weights whose mask is 0, and whether every one of them is still 0 in the
/// masked weight the forward uses (the benchmark must time a working pruner).
std::pair<double, bool> masked_fraction(const compression::Pruner& pruner) {
  std::int64_t zeros = 0, total = 0;
  bool stays_zero = true;
  for (const auto& layer : pruner.layers()) {
    const Tensor mask = layer.module->buffer("weight_mask");
    const Tensor effective = layer.module->param_value("weight");
    const float* m = mask.data<float>();
    const float* w = effective.data<float>();
    for (std::int64_t i = 0; i < mask.numel(); ++i) {
      zeros += m[i] == 0.0f;
      stays_zero = stays_zero && (m[i] != 0.0f || w[i] == 0.0f);
    }
    total += mask.numel();
  }
  return {total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0, stays_zero};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names = {"vgg_small", "resnet20"};
  int steps = 20, warmup = 3;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "prune_timing: %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--models") {
      names.clear();
      std::stringstream ss(value);
      for (std::string n; std::getline(ss, n, ',');) names.push_back(n);
    } else if (flag == "--steps") {
      steps = std::stoi(value);
    } else if (flag == "--warmup") {
      warmup = std::stoi(value);
    } else {
      std::fprintf(stderr, "prune_timing: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  for (const auto& name : names) {
    Trainee dense(name), masked(name);
    masked.pruner = std::make_unique<compression::L1NormPruner>(
        masked.model, compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
    masked.pruner->compress();  // after the optimizer was built, as a user would
    Generator gen(1);
    const Tensor x = randn({128, 1, 28, 28}, &gen);
    const Tensor y = randint(0, 10, {128}, &gen);
    for (int i = 0; i < warmup; ++i) {
      dense.step(x, y);
      masked.step(x, y);
    }
    std::vector<double> dense_ms, masked_ms;
    for (int i = 0; i < steps; ++i) {
      dense_ms.push_back(dense.step(x, y));
      masked_ms.push_back(masked.step(x, y));
    }
    const auto [fraction, stays_zero] = masked_fraction(*masked.pruner);
    if (!stays_zero) {
      std::fprintf(stderr, "prune_timing: %s: a masked weight became non-zero during training\n", name.c_str());
      return 1;
    }
    const double d = median(dense_ms), m = median(masked_ms);
    std::printf("{\"model\": \"%s\", \"dense_step_ms\": %.3f, \"masked_step_ms\": %.3f, \"dense_ips\": %.1f, "
                "\"masked_ips\": %.1f, \"masked_fraction\": %.4f, \"masked_layers\": %zu}\n",
                name.c_str(), d, m, 128e3 / d, 128e3 / m, fraction, masked.pruner->layers().size());
    std::fflush(stdout);
  }
  return 0;
}
