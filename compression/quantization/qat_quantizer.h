#pragma once
/// \file
/// QATQuantizer: quantization-aware training (NNI's QAT_Quantizer; Jacob et al. 2018).
///
/// In training, weights are fake-quantized with qparams from their current range at every
/// forward; inputs and outputs feed a moving-average min-max observer (constant 0.01: the first
/// batch sets the range, then m ← m + 0.01·(cur − m), which is NNI's EMA 0.99·m + 0.01·cur up to
/// float rounding; another observer can be named in the config_list) and are fake-quantized with
/// its qparams. Before `quant_start_step` optimizer steps (step()) nothing is quantized, but the
/// activation statistics still update. In eval mode the statistics stay as they are and the
/// qparams last used in training are used (an activation never quantized in training passes
/// through unchanged).
///
/// **Conv-BN folding** (QATOptions::fold_bn, pairs from speedup::conv_bn_pairs): the conv then
/// computes as the BatchNorm-folded conv it will become at inference, PyTorch's ConvBn2d way:
/// with sf = γ/√(running_var + eps), y = conv(x, fq(W·sf)) / sf + b, then the BatchNorm runs as
/// before (batch statistics in training, running ones in eval). The fake quantization sees the
/// folded weight W·sf, as an int8 conv-bn kernel will. export_model() writes the unfolded model:
/// weight fq(W·sf)/sf re-expressed on the per-channel grid scale/sf (so the int8 file and the
/// float export agree bit for bit), the conv's own bias and the BatchNorm unchanged; the
/// calibration config describes that unfolded weight. Folding needs per-channel weight
/// quantization (per-tensor scales do not survive the division by sf) and no output quantization
/// on the conv (its output would be taken before the BatchNorm).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

struct QATOptions {
  /// (Conv2d, BatchNorm2d) dotted names whose BatchNorm follows the conv directly.
  std::vector<std::pair<std::string, std::string>> fold_bn;
};

class QATQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight, input and output.
  QATQuantizer(nn::ModulePtr model, ConfigList config, QATOptions options = {});

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer& layer, QuantType type) const override;
  void check_layer(const QuantizedLayer& layer) const override;
  void on_compress() override;
  Tensor exported_weight(const QuantizedLayer& layer) const override;
  QParams exported_weight_qparams(const QuantizedLayer& layer) const override;

 private:
  /// A folded conv: its BatchNorm and the conv bias of the current forward.
  struct Fold {
    nn::ModulePtr bn;
    Tensor bias;  ///< set by the bias parametrization at every forward (undefined without bias)
  };
  /// γ/√(running_var + eps) of the fold's BatchNorm ([C], differentiable in γ).
  static Tensor scale_factor(const Fold& fold);
  const Fold* fold_of(const QuantizedLayer& layer) const;

  QATOptions options_;
  std::map<std::string, Fold> folds_;  ///< by conv name; std::map keeps the addresses hooks hold
};

}  // namespace shrink::compression
