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

namespace {

/// lsq_quantize with zero point `zero_point` (null: 0 and no gradient for it).
Tensor lsq_core(const Tensor& v, const Tensor& scale, const Tensor* zero_point, std::int64_t qmin, std::int64_t qmax,
                float grad_factor) {
  SHRINK_CHECK(v.dtype() == DType::Float32 && scale.dtype() == DType::Float32 && scale.numel() == 1,
               "lsq_quantize: expected a float32 input and a float32 scale of one element, got ",
               dtype_name(v.dtype()), " and ", dtype_name(scale.dtype()), " ", shape_str(scale.shape()));
  SHRINK_CHECK(qmax > qmin, "lsq_quantize: expected -qn < qp, got qn ", -qmin, " and qp ", qmax);
  const float s = scale.data<float>()[0];
  SHRINK_CHECK(std::isfinite(s) && s > 0.0f, "lsq_quantize: expected a finite scale > 0, got ", s,
               " (Hint: a learned scale that left (0, inf) had too large a learning rate)");
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  float zp = 0.0f;
  if (zero_point) {
    SHRINK_CHECK(zero_point->dtype() == DType::Float32 && zero_point->numel() == 1,
                 "lsq_quantize: expected a float32 zero point of one element, got ", dtype_name(zero_point->dtype()),
                 " ", shape_str(zero_point->shape()));
    const float z = zero_point->data<float>()[0];
    SHRINK_CHECK(std::isfinite(z), "lsq_quantize: expected a finite zero point, got ", z,
                 " (Hint: a learned zero point that diverged had too large a learning rate)");
    zp = std::fmin(std::fmax(std::nearbyint(z), lo), hi);
  }
  // Zero point added and subtracted as fake_quantize's kernel does (it turns −0 into +0).
  const float inv = 1.0f / s;
  Tensor out = zeros(v.shape()), inside = zeros(v.shape()), ds_per_element = zeros(v.shape());
  const float* in = v.data<float>();
  float* o = out.data<float>();
  float* m = inside.data<float>();
  float* d = ds_per_element.data<float>();
  for (std::int64_t i = 0; i < v.numel(); ++i) {
    const float x = in[i] * inv, q = std::nearbyint(x) + zp;
    o[i] = (std::fmin(std::fmax(q, lo), hi) - zp) * s;
    m[i] = (q >= lo && q <= hi) ? 1.0f : 0.0f;
    d[i] = q < lo ? lo - zp : q > hi ? hi - zp : (q - zp) - x;
  }
  TensorList inputs{v, scale};
  if (zero_point) inputs.push_back(*zero_point);
  const bool with_zp = zero_point != nullptr;
  return record(
      with_zp ? "lsq_quantize_affine" : "lsq_quantize", out, inputs,
      [inside, ds_per_element, grad_factor, with_zp, s](const Tensor& g) {
        const float* gd = g.data<float>();
        const float* dd = ds_per_element.data<float>();
        const float* md = inside.data<float>();
        double acc = 0, outside = 0;
        for (std::int64_t i = 0; i < g.numel(); ++i) {
          acc += static_cast<double>(gd[i]) * dd[i];
          if (md[i] == 0.0f) outside += gd[i];
        }
        TensorList grads{g * inside, from_vector(std::vector<float>{static_cast<float>(acc * grad_factor)}, {1})};
        if (with_zp)
          grads.push_back(from_vector(std::vector<float>{static_cast<float>(-s * outside * grad_factor)}, {1}));
        return grads;
      },
      {{"qn", -qmin}, {"qp", qmax}, {"grad_factor", double(grad_factor)}});
}

}  // namespace

Tensor lsq_quantize(const Tensor& v, const Tensor& scale, std::int64_t qn, std::int64_t qp, float grad_factor) {
  return lsq_core(v, scale, nullptr, -qn, qp, grad_factor);
}

