#pragma once
/// \file
/// Counting a model's parameters and multiply-accumulates (MACs) per layer, dense and after
/// pruning: what the compression report (report.h) prints and what the sensitivity solver
/// (sensitivity.h) budgets.
///
/// Definitions (docs/guide-pruning.md, "Sensitivity and reports"): per sample,
///   Conv2d MACs = H_out·W_out·C_out·(C_in/groups)·K_h·K_w = H_out·W_out·(weight elements),
///   Linear MACs = in·out (times the rows of a Linear applied to [N, *, in]),
/// and FLOPs = 2 × MACs. "Effective" MACs count only the nonzero elements of the effective
/// weight (`param_value("weight")`, i.e. with a pruner's mask applied). BatchNorm layers are
/// counted for their parameters only (0 MACs). A module called several times in one forward
/// (shared) contributes the MACs of every call.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"

namespace shrink::compression {

/// The counts of one Conv2d, Linear or BatchNorm (1d/2d) module.
struct LayerCount {
  std::string name;         ///< dotted name in the model ("features.0")
  std::string type;         ///< the module's type name ("Conv2d", "Linear", "BatchNorm2d")
  Shape weight_shape;       ///< the raw weight's shape; empty for a BatchNorm without affine
  Shape input_shape;        ///< the input of its first call, without the batch dimension
  Shape output_shape;       ///< the output of its first call, without the batch dimension
  bool has_macs = false;    ///< Conv2d or Linear (true); BatchNorm (false: parameters only)
  std::int64_t calls = 0;   ///< how often the forward called it (0: not used by forward)
  std::int64_t params = 0;  ///< elements of weight + bias
  /// The parameters left: nonzero elements of the effective weight, plus the bias elements
  /// except those a parametrization (a pruner's bias_mask) zeroes; an unmasked bias of 0
  /// (BatchNorm's default) is an ordinary value, not a pruned one.
  std::int64_t nonzero_params = 0;
  std::int64_t macs = 0;            ///< dense MACs per sample, summed over the calls
  std::int64_t effective_macs = 0;  ///< MACs of the nonzero effective weights only
  /// 1 − nonzero_params / params (0 for a layer without parameters).
  double sparsity() const;
  std::int64_t flops() const { return 2 * macs; }
  std::int64_t effective_flops() const { return 2 * effective_macs; }
};

/// Sums over layers. FLOPs = 2 × MACs.
struct CountTotals {
  std::int64_t params = 0;
  std::int64_t nonzero_params = 0;
  std::int64_t macs = 0;
  std::int64_t effective_macs = 0;
  /// 1 − nonzero_params / params over the counted layers (0 when there are none).
  double sparsity() const;
  std::int64_t flops() const { return 2 * macs; }
  std::int64_t effective_flops() const { return 2 * effective_macs; }
};

/// Runs one forward pass of a zero tensor of `input_shape` (batch dimension first; any batch
/// size, counts are per sample) in eval mode with recording off, and returns the counts of
/// every Conv2d, Linear and BatchNorm module in the order of `model.named_modules()`. Forward
/// hooks record the shapes; they are removed and every module's train/eval mode is restored
/// afterwards, also when the forward throws. Errors: a shape without batch dimension or with a
/// size < 1 is a ValueError; an input the model rejects rethrows the model's own error (same
/// type) with "count_layers: " before its message.
std::vector<LayerCount> count_layers(nn::Module& model, const Shape& input_shape);

/// The sums of `layers`' params, nonzero params, MACs and effective MACs.
CountTotals count_totals(const std::vector<LayerCount>& layers);

/// Name -> dense MACs of the layers that have MACs (Conv2d, Linear): the budget that
/// ratios_for_macs_target() and uniform_ratio_for_macs_target() take.
std::map<std::string, std::int64_t> macs_by_layer(const std::vector<LayerCount>& layers);

}  // namespace shrink::compression
