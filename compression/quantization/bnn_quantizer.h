#pragma once
/// \file
/// BNNQuantizer: binarized weights and activations (Courbariaux et al. 2016; NNI's
/// BNNQuantizer; SEMANTICS §1, "Quantizers").
///
/// \code
///   compression::BNNQuantizer bnn(model, compression::ConfigList::parse(R"([
///       {"op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "output"], "quant_bits": 1}])"));
///   bnn.compress();
///   for (...) { loss.backward(); opt.step(); bnn.step(); }   // step() clips the latent weights
/// \endcode
///
/// Weights and outputs become sign(x) ∈ {−1, +1}, with sign(0) = +1. Gradients: weights take
/// the plain straight-through estimator (dw = dy); outputs the clipped one of the paper,
/// dx = dy where |x| ≤ 1 and 0 where |x| > 1 (the derivative of hardtanh).
///
/// Latent weights: after each step() the raw (float) weights of every layer whose weight is
/// binarized are clipped to [−1, 1] in place, as the paper and NNI's BNNQuantizer do — beyond ±1
/// a latent weight would never change sign again under the plain STE. Only steps taken while
/// the layer was binarized clip (not those before `quant_start_step`).
///
/// Settings: `quant_types` (weight, output), `quant_bits` (1, the default), `quant_start_step`.
/// No scale or zero point: the calibration config holds `<type>_bits` only (as NNI's) and the
/// int8 export leaves the weights in float32 (already ±1).

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

/// sign(x) with sign(0) = +1. Gradient: dy (plain straight-through), or with `clip_gradient`
/// dy where |x| ≤ 1 and 0 elsewhere.
Tensor binarize(const Tensor& x, bool clip_gradient);

class BNNQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight and output.
  BNNQuantizer(nn::ModulePtr model, ConfigList config);

  /// Counts the step, then clips the latent weights to [−1, 1] (see above).
  void step() override;

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer&, QuantType) const override { return nullptr; }
  QuantSpec default_spec(QuantType type) const override;
  bool uses_qparams(QuantType) const override { return false; }
  void check_layer(const QuantizedLayer& layer) const override;
};

}  // namespace shrink::compression
