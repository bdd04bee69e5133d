#pragma once
/// \file
/// Pruning one layer in place, for sensitivity analysis (compression/analysis/sensitivity.h):
/// the criteria of the pruners as LayerPruneFn values.
///
/// \code
///   auto sens = compression::analyze_sensitivity(*model, {"features.0", "features.3"}, eval,
///                                                compression::filter_pruning(1), {.cache_path = "sens.json"});
/// \endcode

#include "compression/analysis/sensitivity.h"

namespace shrink::compression {

/// Zeroes the floor(ratio · C) output channels of the layer's weight with the lowest Lp norm
/// (p = 1, PaddleSlim's criterion, or 2) and their bias entries — what L1NormPruner or
/// L2NormPruner would mask at that sparsity. The layer must have a weight with an output-channel
/// dim 0 (Conv2d, Linear); ValueError otherwise.
LayerPruneFn filter_pruning(int p = 1);

/// Zeroes the floor(ratio · n) weights of the layer with the smallest |w| (LevelPruner's choice).
LayerPruneFn level_pruning();

}  // namespace shrink::compression
