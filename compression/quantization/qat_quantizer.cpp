// QATQuantizer: weights from their current range, activations from moving averages.
#include "compression/quantization/qat_quantizer.h"

#include "autograd/error.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observer_registry.h"

namespace shrink::compression {

QATQuantizer::QATQuantizer(nn::ModulePtr model, ConfigList config)
    : Quantizer("QATQuantizer", std::move(model), std::move(config), {"weight", "input", "output"}) {}

void QATQuantizer::check_layer(const QuantizedLayer& layer) const {
  for (const QuantSpec& s : layer.spec)
    SHRINK_CHECK(!s.enabled || (s.bits >= 2 && s.bits <= 16), name(), ": '", layer.name,
                 "': expected quant_bits in [2, 16] for fake quantization, got ", s.bits);
}

std::unique_ptr<Observer> QATQuantizer::make_observer(const QuantizedLayer& layer, QuantType type) const {
  if (type == QuantType::Weight) return nullptr;  // weights: their current range, every forward
  const QuantSpec& s = layer[type];
  return compression::make_observer(s.observer.empty() ? "moving_average_min_max" : s.observer, observer_options(layer, type));
}

Tensor QATQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& weight) {
  const auto& stored = layer.qparams[static_cast<std::size_t>(QuantType::Weight)];
  if (layer.frozen) return fake_quantize(weight, *stored);
  if (steps() < layer.quant_start_step) return weight;
  if (!layer.module->is_training() && stored) return fake_quantize(weight, *stored);
  MinMaxObserver range(observer_options(layer, QuantType::Weight));
  range.observe(weight.detach());
  return quantize_with(layer, QuantType::Weight, weight, range.qparams());
}

Tensor QATQuantizer::quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) {
  const std::size_t i = static_cast<std::size_t>(type);
  if (layer.frozen) return fake_quantize(x, *layer.qparams[i]);
  Observer& observer = *layer.observers[i];
  const bool training = layer.module->is_training();
  if (training) observer.observe(x.detach());
  if (steps() < layer.quant_start_step) return x;
  if (!training) {
    if (layer.qparams[i]) return fake_quantize(x, *layer.qparams[i]);
    if (observer.empty()) return x;
  }
  return quantize_with(layer, type, x, observer.qparams());
}

}  // namespace shrink::compression
