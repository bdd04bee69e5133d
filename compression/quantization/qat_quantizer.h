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

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

class QATQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight, input and output.
  QATQuantizer(nn::ModulePtr model, ConfigList config);

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer& layer, QuantType type) const override;
  void check_layer(const QuantizedLayer& layer) const override;
};

}  // namespace shrink::compression
