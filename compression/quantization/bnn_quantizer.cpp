// BNNQuantizer: sign with straight-through gradients, latent weights clipped after each step.
#include "compression/quantization/bnn_quantizer.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace shrink::compression {

Tensor binarize(const Tensor& x, bool clip_gradient) {
  SHRINK_CHECK(x.dtype() == DType::Float32, "binarize: expected a float32 input, got ", dtype_name(x.dtype()));
  Tensor out = zeros(x.shape());
  const float* in = x.data<float>();
  float* o = out.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) o[i] = in[i] >= 0.0f ? 1.0f : -1.0f;
  if (!clip_gradient) return record("binarize", out, {x}, [](const Tensor& g) { return TensorList{g}; });
  Tensor inside = zeros(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) inside.data<float>()[i] = std::fabs(in[i]) <= 1.0f ? 1.0f : 0.0f;
  return record("binarize", out, {x}, [inside](const Tensor& g) { return TensorList{g * inside}; },
                {{"clip_gradient", true}});
}

BNNQuantizer::BNNQuantizer(nn::ModulePtr model, ConfigList config)
    : Quantizer("BNNQuantizer", std::move(model), std::move(config), {"weight", "output"},
                {"quant_types", "quant_bits", "quant_start_step"}) {}

QuantSpec BNNQuantizer::default_spec(QuantType) const {
  QuantSpec s;
  s.bits = 1;
  return s;
}

void BNNQuantizer::check_layer(const QuantizedLayer& layer) const {
  for (QuantType t : {QuantType::Weight, QuantType::Output}) {
    const QuantSpec& s = layer[t];
    SHRINK_CHECK(!s.enabled || s.bits == 1, name(), ": '", layer.name, "': expected ", quant_type_name(t),
                 " quant_bits 1 (sign binarization), got ", s.bits);
  }
}

void BNNQuantizer::step() {
  Quantizer::step();
  NoGradGuard no_grad;
  for (const auto& layer : layers())
    if ((*layer)[QuantType::Weight].enabled && (layer->frozen || steps() - 1 >= layer->quant_start_step))
      layer->module->param("weight").clamp_(-1.0f, 1.0f);
}

Tensor BNNQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& weight) {
  if (!layer.frozen && steps() < layer.quant_start_step) return weight;
  return binarize(weight, false);
}

Tensor BNNQuantizer::quantize_activation(QuantizedLayer& layer, QuantType, const Tensor& x) {
  if (!layer.frozen && steps() < layer.quant_start_step) return x;
  return binarize(x, true);
}

}  // namespace shrink::compression
