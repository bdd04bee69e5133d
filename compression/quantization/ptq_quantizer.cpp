// PTQQuantizer: observe during calibration, then freeze.
#include "compression/quantization/ptq_quantizer.h"

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "compression/quantization/fake_quant.h"

namespace shrink::compression {

PTQQuantizer::PTQQuantizer(nn::ModulePtr model, ConfigList config)
    : Quantizer("PTQQuantizer", std::move(model), std::move(config), {"weight", "input", "output"}) {}

void PTQQuantizer::check_layer(const QuantizedLayer& layer) const {
  for (const QuantSpec& s : layer.spec)
    SHRINK_CHECK(!s.enabled || (s.bits >= 2 && s.bits <= 16), name(), ": '", layer.name,
                 "': expected quant_bits in [2, 16] for fake quantization, got ", s.bits);
}

void PTQQuantizer::begin_calibration() {
  require_compressed("begin_calibration");
  SHRINK_CHECK_T(StateError, !calibrated_ && !calibrating_, name(), ".begin_calibration: ",
                 calibrated_ ? "already calibrated (build a new quantizer to calibrate again)"
                             : "already calibrating (call end_calibration())");
  model().eval();
  calibrating_ = true;
}

void PTQQuantizer::end_calibration() {
  SHRINK_CHECK_T(StateError, calibrating_, name(), ".end_calibration: call begin_calibration() first");
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output})
      if ((*layer)[t].enabled)
        SHRINK_CHECK_T(StateError, !layer->observers[static_cast<std::size_t>(t)]->empty(), name(),
                       ".end_calibration: the ", quant_type_name(t), " of '", layer->name,
                       "' saw no batch (Hint: run the calibration batches through the model between "
                       "begin_calibration() and end_calibration())");
  NoGradGuard no_grad;
  for (const auto& layer : layers()) {
    if ((*layer)[QuantType::Weight].enabled) {
      // Still calibrating: the weight parametrization passes the (masked) weight through.
      Observer& o = *layer->observers[static_cast<std::size_t>(QuantType::Weight)];
      o.observe(layer->module->param_value("weight"));
      layer->qparams[0] = o.qparams();
    }
    for (QuantType t : {QuantType::Input, QuantType::Output})
      if ((*layer)[t].enabled) layer->qparams[static_cast<std::size_t>(t)] = layer->observers[static_cast<std::size_t>(t)]->qparams();
    layer->frozen = true;
  }
  calibrating_ = false;
  calibrated_ = true;
}

void PTQQuantizer::calibrate(const std::function<void()>& run_batches) {
  begin_calibration();
  run_batches();
  end_calibration();
}

Tensor PTQQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& weight) {
  if (!layer.frozen) return weight;
  return fake_quantize(weight, *layer.qparams[0]);
}

Tensor PTQQuantizer::quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) {
  const std::size_t i = static_cast<std::size_t>(type);
  if (layer.frozen) return fake_quantize(x, *layer.qparams[i]);
  if (calibrating_) layer.observers[i]->observe(x.detach());
  return x;
}

}  // namespace shrink::compression
