// NaiveQuantizer: a growing per-tensor scale and truncation toward zero.
#include "compression/quantization/naive_quantizer.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/node.h"

namespace shrink::compression {

Tensor naive_quantize(const Tensor& w, float scale) {
  SHRINK_CHECK(std::isfinite(scale) && scale > 0.0f, "naive_quantize: expected a finite scale > 0, got ", scale);
  SHRINK_CHECK(w.dtype() == DType::Float32, "naive_quantize: expected a float32 weight, got ", dtype_name(w.dtype()));
  Tensor out = zeros(w.shape());
  const float* in = w.data<float>();
  float* o = out.data<float>();
  for (std::int64_t i = 0; i < w.numel(); ++i) o[i] = std::trunc(in[i] / scale) * scale;
  return record("naive_quantize", out, {w}, [](const Tensor& g) { return TensorList{g}; },
                {{"scale", double(scale)}});
}

NaiveQuantizer::NaiveQuantizer(nn::ModulePtr model, ConfigList config)
    : Quantizer("NaiveQuantizer", std::move(model), std::move(config), {"weight"},
                {"quant_types", "quant_bits", "quant_start_step"}) {}

QuantSpec NaiveQuantizer::default_spec(QuantType) const {
  QuantSpec s;
  s.scheme = QuantScheme::Symmetric;
  s.dtype = "int";
  return s;
}

void NaiveQuantizer::check_layer(const QuantizedLayer& layer) const {
  const QuantSpec& s = layer[QuantType::Weight];
  SHRINK_CHECK(s.bits == 8, name(), ": '", layer.name, "': expected quant_bits 8 (the naive quantizer is 8-bit only), got ",
               s.bits);
}

Tensor NaiveQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& weight) {
  auto& stored = layer.qparams[static_cast<std::size_t>(QuantType::Weight)];
  if (layer.frozen) return naive_quantize(weight, stored->scale.data<float>()[0]);
  if (steps() < layer.quant_start_step) return weight;
  const Tensor w = weight.detach();
  float amax = 0.0f;
  for (std::int64_t i = 0; i < w.numel(); ++i) amax = std::max(amax, std::fabs(w.data<float>()[i]));
  float scale = std::max(amax / 127.0f, 1.1920928955078125e-07f);
  if (stored) scale = std::max(scale, stored->scale.data<float>()[0]);
  stored = QParams{from_vector(std::vector<float>{scale}, {1}), zeros({1}), -1, layer[QuantType::Weight].range};
  return naive_quantize(weight, scale);
}

Tensor NaiveQuantizer::quantize_activation(QuantizedLayer&, QuantType, const Tensor& x) { return x; }

}  // namespace shrink::compression
