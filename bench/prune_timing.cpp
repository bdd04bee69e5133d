// Times masked training in Shrink: a zoo model trained dense and the same model with every Conv2d
// masked at 50% by L1NormPruner (weight = weight * weight_mask and bias * bias_mask inside the
// forward graph), batch 128, SGD with momentum 0.9, forward + backward + step. The dense and the
// masked model step in turn (dense, masked, dense, ...) so that a busy spell on a shared machine
// hits both; each figure is the median step time. Prints one JSON object per model and line, read
// by bench/prune_vs_torch.py.
//
//   prune_timing [--models vgg_small,resnet20] [--steps 20] [--warmup 3]
#include <cstdio>
#include <string>

#include "bench/paired_training.h"
#include "compression/pruning/weight_pruners.h"

using namespace shrink;

namespace {

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
  bench::PairedOptions options{.models = {"vgg_small", "resnet20"}};
  if (!bench::parse_paired_options("prune_timing", argc, argv, options)) return 2;
  for (const auto& name : options.models) {
    bench::Trainee dense(name), masked(name);
    compression::L1NormPruner pruner(masked.model,
                                     compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
    pruner.compress();  // after the optimizer was built, as a user would
    masked.after_step = [&] { pruner.step(); };
    const std::vector<double> ms = bench::time_in_turn({&dense, &masked}, options.steps, options.warmup);
    const double d = ms[0], m = ms[1];
    const auto [fraction, stays_zero] = masked_fraction(pruner);
    if (!stays_zero) {
      std::fprintf(stderr, "prune_timing: %s: a masked weight became non-zero during training\n", name.c_str());
      return 1;
    }
    std::printf("{\"model\": \"%s\", \"dense_step_ms\": %.3f, \"masked_step_ms\": %.3f, \"dense_ips\": %.1f, "
                "\"masked_ips\": %.1f, \"masked_fraction\": %.4f, \"masked_layers\": %zu}\n",
                name.c_str(), d, m, 128e3 / d, 128e3 / m, fraction, pruner.layers().size());
    std::fflush(stdout);
  }
  return 0;
}
