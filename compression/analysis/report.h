#pragma once
/// \file
/// The compression report: count_layers()' per-layer counts as an aligned text table and as
/// JSON. Both are deterministic (same counts, same bytes). Every MACs figure is per sample;
/// FLOPs = 2 × MACs, and the reports say so.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "compression/analysis/counting.h"

namespace shrink::compression {

/// An aligned text table, one row per layer, then a totals row and a line with the FLOPs, e.g.
/// (tests/compression/analysis/report_test.cpp):
///
///     layer  type         weight shape  sparsity  params left  params  MACs  eff. MACs
///     conv   Conv2d       [4, 1, 3, 3]    45.00%           22      40   576        288
///     bn     BatchNorm2d  [4]              0.00%            8       8     -          -
///     fc     Linear       [3, 16]         23.53%           39      51    48         36
///     total                               30.30%           69      99   624        324
///     per sample: MACs 624 dense, 324 effective; FLOPs = 2 x MACs: 1,248 dense, 648 effective
///
/// Sparsity has two decimals; integers have thousands separators; a layer without MACs
/// (BatchNorm) shows "-" in the MACs columns, a layer without weight "-" as its shape.
std::string report_table(const std::vector<LayerCount>& layers);

/// The same as JSON:
///
///     {"unit": "per sample; flops = 2 * macs",
///      "layers": [{"name", "type", "weight_shape": [..], "input_shape": [..],
///                  "output_shape": [..], "calls", "params", "nonzero_params", "sparsity",
///                  "macs", "effective_macs", "flops", "effective_flops"}, ...],
///      "totals": {"params", "nonzero_params", "sparsity", "macs", "effective_macs",
///                 "flops", "effective_flops"}}
///
/// Shapes are per sample (no batch dimension); sparsity is a fraction in [0, 1]; the rest are
/// integers. "flops" is always 2 × "macs".
nlohmann::json report_json(const std::vector<LayerCount>& layers);

}  // namespace shrink::compression
