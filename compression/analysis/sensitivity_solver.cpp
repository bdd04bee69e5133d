// The solvers of sensitivity.h: per-layer ratios under a loss threshold (PaddleSlim 2.x) and one
// uniform ratio (PaddleSlim 1.x), both for a target fraction of MACs removed.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "compression/analysis/error_context.h"
#include "compression/analysis/sensitivity.h"

namespace shrink::compression {
namespace {

using detail::percent;

/// The solver's stopping rule: modelled reduction within this of the target.
constexpr double kSolverTolerance = 1e-9;
constexpr int kMaxHalvings = 200;

void check_target(const char* where, double target) {
  SHRINK_CHECK(target > 0.0 && target < 1.0, where, ": expected a target MACs reduction in (0, 1), got ", target);
}

void check_total(const char* where, std::int64_t total_macs) {
  SHRINK_CHECK(total_macs > 0, where, ": expected positive total_macs, got ", total_macs);
}

}  // namespace

double max_ratio_within_loss(const std::vector<double>& ratios, const std::vector<double>& losses, double threshold) {
  SHRINK_CHECK(ratios.size() == losses.size() && !ratios.empty(),
               "max_ratio_within_loss: expected as many losses as ratios (at least one), got ", losses.size(),
               " losses for ", ratios.size(), " ratios");
  const std::size_t n = ratios.size();
  if (losses[n - 1] <= threshold) return ratios[n - 1];
  // Walk the segments backwards from the last point, which is above the threshold: the first
  // segment that starts at or below it crosses it, and the crossing is the largest such ratio.
  for (std::size_t k = n; k-- > 0;) {
    const double r0 = k == 0 ? 0.0 : ratios[k - 1], l0 = k == 0 ? 0.0 : losses[k - 1];
    const double r1 = ratios[k], l1 = losses[k];
    if (l0 <= threshold) return r0 + (threshold - l0) / (l1 - l0) * (r1 - r0);
  }
  return 0.0;  // even (0, 0) is above a negative threshold
}

std::map<std::string, double> ratios_for_macs_target(const Sensitivities& sens,
                                                     const std::map<std::string, std::int64_t>& layer_macs,
                                                     std::int64_t total_macs, double target_reduction) {
  constexpr const char* where = "ratios_for_macs_target";
  check_target(where, target_reduction);
  check_total(where, total_macs);
  SHRINK_CHECK(!sens.losses.empty(), where, ": expected sensitivities of at least one layer, got none");
  double lo = 0.0, hi = 0.0;  // the loss thresholds to search between
  double layers_share = 0.0;
  for (const auto& [layer, losses] : sens.losses) {
    SHRINK_CHECK(losses.size() == sens.ratios.size(), where, ": expected ", sens.ratios.size(), " losses for layer '",
                 layer, "' (one per ratio), got ", losses.size());
    const auto it = layer_macs.find(layer);
    SHRINK_CHECK(it != layer_macs.end(), where, ": no MACs for layer '", layer,
                 "' in layer_macs. Hint: macs_by_layer(count_layers(model, input_shape)) gives every layer's");
    layers_share += static_cast<double>(it->second) / static_cast<double>(total_macs);
    for (const double l : losses) {
      lo = std::min(lo, l);
      hi = std::max(hi, l);
    }
  }

  auto solve = [&](double threshold, double& reduction) {
    std::map<std::string, double> ratios;
    reduction = 0.0;
    for (const auto& [layer, losses] : sens.losses) {
      const double r = max_ratio_within_loss(sens.ratios, losses, threshold);
      ratios[layer] = r;
      reduction += r * static_cast<double>(layer_macs.at(layer)) / static_cast<double>(total_macs);
    }
    return ratios;
  };

  double reduction = 0.0;
  std::map<std::string, double> best = solve(hi, reduction);
  SHRINK_CHECK(
      reduction >= target_reduction - kSolverTolerance, where, ": the target MACs reduction ",
      percent(target_reduction), " is unreachable: pruning every analysed layer at its largest measured ratio (",
      detail::ratio_str(sens.ratios.back()), ") removes at most ", percent(reduction),
      " of the MACs (the analysed layers hold ", percent(layers_share), "). Hint: analyse more layers or ask for less");
  if (std::abs(reduction - target_reduction) <= kSolverTolerance) return best;
  lo -= 1.0;  // strictly below every loss: solve(lo) removes nothing
  for (int step = 0; step < kMaxHalvings; ++step) {
    const double mid = 0.5 * (lo + hi);
    std::map<std::string, double> ratios = solve(mid, reduction);
    if (reduction >= target_reduction) {
      hi = mid;
      best = std::move(ratios);
      if (reduction - target_reduction <= kSolverTolerance) break;
    } else {
      lo = mid;
    }
  }
  return best;
}

std::map<std::string, double> align_ratios(const std::map<std::string, double>& ratios,
                                           const std::map<std::string, std::int64_t>& channels, std::int64_t align) {
  SHRINK_CHECK(align >= 1, "align_ratios: expected align >= 1, got ", align);
  std::map<std::string, double> out;
  for (const auto& [layer, ratio] : ratios) {
    const auto it = channels.find(layer);
    SHRINK_CHECK(it != channels.end() && it->second > 0, "align_ratios: expected a positive channel count for layer '",
                 layer, "', got ", it == channels.end() ? std::string("none") : std::to_string(it->second));
    const std::int64_t c = it->second;
    // floor with the pruners' slack (0.7 · 10 must give 7, not 6).
    const auto pruned =
        std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(ratio * static_cast<double>(c) + 1e-9)), 0, c);
    const std::int64_t kept = std::min(c, (c - pruned + align - 1) / align * align);
    out[layer] = static_cast<double>(c - kept) / static_cast<double>(c);
  }
  return out;
}

