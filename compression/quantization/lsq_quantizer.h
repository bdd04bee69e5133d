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
/// `quant_scheme` (per_tensor_symmetric only, the default; with learn_zero_point, inputs and
/// outputs are per_tensor_affine uint instead), `quant_dtype`, `quant_start_step`.
/// LSQOptions::learn_zero_point (LSQ+): each input and output also learns a zero point z, see
/// lsq_quantize_affine; z starts at qmin − round(min(v, 0)/s) (the observed minimum on qmin).
/// The calibration config and exports carry round(z) as its zero point, state_dict() also z.
/// calibration_config(): the scales as `<type>_scale` with zero point 0, and for activations
/// NNI's tracked_max = s·Qp, tracked_min = −tracked_max (with a learned zero point: the range
/// its scale and zero point cover). load_calibration_config() freezes the
/// loaded scales (the learned ones are then no longer used); state_dict() holds the learned
/// scales and load_state_dict() writes them back into the same tensors.

#include <map>
#include <utility>

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

/// LSQQuantizer's options.
struct LSQOptions {
  /// LSQ+ (Bhalgat et al. 2020): every quantized input and output also learns its zero point
  /// (see lsq_quantize_affine); they must be per_tensor_affine with quant_dtype uint (the
  /// default then). Weights stay symmetric with zero point 0.
  bool learn_zero_point = false;
};

/// v̂ = clamp(nearbyint(v·(1/s)), −qn, qp)·s with s = scale[0] ([1], finite, > 0), and LSQ's
/// gradients for v and for `scale` (the latter multiplied by `grad_factor`), see above.
/// ValueError for a bad scale (with a hint about the scale's learning rate) or qp ≤ −qn.
Tensor lsq_quantize(const Tensor& v, const Tensor& scale, std::int64_t qn, std::int64_t qp, float grad_factor);

/// LSQ with a learned zero point z (float32 [1]; PyTorch's learnable fake quantization):
/// zp = clamp(nearbyint(z), qmin, qmax), v̂ = (clamp(nearbyint(v·(1/s)) + zp, qmin, qmax) − zp)·s,
/// fake_quantize's value bit for bit (the affine form of LSQ+'s x̂ = clamp(round((v − β)/s))·s + β
/// with β = −zp·s). Gradients, "inside" meaning qmin ≤ nearbyint(v/s) + zp ≤ qmax: ∂v̂/∂v = 1
/// inside, 0 outside; ∂v̂/∂s = round(v/s) − v/s inside, qmin − zp below, qmax − zp above;
/// ∂v̂/∂z = 0 inside, −s outside (straight through the rounding of z); both sums multiplied by
/// `grad_factor`. ValueError for a bad scale or zero point (not finite).
Tensor lsq_quantize_affine(const Tensor& v, const Tensor& scale, const Tensor& zero_point, std::int64_t qmin,
                           std::int64_t qmax, float grad_factor);

class LSQQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight, input and output.
  LSQQuantizer(nn::ModulePtr model, ConfigList config, LSQOptions options = {});

  /// The learned scales, `<layer>.<type>_scale`, in layer order then weight, input, output,
  /// with learn_zero_point each activation's `<layer>.<type>_zero_point` after its scale.
  /// StateError before compress().
  std::vector<std::pair<std::string, Tensor>> named_parameters();
  std::vector<Tensor> parameters();

  nlohmann::json calibration_config() const override;
  /// With learn_zero_point, also `quantizer:<layer>:<type>:learned_zero_point` (the unrounded z).
  io::StateDict state_dict() const override;
  /// ValueError, before anything is loaded, when learn_zero_point is set and a learned zero point
  /// is missing, or not set and one is there.
  void load_state_dict(const io::StateDict& state) override;

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  std::unique_ptr<Observer> make_observer(const QuantizedLayer&, QuantType) const override { return nullptr; }
  QuantSpec default_spec(QuantType type) const override;
  void check_layer(const QuantizedLayer& layer) const override;

 private:
  bool learns_zero_point(QuantType type) const;
  /// The learned `what` ("scale" or "zero_point") of `type` of `layer` (made on first use, 1 or 0
  /// until initialised).
  Tensor& param(const QuantizedLayer& layer, QuantType type, const char* what);
  /// Writes the learned zero point, rounded and clamped, into the layer's stored qparams.
  void sync_zero_point(const QuantizedLayer& layer, QuantType type) const;
  Tensor learn(QuantizedLayer& layer, QuantType type, const Tensor& v, std::int64_t n);

  LSQOptions options_;
  std::map<std::string, Tensor> params_;
};

}  // namespace shrink::compression
