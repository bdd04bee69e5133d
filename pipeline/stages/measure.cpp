// A stage's measurements: top-1, effective params and MACs (compression/analysis/counting.h),
// per-layer rows and the batch-1 latency.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>

#include "autograd/grad_mode.h"
#include "compression/analysis/counting.h"
#include "pipeline/stages/run_state.h"

namespace shrink::pipeline::detail {
namespace {

/// Median of 9 timed batch-1 forwards (after one warm-up), in eval mode without grad.
double median_latency_ms(nn::Module& model, const Tensor& x) {
  NoGradGuard no_grad;
  model.eval();
  model(x);
  std::vector<double> ms;
  for (int r = 0; r < 9; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    model(x);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

void measure(RunState& state, StageRecord& record, bool evaluate_model) {
  if (evaluate_model) record.accuracy = evaluate(state, "  " + record.name + " test");
  const auto layers = compression::count_layers(*state.model, state.example.shape());
  const auto totals = compression::count_totals(layers);
  record.params = totals.nonzero_params;
  record.macs = totals.effective_macs;
  record.layers.clear();
  for (const auto& l : layers) {
    // Sparsity against the layer's size before any stage shrank it: after a speedup, a conv that
    // kept half its filters is 50% sparse, as it was when masked (the largest size recorded for
    // this name by an earlier stage is the original one; a layer never seen before is its own).
    std::int64_t original = l.params;
    for (const StageRecord& earlier : state.record.stages)
      for (const LayerRecord& row : earlier.layers)
        if (row.name == l.name) original = std::max(original, row.params);
    const double sparsity = original > 0 ? 1.0 - static_cast<double>(l.nonzero_params) / static_cast<double>(original) : 0.0;
    record.layers.push_back({.name = l.name, .type = l.type, .params = original, .sparsity = sparsity, .macs = l.effective_macs});
  }
  record.latency_ms = median_latency_ms(*state.model, state.example);
}

std::int64_t file_bytes(const RunState& state, const std::string& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(state.dir / file, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

}  // namespace shrink::pipeline::detail
