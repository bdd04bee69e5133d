// LSQQuantizer: a learned scale per quantized tensor, with LSQ's step-size gradient.
#include "compression/quantization/lsq_quantizer.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "compression/quantization/fake_quant.h"

namespace shrink::compression {

Tensor lsq_quantize(const Tensor& v, const Tensor& scale, std::int64_t qn, std::int64_t qp, float grad_factor) {
  SHRINK_CHECK(v.dtype() == DType::Float32 && scale.dtype() == DType::Float32 && scale.numel() == 1,
               "lsq_quantize: expected a float32 input and a float32 scale of one element, got ",
               dtype_name(v.dtype()), " and ", dtype_name(scale.dtype()), " ", shape_str(scale.shape()));
  SHRINK_CHECK(qp > -qn, "lsq_quantize: expected -qn < qp, got qn ", qn, " and qp ", qp);
  const float s = scale.data<float>()[0];
  SHRINK_CHECK(std::isfinite(s) && s > 0.0f, "lsq_quantize: expected a finite scale > 0, got ", s,
               " (Hint: a learned scale that left (0, inf) had too large a learning rate)");
  // Zero point 0 added and subtracted as fake_quantize's kernel does (it turns −0 into +0).
  const float inv = 1.0f / s, zp = 0.0f, lo = static_cast<float>(-qn), hi = static_cast<float>(qp);
  Tensor out = zeros(v.shape()), inside = zeros(v.shape()), ds_per_element = zeros(v.shape());
  const float* in = v.data<float>();
  float* o = out.data<float>();
  float* m = inside.data<float>();
  float* d = ds_per_element.data<float>();
  for (std::int64_t i = 0; i < v.numel(); ++i) {
    const float x = in[i] * inv, q = std::nearbyint(x) + zp;
    o[i] = (std::fmin(std::fmax(q, lo), hi) - zp) * s;
    m[i] = (q >= lo && q <= hi) ? 1.0f : 0.0f;
    d[i] = q < lo ? lo : q > hi ? hi : q - x;
  }
  return record(
      "lsq_quantize", out, {v, scale},
      [inside, ds_per_element, grad_factor](const Tensor& g) {
        const float* gd = g.data<float>();
        const float* dd = ds_per_element.data<float>();
        double acc = 0;
        for (std::int64_t i = 0; i < g.numel(); ++i) acc += static_cast<double>(gd[i]) * dd[i];
        return TensorList{g * inside, from_vector(std::vector<float>{static_cast<float>(acc * grad_factor)}, {1})};
      },
      {{"qn", qn}, {"qp", qp}, {"grad_factor", double(grad_factor)}});
}

LSQQuantizer::LSQQuantizer(nn::ModulePtr model, ConfigList config)
    : Quantizer("LSQQuantizer", std::move(model), std::move(config), {"weight", "input", "output"},
                {"quant_types", "quant_bits", "quant_scheme", "quant_dtype", "quant_start_step"}) {}

QuantSpec LSQQuantizer::default_spec(QuantType) const {
  QuantSpec s;
  s.scheme = QuantScheme::Symmetric;
  s.dtype = "int_full";
  return s;
}

void LSQQuantizer::check_layer(const QuantizedLayer& layer) const {
  for (QuantType t : {QuantType::Weight, QuantType::Input, QuantType::Output}) {
    const QuantSpec& s = layer[t];
    if (!s.enabled) continue;
    SHRINK_CHECK(s.bits >= 2 && s.bits <= 16, name(), ": '", layer.name, "': expected ", quant_type_name(t),
                 " quant_bits in [2, 16], got ", s.bits);
    SHRINK_CHECK(!s.per_channel && s.scheme == QuantScheme::Symmetric, name(), ": '", layer.name, "': expected ",
                 quant_type_name(t), " quant_scheme per_tensor_symmetric (one learned scale, zero point 0), got ",
                 s.scheme_name());
  }
}

Tensor& LSQQuantizer::scale(const QuantizedLayer& layer, QuantType type) {
  const std::string key = layer.name + "." + quant_type_name(type) + "_scale";
  auto it = scales_.find(key);
  if (it == scales_.end()) {
    Tensor s = ones({1});
    s.requires_grad_(true);
    it = scales_.emplace(key, s).first;
  }
  return it->second;
}

std::vector<std::pair<std::string, Tensor>> LSQQuantizer::named_parameters() {
  require_compressed("named_parameters");
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Weight, QuantType::Input, QuantType::Output})
      if ((*layer)[t].enabled) out.emplace_back(layer->name + "." + quant_type_name(t) + "_scale", scale(*layer, t));
  return out;
}

std::vector<Tensor> LSQQuantizer::parameters() {
  std::vector<Tensor> out;
  for (auto& [name, s] : named_parameters()) out.push_back(s);
  return out;
}

Tensor LSQQuantizer::learn(QuantizedLayer& layer, QuantType type, const Tensor& v, std::int64_t n) {
  auto& stored = layer.qparams[static_cast<std::size_t>(type)];
  if (layer.frozen) return fake_quantize(v, *stored);
  if (steps() < layer.quant_start_step) return v;
  const QuantRange range = layer[type].range;
  const std::int64_t qn = -range.qmin, qp = range.qmax;
  Tensor& s = scale(layer, type);
  if (!stored) {
    double mean_abs = 0;
    const float* d = v.data<float>();
    for (std::int64_t i = 0; i < v.numel(); ++i) mean_abs += std::fabs(d[i]);
    mean_abs /= static_cast<double>(std::max<std::int64_t>(v.numel(), 1));
    NoGradGuard no_grad;
    s.fill_(std::max(2.0 * mean_abs / std::sqrt(static_cast<double>(qp)), 1.1920928955078125e-07));
    // Aliases the learned scale: the calibration config and the int8 export read its current value.
    stored = QParams{s.detach(), zeros({1}), -1, range};
  }
  const float g = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n) * static_cast<double>(qp)));
  return lsq_quantize(v, s, qn, qp, g);
}

Tensor LSQQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& weight) {
  return learn(layer, QuantType::Weight, weight, weight.numel());
}

Tensor LSQQuantizer::quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) {
  const std::int64_t features = x.dim() >= 2 && x.size(0) > 0 ? x.numel() / x.size(0) : x.numel();
  return learn(layer, type, x, std::max<std::int64_t>(features, 1));
}

nlohmann::json LSQQuantizer::calibration_config() const {
  nlohmann::json out = Quantizer::calibration_config();
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output})
      if ((*layer)[t].enabled) {
        // Per tensor only (check_layer): NNI's symmetric tracked range.
        nlohmann::json& entry = out[layer->name];
        const std::string tn = quant_type_name(t);
        entry["tracked_min_" + tn] = -entry["tracked_max_" + tn].get<float>();
      }
  return out;
}

void LSQQuantizer::load_state_dict(const io::StateDict& state) {
  Quantizer::load_state_dict(state);
  NoGradGuard no_grad;
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Weight, QuantType::Input, QuantType::Output}) {
      auto& stored = layer->qparams[static_cast<std::size_t>(t)];
      if (!(*layer)[t].enabled || !stored) continue;
      Tensor& s = scale(*layer, t);
      s.copy_(stored->scale);
      stored->scale = s.detach();
    }
}

}  // namespace shrink::compression
