#pragma once
/// \file
/// PTQQuantizer: post-training quantization. Observers watch the model on calibration batches
/// (in eval mode, nothing quantized meanwhile); then every scale and zero point is computed
/// once and frozen, and the model computes with fake-quantized weights and activations.
///
/// \code
///   compression::PTQQuantizer ptq(model, config);
///   ptq.compress();
///   ptq.calibrate([&] { for (const auto& batch : calibration) (*model)(batch.input); });
///   // evaluate, export_model(...)
/// \endcode
///
/// Observers: the config_list's `observer` per quant type (compression/quantization/
/// observer_registry.h), `min_max` where none is named. Weights are observed once, when the
/// calibration ends, as the layer computes with them (after any pruning mask).

#include <functional>

#include "compression/quantization/quantizer.h"

namespace shrink::compression {

class PTQQuantizer : public Quantizer {
 public:
  /// Accepts quant_types weight, input and output.
  PTQQuantizer(nn::ModulePtr model, ConfigList config);

  /// Starts observing: forwards feed the activation observers and are not quantized. The
  /// model is put in eval mode. StateError before compress() or when already calibrated.
  void begin_calibration();
  /// Observes the weights, computes and freezes every qparams. StateError without
  /// begin_calibration(), or when an activation saw no batch (naming the layer).
  void end_calibration();
  /// begin_calibration(), `run_batches()`, end_calibration().
  void calibrate(const std::function<void()>& run_batches);
  /// Bias correction (Nagel et al. 2019, "empirical"): runs `run_batches()` once more and adds
  /// to the bias of every Conv2d / Linear with a quantized weight the mean, per output channel,
  /// of the error its weight quantization makes on those batches: F(x, W) − F(x, fq(W)) for the
  /// layer's actual (already quantized upstream) input x. Layers without a bias are left as
  /// they are. StateError before calibration. Returns how many biases were corrected.
  std::int64_t correct_bias(const std::function<void()>& run_batches);
  bool is_calibrating() const { return calibrating_; }
  bool is_calibrated() const { return calibrated_; }

 protected:
  Tensor quantize_weight(QuantizedLayer& layer, const Tensor& weight) override;
  Tensor quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) override;
  void check_layer(const QuantizedLayer& layer) const override;

 private:
  bool calibrating_ = false;
  bool calibrated_ = false;
};

}  // namespace shrink::compression
