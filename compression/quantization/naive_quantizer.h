#pragma once
/// \file
/// NaiveQuantizer: NNI's naive 8-bit weight quantizer (SEMANTICS §1, "Quantizers").
///
/// \code
///   compression::NaiveQuantizer naive(model, compression::ConfigList::parse(R"([{
///       "op_types": ["Conv2d", "Linear"], "quant_types": ["weight"], "quant_bits": 8}])"));
///   naive.compress();
/// \endcode
///
/// Per weight tensor, one scale that only grows: s ← max(s_prev, max|w|/127) at every forward
/// (the first forward: s = max|w|/127; an all-zero weight floors s at 2^−23). The layer computes
/// with trunc(w/s)·s — truncation toward zero, not rounding, as NNI casts w/s to int8 — and the
/// gradient passes straight through (every w/s lies in [−127, 127], so nothing is clipped).
///
/// Settings: `quant_types` (weight only), `quant_bits` (8 only), `quant_start_step` (no
/// quantization before that many step() calls); the grid is fixed at per_tensor_symmetric `int`
/// [−127, 127], which the calibration config and the int8 export record. After
/// load_calibration_config() the scale is frozen at the loaded value.

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

/// trunc(w / scale) · scale in float32 (w / scale a true division), with the straight-through
/// gradient dw = dy. ValueError unless scale is finite and > 0.
Tensor naive_quantize(const Tensor& w, float scale);

class NaiveQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight only.
  NaiveQuantizer(nn::ModulePtr model, ConfigList config);

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer&, QuantType) const override { return nullptr; }
  QuantSpec default_spec(QuantType type) const override;
  void check_layer(const QuantizedLayer& layer) const override;
};

}  // namespace shrink::compression
