#pragma once
/// \file
/// DoReFaQuantizer: k-bit DoReFa weight quantization (Zhou et al. 2016; NNI's DoReFaQuantizer;
/// SEMANTICS §1, "Quantizers").
///
/// \code
///   compression::DoReFaQuantizer dorefa(model, compression::ConfigList::parse(R"([{
///       "op_types": ["Conv2d", "Linear"], "quant_types": ["weight"], "quant_bits": 4}])"));
///   dorefa.compress();
/// \endcode
///
/// The layer computes with ŵ = 2·q − 1, q = round(w'·n)/n, n = 2^k − 1,
/// w' = tanh(w) / (2·max|tanh(w)|) + 0.5 (round half to even; max|tanh(w)| is floored at 2^−23
/// so that an all-zero weight gives a finite ŵ). ŵ takes the 2^k values −1, −1 + 2/n, ..., 1.
///
/// Gradient: the straight-through estimator replaces the round only (the paper's choice):
/// dŵ/dw = 2·dw'/dw, with the tanh and the max|tanh(w)| normalisation differentiated exactly.
/// NNI instead passes dy straight to w (it computes ŵ from a detached copy). We follow the paper
/// because the normalisation is smooth and its true derivative is known: it damps the gradient
/// of large weights (1 − tanh²) and couples every weight to the largest one, which is what the
/// method is; an identity gradient would ignore the transform the forward applied.
///
/// Settings: `quant_types` (weight only), `quant_bits` (2..16), `quant_start_step`. DoReFa's
/// values have no integral zero point (ŵ = (j − n/2)·2/n), so it keeps no qparams: the
/// calibration config holds `weight_bits` only (as NNI's) and the int8 export leaves the weight
/// in float32. ŵ is a function of w alone, so loading a calibration config changes nothing.

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

/// nearbyint(x) (half to even) with the straight-through gradient dx = dy.
Tensor round_ste(const Tensor& x);

/// w' = tanh(w) / (2·max(max|tanh(w)|, 2^−23)) + 0.5, differentiable (built from autograd ops).
Tensor dorefa_normalize(const Tensor& w);

/// ŵ = 2·round_ste(w'·n)/n − 1 with n = 2^bits − 1. ValueError unless 2 ≤ bits ≤ 16.
Tensor dorefa_quantize(const Tensor& w, int bits);

class DoReFaQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight only.
  DoReFaQuantizer(nn::ModulePtr model, ConfigList config);

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer&, QuantType) const override { return nullptr; }
  bool uses_qparams(QuantType) const override { return false; }
  void check_layer(const QuantizedLayer& layer) const override;
};

}  // namespace shrink::compression
