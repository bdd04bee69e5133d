// DoReFaQuantizer: tanh normalisation, k-bit rounding with a straight-through round.
#include "compression/quantization/dorefa_quantizer.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink::compression {

Tensor round_ste(const Tensor& x) {
  SHRINK_CHECK(x.dtype() == DType::Float32, "round_ste: expected a float32 input, got ", dtype_name(x.dtype()));
  Tensor out = zeros(x.shape());
  const float* in = x.data<float>();
  float* o = out.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i) o[i] = std::nearbyint(in[i]);
  return record("round_ste", out, {x}, [](const Tensor& g) { return TensorList{g}; });
}

Tensor dorefa_normalize(const Tensor& w) {
  const Tensor t = tanh(w);
  const Tensor m = clamp(max(abs(t)), 1.1920928955078125e-07f, std::nullopt);
  return add(div(t, mul(m, 2.0f)), 0.5f);
}

Tensor dorefa_quantize(const Tensor& w, int bits) {
  SHRINK_CHECK(bits >= 2 && bits <= 16, "dorefa_quantize: expected bits in [2, 16], got ", bits);
  const float n = static_cast<float>((1 << bits) - 1);
  return sub(mul(div(round_ste(mul(dorefa_normalize(w), n)), n), 2.0f), 1.0f);
}

DoReFaQuantizer::DoReFaQuantizer(nn::ModulePtr model, ConfigList config)
    : Quantizer("DoReFaQuantizer", std::move(model), std::move(config), {"weight"},
                {"quant_types", "quant_bits", "quant_start_step"}) {}

void DoReFaQuantizer::check_layer(const QuantizedLayer& layer) const {
  const int bits = layer[QuantType::Weight].bits;
  SHRINK_CHECK(bits >= 2 && bits <= 16, name(), ": '", layer.name, "': expected quant_bits in [2, 16], got ", bits,
               bits == 1 ? " (Hint: BNNQuantizer binarizes weights)" : "");
}

Tensor DoReFaQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& weight) {
  if (!layer.frozen && steps() < layer.quant_start_step) return weight;
  return dorefa_quantize(weight, layer[QuantType::Weight].bits);
}

Tensor DoReFaQuantizer::quantize_activation(QuantizedLayer&, QuantType, const Tensor& x) { return x; }

}  // namespace shrink::compression
