#pragma once
/// \file
/// Sensitivity analysis (PaddleSlim 2.x): how much a metric drops when one layer alone is pruned
/// at ratios 0.1 ... 0.9, and solvers that turn those curves into per-layer pruning ratios for a
/// target MACs reduction. docs/guide-pruning.md ("Sensitivity and reports") walks through it.
///
///     auto sens = compression::analyze_sensitivity(*model, {"features.0", "features.3"},
///                                                  evaluate_accuracy, prune_filters,
///                                                  {.cache_path = "sensitivity.json"});
///     auto counts = compression::count_layers(*model, {1, 1, 28, 28});
///     auto ratios = compression::ratios_for_macs_target(sens, compression::macs_by_layer(counts),
///                                                       compression::count_totals(counts).macs, 0.5);

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nn/module.h"

namespace shrink::compression {

/// Prunes the module `layer` (dotted name) of `model` at `ratio` (the fraction of its filters,
/// or of its weights, to remove). It must change only values (zero weights, fill an existing
/// mask buffer), not add or replace parameters, buffers or parametrizations: analyze_sensitivity
/// restores the values afterwards and refuses a structural change.
using LayerPruneFn = std::function<void(nn::Module& model, const std::string& layer, double ratio)>;
/// Evaluates the model; higher is better (e.g. top-1 accuracy). Must be positive for the
/// unpruned model, since the loss is relative to it.
using EvalFn = std::function<double(nn::Module& model)>;

/// Settings of analyze_sensitivity().
struct SensitivityOptions {
  /// The pruning ratios to measure, each in (0, 1), distinct; measured in increasing order.
  std::vector<double> ratios = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  /// A JSON file that holds every measurement so far (empty: no cache). It is rewritten
  /// atomically after every evaluation; a later call with the same model, layers and ratios
  /// resumes from it and evaluates only the missing points.
  std::string cache_path;
};

/// The measured curves.
struct Sensitivities {
  /// The metric of the unpruned model.
  double baseline = 0;
  /// The measured ratios, increasing.
  std::vector<double> ratios;
  /// Layer -> metric at each of `ratios`.
  std::map<std::string, std::vector<double>> metrics;
  /// Layer -> relative loss (baseline − metric) / baseline at each of `ratios` (negative when
  /// pruning improved the metric). The solvers read only `ratios` and `losses`.
  std::map<std::string, std::vector<double>> losses;
};

/// For each layer alone and each ratio: saves the model's parameters and buffers, calls
/// `prune(model, layer, ratio)`, evaluates, and restores every value bit-identically (also when
/// prune or eval throws). The baseline is evaluated once, before any pruning.
///
/// The cache (`opts.cache_path`) records the layers, the ratios and the model's fingerprint
/// (the names and shapes of its state and a checksum of its values); a cache made for another
/// model, another set of layers or other ratios is a ValueError naming the file and the
/// difference (delete the file to start over). Errors: an empty or duplicated layer list, a
/// name that is not a module of `model` (close names are suggested), ratios outside (0, 1) or
/// repeated, a baseline that is not positive and finite, a non-finite metric — ValueError; a
/// prune function that changes the model's structure — StateError; an exception from `prune` or
/// `eval` propagates with its type, its message prefixed with the layer and ratio.
Sensitivities analyze_sensitivity(nn::Module& model, const std::vector<std::string>& layers, const EvalFn& eval,
                                  const LayerPruneFn& prune, const SensitivityOptions& opts = {});

/// The largest ratio r in [0, ratios.back()] whose loss, linearly interpolated through (0, 0)
/// and the measured points (ratios[i], losses[i]), is at most `threshold` (0 when none is).
/// Curves are not extrapolated past the last measured ratio.
double max_ratio_within_loss(const std::vector<double>& ratios, const std::vector<double>& losses, double threshold);

/// Per-layer ratios that remove `target_reduction` (a fraction in (0, 1)) of `total_macs` with
/// the least predicted loss (PaddleSlim 2.x): binary search of a loss threshold L; each layer of
/// `sens` takes max_ratio_within_loss(L). The MACs removed by pruning layer l at ratio r are
/// modelled as r × layer_macs[l]. Two things make a measured reduction differ: the input
/// channels this removes from the next layer are not counted (that needs the dependency
/// analysis of speedup; a shrunk model removes more), and pruners prune floor(r · C) of C
/// channels (a masked model removes slightly less: vgg_small at a 0.5 target, 0.495 measured
/// with count_layers' effective MACs). The search stops when the modelled reduction is within 1e-9 of the target
/// (or after 200 halvings, when a non-monotone curve makes a layer's ratio jump); the result
/// never falls short of the target. ValueError when a layer of `sens` has no entry in
/// `layer_macs`, when total_macs is not positive, when the target is outside (0, 1), and when it
/// is unreachable (the message gives the most that pruning every layer at its largest measured
/// ratio removes).
std::map<std::string, double> ratios_for_macs_target(const Sensitivities& sens,
                                                     const std::map<std::string, std::int64_t>& layer_macs,
                                                     std::int64_t total_macs, double target_reduction);

/// Channel alignment (optional, after a solver): each layer of `ratios` with C = channels[layer]
/// output channels keeps C − floor(r·C) channels rounded up to a multiple of `align` (at most C),
/// and its ratio becomes (channels pruned) / C. Keeping whole multiples (e.g. 8) suits vectorised
/// kernels; since layers keep at least as many channels as asked, the MACs reduction can fall
/// slightly short of the solver's target. ValueError when `align` < 1 or a layer has no positive
/// channel count in `channels`.
std::map<std::string, double> align_ratios(const std::map<std::string, double>& ratios,
                                           const std::map<std::string, std::int64_t>& channels, std::int64_t align);

/// One ratio for every layer (PaddleSlim 1.x): binary search of r in (0, 1) until
/// `reduction_at(r)` (the measured fraction of MACs removed when every selected layer is pruned
/// at r; non-decreasing in r) is within `tolerance` of `target_reduction`. ValueError when the
/// target is outside (0, 1) or unreachable (reduction_at(0.999) is still short of it by more
/// than the tolerance).
double uniform_ratio_for_macs_target(const std::function<double(double ratio)>& reduction_at, double target_reduction,
                                     double tolerance = 0.01);

/// The same with the simple MACs model of ratios_for_macs_target(): pruning the layers of
/// `layer_macs` at r removes r × (their MACs) of `total_macs`.
double uniform_ratio_for_macs_target(const std::map<std::string, std::int64_t>& layer_macs, std::int64_t total_macs,
                                     double target_reduction, double tolerance = 0.01);

}  // namespace shrink::compression