Tensor lsq_quantize_affine(const Tensor& v, const Tensor& scale, const Tensor& zero_point, std::int64_t qmin,
                           std::int64_t qmax, float grad_factor) {
  return lsq_core(v, scale, &zero_point, qmin, qmax, grad_factor);
}

LSQQuantizer::LSQQuantizer(nn::ModulePtr model, ConfigList config, LSQOptions options)
    : Quantizer("LSQQuantizer", std::move(model), std::move(config), {"weight", "input", "output"},
                {"quant_types", "quant_bits", "quant_scheme", "quant_dtype", "quant_start_step"}),
      options_(options) {}

bool LSQQuantizer::learns_zero_point(QuantType type) const {
  return options_.learn_zero_point && type != QuantType::Weight;
}

QuantSpec LSQQuantizer::default_spec(QuantType type) const {
  QuantSpec s;
  if (learns_zero_point(type)) return s;  // per_tensor_affine, uint
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
    if (learns_zero_point(t)) {
      SHRINK_CHECK(!s.per_channel && s.scheme == QuantScheme::Affine && s.dtype == "uint", name(), ": '", layer.name,
                   "': expected ", quant_type_name(t),
                   " quant_scheme per_tensor_affine with quant_dtype uint (learn_zero_point learns one zero point "
                   "per activation), got ", s.scheme_name(), " with ", s.dtype,
                   " (Hint: drop the activation's quant_scheme and quant_dtype, or learn_zero_point)");
      continue;
    }
    SHRINK_CHECK(!s.per_channel && s.scheme == QuantScheme::Symmetric, name(), ": '", layer.name, "': expected ",
                 quant_type_name(t), " quant_scheme per_tensor_symmetric (one learned scale, zero point 0), got ",
                 s.scheme_name(),
                 options_.learn_zero_point ? " (learn_zero_point applies to inputs and outputs; weights stay symmetric)"
                                           : "");
  }
}

Tensor& LSQQuantizer::param(const QuantizedLayer& layer, QuantType type, const char* what) {
  const std::string key = layer.name + "." + quant_type_name(type) + "_" + what;
  auto it = params_.find(key);
  if (it == params_.end()) {
    Tensor p = std::string(what) == "scale" ? ones({1}) : zeros({1});
    p.requires_grad_(true);
    it = params_.emplace(key, p).first;
  }
  return it->second;
}

void LSQQuantizer::sync_zero_point(const QuantizedLayer& layer, QuantType type) const {
  const auto& stored = layer.qparams[static_cast<std::size_t>(type)];
  if (!learns_zero_point(type) || !stored || layer.frozen) return;
  const auto it = params_.find(layer.name + "." + quant_type_name(type) + "_zero_point");
  if (it == params_.end()) return;
  const float z = it->second.data<float>()[0];
  Tensor held = stored->zero_point;  // shares the stored tensor's data
  held.data<float>()[0] = std::fmin(std::fmax(std::nearbyint(z), static_cast<float>(stored->range.qmin)),
                                    static_cast<float>(stored->range.qmax));
}

