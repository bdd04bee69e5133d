#pragma once
/// \file
/// Pruning criteria that need only the weights (SEMANTICS §2, "Criteria"). Each returns an
/// importance per unit: higher = kept. The pruners and the sensitivity analysis share them.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::compression {

/// |w| per element (LevelPruner): the weight's shape.
Tensor magnitude(const Tensor& weight);

/// The Lp norm (p = 1 or 2) of each output channel: dim 0 over all the others ([C_out]).
/// L1NormPruner and L2NormPruner rank Conv2d filters and Linear rows by it.
Tensor channel_norms(const Tensor& weight, int p);

/// FPGM (He et al. 2019): for each output channel, the sum of the L2 distances from its filter to
/// every other filter of the layer ([C_out]). The filters closest to the geometric median (the
/// smallest sums) are the most replaceable, so they rank lowest.
Tensor geometric_median_distances(const Tensor& weight);

/// Flat indices of the `k` lowest values of `metric` (clamped to [0, numel]); ties go to the
/// lower index, NaN ranks lowest. Every pruner's "prune the k least important units".
std::vector<std::int64_t> lowest_units(const Tensor& metric, std::int64_t k);

}  // namespace shrink::compression
