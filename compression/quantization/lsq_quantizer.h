#pragma once
/// \file
/// LSQQuantizer: learned step size quantization (Esser et al. 2019, "Learned Step Size
/// Quantization"; NNI's LsqQuantizer; SEMANTICS §1, "Quantizers").
///
/// \code
///   compression::LSQQuantizer lsq(model, compression::ConfigList::parse(R"([{
///       "op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input"], "quant_bits": 4}])"));
///   lsq.compress();
///   optim::SGD opt({{model->named_parameters(), {}}, {lsq.named_parameters(), {}}}, {.lr = 0.01});
///   for (...) { loss.backward(); opt.step(); lsq.step(); }
/// \endcode
///
/// Every quantized tensor v has its own learned scale s (a [1] leaf tensor that requires grad):
/// v̂ = round(clamp(v/s, −Qn, Qp))·s, computed as fake quantization's kernel does with zero
/// point 0 (v·(1/s) in float32, rounded half to even, then clamped — the same value, so a frozen
/// or exported LSQ model computes bit for bit what the learned one did).
/// Gradients (the paper's straight-through estimators; "inside" means the rounded value lies on
/// the grid, as in PyTorch's learnable fake quantization): ∂v̂/∂v = 1 inside, 0 outside;
/// ∂v̂/∂s = round(v/s) − v/s inside, −Qn below, Qp above, the sum over the tensor multiplied by
/// g = 1/√(N·Qp), N = the weight's element count, or for an activation its features per sample
/// (numel / batch size).
/// Grid: quant_dtype `int_full` (the default; Qn = 2^(b−1), Qp = 2^(b−1) − 1), `uint` (Qn = 0,
/// Qp = 2^b − 1) or `int` (Qn = Qp = 2^(b−1) − 1). Initialisation at the first quantized
/// forward: s = 2·mean|v|/√Qp (floored at 2^−23).
///
/// The optimizer: the scales are not registered on the model (its state_dict, export_model's
/// model file and checkpoints stay loadable into a plain model); parameters() and
/// named_parameters() (names `<layer>.<type>_scale`, NNI's) give them, valid from compress() on
/// (set to 1 until the first forward initialises them in place). Give them to the optimizer
/// with the model's parameters, as above, or as their own group (e.g. without weight decay).
///
/// Settings: `quant_types` (weight, input, output), `quant_bits` (2..16, default 8),
/// `quant_scheme` (per_tensor_symmetric only, the default), `quant_dtype`, `quant_start_step`.
/// calibration_config(): the scales as `<type>_scale` with zero point 0, and for activations
/// NNI's tracked_max = s·Qp, tracked_min = −tracked_max. load_calibration_config() freezes the
/// loaded scales (the learned ones are then no longer used); state_dict() holds the learned
/// scales and load_state_dict() writes them back into the same tensors.

#include <map>
#include <utility>

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

/// v̂ = clamp(nearbyint(v·(1/s)), −qn, qp)·s with s = scale[0] ([1], finite, > 0), and LSQ's
/// gradients for v and for `scale` (the latter multiplied by `grad_factor`), see above.
/// ValueError for a bad scale (with a hint about the scale's learning rate) or qp ≤ −qn.
Tensor lsq_quantize(const Tensor& v, const Tensor& scale, std::int64_t qn, std::int64_t qp, float grad_factor);

class LSQQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight, input and output.
  LSQQuantizer(nn::ModulePtr model, ConfigList config);

  /// The learned scales, `<layer>.<type>_scale`, in layer order then weight, input, output.
  /// StateError before compress().
  std::vector<std::pair<std::string, Tensor>> named_parameters();
  std::vector<Tensor> parameters();

  nlohmann::json calibration_config() const override;
  void load_state_dict(const io::StateDict& state) override;

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer&, QuantType) const override { return nullptr; }
  QuantSpec default_spec(QuantType type) const override;
  void check_layer(const QuantizedLayer& layer) const override;

 private:
  /// The learned scale of `type` of `layer` (made on first use, 1 until initialised).
  Tensor& scale(const QuantizedLayer& layer, QuantType type);
  Tensor learn(QuantizedLayer& layer, QuantType type, const Tensor& v, std::int64_t n);

  std::map<std::string, Tensor> scales_;
};

}  // namespace shrink::compression