std::vector<std::pair<std::string, Tensor>> LSQQuantizer::named_parameters() {
  require_compressed("named_parameters");
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Weight, QuantType::Input, QuantType::Output})
      if ((*layer)[t].enabled) {
        out.emplace_back(layer->name + "." + quant_type_name(t) + "_scale", param(*layer, t, "scale"));
        if (learns_zero_point(t))
          out.emplace_back(layer->name + "." + quant_type_name(t) + "_zero_point", param(*layer, t, "zero_point"));
      }
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
  Tensor& s = param(layer, type, "scale");
  const bool with_zp = learns_zero_point(type);
  if (!stored) {
    double mean_abs = 0, lowest = 0;
    const float* d = v.data<float>();
    for (std::int64_t i = 0; i < v.numel(); ++i) {
      mean_abs += std::fabs(d[i]);
      lowest = std::min(lowest, static_cast<double>(d[i]));
    }
    mean_abs /= static_cast<double>(std::max<std::int64_t>(v.numel(), 1));
    NoGradGuard no_grad;
    const double s0 = std::max(2.0 * mean_abs / std::sqrt(static_cast<double>(qp)), 1.1920928955078125e-07);
    s.fill_(s0);
    if (with_zp)  // LSQ+: the observed minimum (or 0) lands on qmin
      param(layer, type, "zero_point")
          .fill_(std::clamp(static_cast<double>(range.qmin) - std::nearbyint(static_cast<float>(lowest) /
                                                                              static_cast<float>(s0)),
                            static_cast<double>(range.qmin), static_cast<double>(range.qmax)));
    // Aliases the learned scale: the calibration config and the int8 export read its current value
    // (the zero point, a whole number, is refreshed from the learned one by sync_zero_point).
    stored = QParams{s.detach(), zeros({1}), -1, range};
  }
  sync_zero_point(layer, type);
  const float g = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n) * static_cast<double>(qp)));
  if (with_zp) return lsq_quantize_affine(v, s, param(layer, type, "zero_point"), range.qmin, range.qmax, g);
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
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output}) sync_zero_point(*layer, t);
  nlohmann::json out = Quantizer::calibration_config();
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output})
      if ((*layer)[t].enabled && !learns_zero_point(t)) {
        // Per tensor only (check_layer): NNI's symmetric tracked range.
        nlohmann::json& entry = out[layer->name];
        const std::string tn = quant_type_name(t);
        entry["tracked_min_" + tn] = -entry["tracked_max_" + tn].get<float>();
      }
  return out;
}

io::StateDict LSQQuantizer::state_dict() const {
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output}) sync_zero_point(*layer, t);
  io::StateDict out = Quantizer::state_dict();
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output}) {
      const auto it = params_.find(layer->name + "." + quant_type_name(t) + "_zero_point");
      if ((*layer)[t].enabled && learns_zero_point(t) && layer->qparams[static_cast<std::size_t>(t)] &&
          it != params_.end())
        out.set("quantizer:" + layer->name + ":" + quant_type_name(t) + ":learned_zero_point",
                it->second.detach().clone());
    }
  return out;
}

void LSQQuantizer::load_state_dict(const io::StateDict& state) {
  // Checked before anything is loaded: a learned zero point is there exactly when this quantizer learns one.
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Input, QuantType::Output}) {
      const std::string prefix = "quantizer:" + layer->name + ":" + quant_type_name(t) + ":";
      const std::string key = prefix + "learned_zero_point";
      if (!(*layer)[t].enabled) continue;
      if (!learns_zero_point(t)) {
        SHRINK_CHECK(!state.contains(key), name(), ".load_state_dict: expected no '", key,
                     "' (this LSQQuantizer does not learn zero points), got one (Hint: construct it with "
                     "LSQOptions{.learn_zero_point = true})");
        continue;
      }
      if (!state.contains(prefix + "scale")) continue;
      SHRINK_CHECK(state.contains(key) && state.at(key).dtype() == DType::Float32 && state.at(key).numel() == 1,
                   name(), ".load_state_dict: expected '", key, "' (float32 [1]), got ",
                   state.contains(key) ? shape_str(state.at(key).shape()) : "none",
                   " (Hint: the state_dict of an LSQQuantizer without learn_zero_point has none)");
    }
  Quantizer::load_state_dict(state);
  NoGradGuard no_grad;
  for (const auto& layer : layers())
    for (QuantType t : {QuantType::Weight, QuantType::Input, QuantType::Output}) {
      auto& stored = layer->qparams[static_cast<std::size_t>(t)];
      if (!(*layer)[t].enabled || !stored) continue;
      Tensor& s = param(*layer, t, "scale");
      s.copy_(stored->scale);
      stored->scale = s.detach();
      const std::string key = "quantizer:" + layer->name + ":" + quant_type_name(t) + ":learned_zero_point";
      if (learns_zero_point(t) && state.contains(key)) param(*layer, t, "zero_point").copy_(state.at(key));
    }
}

}  // namespace shrink::compression
