// PTQQuantizer: observe during calibration, then freeze.
#include "compression/quantization/ptq_quantizer.h"

#include <map>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/modules/conv.h"
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

std::int64_t PTQQuantizer::correct_bias(const std::function<void()>& run_batches) {
  SHRINK_CHECK_T(StateError, calibrated_, name(), ".correct_bias: calibrate first (the error is measured with the "
                 "frozen quantization)");
  struct Error {
    Tensor sum;  // per output channel, over batches
    std::int64_t count = 0;
  };
  std::map<QuantizedLayer*, Error> errors;
  std::vector<HookHandle> hooks;
  for (const auto& layer : layers()) {
    nn::Module& m = *layer->module;
    if (!(*layer)[QuantType::Weight].enabled || !m.has_param("bias") || (layer->type != "Conv2d" && layer->type != "Linear"))
      continue;
    QuantizedLayer* l = layer.get();
    errors[l] = Error{zeros({m.param("bias").numel()}), 0};
    hooks.push_back(m.register_forward_hook([this, l, &errors](nn::Module& mod, const Tensor& x, const Tensor&) {
      NoGradGuard no_grad;
      // The weight the quantization receives: after a pruning mask, if any.
      Tensor w = mod.param("weight");
      if (mod.has_buffer("weight_mask")) w = mul(w, mod.buffer("weight_mask"));
      const Tensor wq = fake_quantize(w, *l->qparams[0]);
      Tensor diff;
      if (const auto* conv = mod.as<nn::Conv2d>()) {
        const Tensor full = sub(conv2d(x, w, Tensor(), conv->params()), conv2d(x, wq, Tensor(), conv->params()));
        diff = sum(full, {0, 2, 3});
        errors[l].count += full.size(0) * full.size(2) * full.size(3);
      } else {
        const Tensor full = sub(linear(x, w), linear(x, wq));
        diff = sum(reshape(full, {-1, full.size(-1)}), {0});
        errors[l].count += full.numel() / full.size(-1);
      }
      errors[l].sum = add(errors[l].sum, diff);
    }));
  }
  try {
    run_batches();
  } catch (...) {
    for (auto& h : hooks) h.remove();
    throw;
  }
  for (auto& h : hooks) h.remove();
  NoGradGuard no_grad;
  std::int64_t corrected = 0;
  for (auto& [layer, e] : errors) {
    if (e.count == 0) continue;
    layer->module->param("bias").add_(div(e.sum, static_cast<float>(e.count)));
    ++corrected;
  }
  return corrected;
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