double uniform_ratio_for_macs_target(const std::function<double(double ratio)>& reduction_at, double target_reduction,
                                     double tolerance) {
  constexpr const char* where = "uniform_ratio_for_macs_target";
  check_target(where, target_reduction);
  SHRINK_CHECK(tolerance > 0.0 && tolerance < 1.0, where, ": expected a tolerance in (0, 1), got ", tolerance);
  double lo = 0.0, hi = 0.999;
  const double most = reduction_at(hi);
  SHRINK_CHECK(most >= target_reduction - tolerance, where, ": the target MACs reduction ", percent(target_reduction),
               " is unreachable: pruning every selected layer at ratio ", detail::ratio_str(hi), " removes ",
               percent(most), " of the MACs");
  if (std::abs(most - target_reduction) <= tolerance) return hi;
  for (int step = 0; step < kMaxHalvings; ++step) {
    const double mid = 0.5 * (lo + hi);
    const double reduction = reduction_at(mid);
    if (std::abs(reduction - target_reduction) <= tolerance) return mid;
    (reduction < target_reduction ? lo : hi) = mid;
  }
  throw ValueError(std::string(where) + ": no ratio reaches the target MACs reduction " + percent(target_reduction) +
                   " within " + detail::ratio_str(tolerance) + " (reduction_at jumps over it; is it non-decreasing?)");
}

double uniform_ratio_for_macs_target(const std::map<std::string, std::int64_t>& layer_macs, std::int64_t total_macs,
                                     double target_reduction, double tolerance) {
  check_total("uniform_ratio_for_macs_target", total_macs);
  std::int64_t selected = 0;
  for (const auto& [layer, macs] : layer_macs) selected += macs;
  const double share = static_cast<double>(selected) / static_cast<double>(total_macs);
  check_target("uniform_ratio_for_macs_target", target_reduction);
  SHRINK_CHECK(target_reduction < share, "uniform_ratio_for_macs_target: the target MACs reduction ",
               percent(target_reduction), " is unreachable: the selected layers hold ", percent(share),
               " of the MACs, and one ratio < 1 for all of them removes less than that");
  return uniform_ratio_for_macs_target([share](double r) { return r * share; }, target_reduction, tolerance);
}

}  // namespace shrink::compression
