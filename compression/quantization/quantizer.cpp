// Quantizer: selection and settings, hooks and parametrizations, step count, calibration I/O and
// checkpoint state.
#include "compression/quantization/quantizer.h"

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observer_registry.h"
#include "io/atomic_write.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"

namespace shrink::compression {
namespace {

using nlohmann::json;

constexpr std::array<QuantType, 3> kTypes = {QuantType::Weight, QuantType::Input, QuantType::Output};

std::size_t idx(QuantType t) { return static_cast<std::size_t>(t); }

/// A per-type setting: `key` given once for all types or as {type: value}.
const json* setting(const ConfigDict& d, const char* key, QuantType t) {
  if (!d.settings.contains(key)) return nullptr;
  const json& v = d.settings.at(key);
  if (!v.is_object()) return &v;
  return v.contains(quant_type_name(t)) ? &v.at(quant_type_name(t)) : nullptr;
}

std::string at(const ConfigDict& d, const std::string& key) {
  return "config_list[" + std::to_string(d.index) + "]['" + key + "']";
}

json tensor_json(const Tensor& t) {
  if (t.numel() == 1) return t.data<float>()[0];
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

Tensor tensor_from_json(const json& j, std::int64_t expected, const std::string& where) {
  std::vector<float> v;
  if (j.is_number()) v.push_back(j.get<float>());
  else if (j.is_array())
    for (const json& e : j) {
      SHRINK_CHECK(e.is_number(), where, ": expected numbers, got ", e.dump());
      v.push_back(e.get<float>());
    }
  else SHRINK_CHECK(false, where, ": expected a number or a list of numbers, got ", j.dump());
  SHRINK_CHECK(static_cast<std::int64_t>(v.size()) == expected, where, ": expected ", expected, " value(s), got ",
               v.size());
  return from_vector(v, {static_cast<std::int64_t>(v.size())});
}

}  // namespace

const char* quant_type_name(QuantType type) {
  switch (type) {
    case QuantType::Weight: return "weight";
    case QuantType::Input: return "input";
    case QuantType::Output: return "output";
  }
  return "?";
}

std::string QuantSpec::scheme_name() const {
  return std::string(per_channel ? "per_channel_" : "per_tensor_") + compression::scheme_name(scheme);
}

Quantizer::Quantizer(std::string name, nn::ModulePtr model, ConfigList config, std::vector<std::string> quant_types,
                     std::vector<std::string> setting_keys)
    : name_(std::move(name)), model_(std::move(model)), config_(std::move(config)) {
  SHRINK_CHECK(model_ != nullptr, name_, ": expected a model, got null");
  rules_.compressor = name_;
  rules_.keys = std::move(setting_keys);
  rules_.required_one_of = {"quant_types"};
  // Inputs and outputs can be quantized on any layer (a ReLU's output is where an int8 runtime
  // quantizes a fused conv-bn-relu block); weights only where there is one ("default": Conv2d and
  // Linear).
  rules_.op_types = {"Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d", "ReLU", "ReLU6", "LeakyReLU", "GELU",
                     "Sigmoid", "Tanh", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Identity"};
  for (const ConfigDict& d : config_.dicts()) {
    if (d.exclude || !d.settings.contains("quant_types")) continue;
    for (const json& t : d.settings.at("quant_types"))
      SHRINK_CHECK(std::find(quant_types.begin(), quant_types.end(), t.get<std::string>()) != quant_types.end(),
                   at(d, "quant_types"), ": ", name_, " quantizes ", [&] {
                     std::string s;
                     for (const auto& q : quant_types) s += (s.empty() ? "'" : ", '") + q + "'";
                     return s;
                   }(), ", got '", t.get<std::string>(), "'");
  }
}

Quantizer::~Quantizer() {
  for (auto& h : handles_) h.remove();
}

void Quantizer::require_compressed(const std::string& what) const {
  SHRINK_CHECK_T(StateError, compressed_, name_, ".", what, ": call compress() first");
}

void Quantizer::compress() {
  SHRINK_CHECK_T(StateError, !compressed_, name_, ".compress: already compressed (call it once per quantizer)");
  std::vector<std::unique_ptr<QuantizedLayer>> layers;
  for (const SelectedLayer& s : select_layers(*model_, config_, rules_)) {
    auto layer = std::make_unique<QuantizedLayer>();
    layer->name = s.name;
    layer->type = s.type;
    layer->module = s.module;
    const ConfigDict& d = *s.dict;
    if (d.settings.contains("quant_start_step")) layer->quant_start_step = d.settings.at("quant_start_step");
    for (const json& t : d.settings.at("quant_types")) {
      const std::string type_name = t.get<std::string>();
      const QuantType type = type_name == "weight" ? QuantType::Weight
                             : type_name == "input" ? QuantType::Input
                                                    : QuantType::Output;
      QuantSpec& spec = layer->spec[idx(type)];
      spec = default_spec(type);
      spec.enabled = true;
      if (const json* b = setting(d, "quant_bits", type)) spec.bits = b->get<int>();
      if (const json* sc = setting(d, "quant_scheme", type)) {
        const std::string v = sc->get<std::string>();
        spec.per_channel = v.rfind("per_channel", 0) == 0;
        spec.scheme = v.find("symmetric") != std::string::npos ? QuantScheme::Symmetric : QuantScheme::Affine;
      }
      if (const json* dt = setting(d, "quant_dtype", type)) spec.dtype = dt->get<std::string>();
      if (const json* o = setting(d, "observer", type)) spec.observer = o->get<std::string>();
      if (spec.bits >= 2 && spec.bits <= 16)
        spec.range = QuantRange::of(spec.bits, spec.dtype != "uint", spec.dtype == "int");
      SHRINK_CHECK(type != QuantType::Weight || s.module->has_param("weight"), name_, ".compress: '", s.name, "' (",
                   s.type, ") has no weight to quantize; ", at(d, "quant_types"), " asks for 'weight'");
    }
    check_layer(*layer);
    for (QuantType t : kTypes)
      if (layer->spec[idx(t)].enabled) layer->observers[idx(t)] = make_observer(*layer, t);
    layers.push_back(std::move(layer));
  }
  layers_ = std::move(layers);
  for (auto& layer : layers_) attach(*layer);
  compressed_ = true;
  try {
    on_compress();
  } catch (...) {
    // The model is left as it was found.
    for (auto& h : handles_) h.remove();
    handles_.clear();
    layers_.clear();
    compressed_ = false;
    throw;
  }
}

ObserverOptions Quantizer::observer_options(const QuantizedLayer& layer, QuantType type) {
  const QuantSpec& s = layer[type];
  ObserverOptions o;
  o.range = s.range;
  o.scheme = s.scheme;
  o.axis = s.per_channel ? (type == QuantType::Weight ? 0 : 1) : -1;
  return o;
}

QuantSpec Quantizer::default_spec(QuantType) const { return QuantSpec{}; }

std::unique_ptr<Observer> Quantizer::make_observer(const QuantizedLayer& layer, QuantType type) const {
  const QuantSpec& s = layer[type];
  return compression::make_observer(s.observer.empty() ? "min_max" : s.observer, observer_options(layer, type));
}

void Quantizer::attach(QuantizedLayer& layer) {
  nn::Module& m = *layer.module;
  QuantizedLayer* l = &layer;
  if (layer[QuantType::Weight].enabled)
    handles_.push_back(m.register_parametrization(
        "weight", nn::ParametrizationFn([this, l](nn::Module&, const Tensor& w) { return quantize_weight(*l, w); }),
        "quant"));
  if (layer[QuantType::Input].enabled)
    handles_.push_back(m.register_forward_pre_hook(nn::ForwardPreHook(
        [this, l](nn::Module&, const Tensor& x) { return quantize_activation(*l, QuantType::Input, x); })));
  if (layer[QuantType::Output].enabled)
    handles_.push_back(m.register_forward_hook(nn::ForwardHook([this, l](nn::Module&, const Tensor&, const Tensor& y) {
      return quantize_activation(*l, QuantType::Output, y);
    })));
}

Tensor Quantizer::quantize_with(QuantizedLayer& layer, QuantType type, const Tensor& x, const QParams& q) {
  layer.qparams[idx(type)] = q;
  return fake_quantize(x, q);
}

void Quantizer::update_epoch(std::int64_t) { require_compressed("update_epoch"); }

void Quantizer::step() {
  require_compressed("step");
  ++steps_;
}

void Quantizer::unwrap() {
  require_compressed("unwrap");
  for (auto& h : handles_) h.remove();
  handles_.clear();
  compressed_ = false;
}

json Quantizer::calibration_config() const {
  require_compressed("calibration_config");
  json out = json::object();
  for (const auto& layer : layers_) {
    json entry = json::object();
    for (QuantType t : kTypes) {
      const QuantSpec& s = (*layer)[t];
      if (!s.enabled) continue;
      const std::string tn = quant_type_name(t);
      if (!uses_qparams(t)) {
        entry[tn + "_bits"] = s.bits;
        continue;
      }
      const auto& q = layer->qparams[idx(t)];
      SHRINK_CHECK_T(StateError, q.has_value(), name_, ".calibration_config: the ", tn, " of '", layer->name,
                     "' was never quantized (Hint: run forward passes, calibrate, or pass quant_start_step first)");
      entry[tn + "_bits"] = s.bits;
      entry[tn + "_quant_scheme"] = s.scheme_name();
      entry[tn + "_quant_dtype"] = s.dtype;
      if (t == QuantType::Weight) {
        const QParams exported = exported_weight_qparams(*layer);
        entry["weight_scale"] = tensor_json(exported.scale);
        entry["weight_zero_point"] = tensor_json(exported.zero_point);
        continue;
      }
      entry[tn + "_scale"] = tensor_json(q->scale);
      entry[tn + "_zero_point"] = tensor_json(q->zero_point);
      // NNI's tracked range: the float range the grid covers.
      Tensor lo = zeros(q->scale.shape()), hi = zeros(q->scale.shape());
      for (std::int64_t c = 0; c < q->scale.numel(); ++c) {
        const float sc = q->scale.data<float>()[c], zp = q->zero_point.data<float>()[c];
        lo.data<float>()[c] = (static_cast<float>(s.range.qmin) - zp) * sc;
        hi.data<float>()[c] = (static_cast<float>(s.range.qmax) - zp) * sc;
      }
      entry["tracked_min_" + tn] = tensor_json(lo);
      entry["tracked_max_" + tn] = tensor_json(hi);
    }
    out[layer->name] = entry;
  }
  return out;
}

void Quantizer::load_calibration_config(const json& config) {
  require_compressed("load_calibration_config");
  SHRINK_CHECK(config.is_object(), name_, ".load_calibration_config: expected an object {layer: {...}}, got ",
               config.type_name());
  std::vector<std::pair<QuantizedLayer*, std::array<std::optional<QParams>, 3>>> loaded;
  for (const auto& layer : layers_) {
    const std::string where = name_ + ".load_calibration_config: layer '" + layer->name + "'";
    SHRINK_CHECK(config.contains(layer->name) && config.at(layer->name).is_object(), where,
                 ": expected an entry, got none");
    const json& e = config.at(layer->name);
    std::array<std::optional<QParams>, 3> q;
    for (QuantType t : kTypes) {
      const QuantSpec& s = (*layer)[t];
      if (!s.enabled) continue;
      const std::string tn = quant_type_name(t);
      auto field = [&](const std::string& key) -> const json& {
        SHRINK_CHECK(e.contains(key), where, ": expected key '", key, "', got none");
        return e.at(key);
      };
      SHRINK_CHECK(field(tn + "_bits") == s.bits, where, ": expected ", tn, "_bits ", s.bits, " as configured, got ",
                   field(tn + "_bits").dump());
      if (!uses_qparams(t)) continue;
      SHRINK_CHECK(field(tn + "_quant_scheme") == s.scheme_name() && field(tn + "_quant_dtype") == s.dtype, where,
                   ": expected ", tn, " quantized ", s.scheme_name(), " ", s.dtype, " as configured, got ",
                   field(tn + "_quant_scheme").dump(), " ", field(tn + "_quant_dtype").dump());
      std::int64_t channels = 1;
      if (s.per_channel) {
        const Tensor& w = layer->module->param("weight");
        channels = t == QuantType::Weight ? w.size(0) : -1;
        if (channels < 0) channels = field(tn + "_scale").is_array() ? static_cast<std::int64_t>(field(tn + "_scale").size()) : 1;
      }
      QParams p{tensor_from_json(field(tn + "_scale"), channels, where + " " + tn + "_scale"),
                tensor_from_json(field(tn + "_zero_point"), channels, where + " " + tn + "_zero_point"),
                s.per_channel ? (t == QuantType::Weight ? 0 : 1) : -1, s.range};
      for (std::int64_t c = 0; c < channels; ++c) {
        const float sc = p.scale.data<float>()[c], zp = p.zero_point.data<float>()[c];
        SHRINK_CHECK(std::isfinite(sc) && sc > 0, where, ": expected ", tn, "_scale > 0, got ", sc);
        SHRINK_CHECK(zp == std::nearbyint(zp) && zp >= static_cast<float>(s.range.qmin) &&
                         zp <= static_cast<float>(s.range.qmax),
                     where, ": expected an integral ", tn, "_zero_point in [", s.range.qmin, ", ", s.range.qmax,
                     "], got ", zp);
      }
      q[idx(t)] = std::move(p);
    }
    loaded.emplace_back(layer.get(), std::move(q));
  }
  // Everything checked: now change state.
  for (auto& [layer, q] : loaded) {
    layer->qparams = std::move(q);
    layer->frozen = true;
  }
}

void Quantizer::load_calibration_config(const std::string& path) {
  std::ifstream in(path);
  SHRINK_CHECK_T(IOError, in.good(), path, ": cannot open the calibration config for reading");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ValueError(path + ": malformed JSON: " + e.what());
  }
  try {
    load_calibration_config(j);
  } catch (const ValueError& e) {
    throw ValueError(path + ": " + e.what());
  }
}

Tensor Quantizer::exported_weight(const QuantizedLayer& layer) const {
  NoGradGuard no_grad;
  return layer.module->param_value("weight").detach().clone();
}

QParams Quantizer::exported_weight_qparams(const QuantizedLayer& layer) const {
  const auto& q = layer.qparams[idx(QuantType::Weight)];
  SHRINK_CHECK_T(StateError, q.has_value(), name_, ".export_model: the weight of '", layer.name,
                 "' was never quantized (Hint: run a forward pass first)");
  return *q;
}

void Quantizer::export_model(const std::string& model_path, const std::string& calibration_path,
                             const std::string& quantized_path) const {
  require_compressed("export_model");
  const json calibration = calibration_config();
  io::StateDict state;
  {
    NoGradGuard no_grad;
    state = model_->state_dict();
    for (const auto& layer : layers_)
      if ((*layer)[QuantType::Weight].enabled)
        state.set(layer->name + ".weight", exported_weight(*layer));
  }
  io::save_state_dict(state, model_path);
  if (!quantized_path.empty()) {
    io::QuantizedFile file;
    std::vector<std::string> quantized_names;
    for (const auto& layer : layers_) {
      const QuantSpec& s = (*layer)[QuantType::Weight];
      if (!s.enabled || s.bits > 8 || !uses_qparams(QuantType::Weight)) continue;
      const QParams q = exported_weight_qparams(*layer);
      const std::string key = layer->name + ".weight";
      file.quantized.push_back(io::quantize(key, state.at(key), q.scale, q.zero_point, q.axis, s.bits, q.range.qmin,
                                            q.range.qmax, s.range.is_signed() ? DType::Int8 : DType::UInt8));
      quantized_names.push_back(key);
    }
    for (const auto& [key, tensor] : state)
      if (std::find(quantized_names.begin(), quantized_names.end(), key) == quantized_names.end())
        file.unquantized.insert(key, tensor);
    io::save_quantized(quantized_path, file);
  }
  io::write_text_atomically(calibration_path, name_ + ".export_model: writing the calibration config",
                            calibration.dump(2) + "\n");
}

io::StateDict Quantizer::state_dict() const {
  require_compressed("state_dict");
  io::StateDict out;
  out.set("quantizer:steps", from_vector(std::vector<std::int64_t>{steps_}, {1}));
  for (const auto& layer : layers_)
    for (QuantType t : kTypes) {
      const std::string key = "quantizer:" + layer->name + ":" + quant_type_name(t);
      if (const auto& q = layer->qparams[idx(t)]) {
        out.set(key + ":scale", q->scale.clone());
        out.set(key + ":zero_point", q->zero_point.clone());
      }
      if (const Observer* o = layer->observers[idx(t)].get())
        for (const auto& [name, value] : o->state()) out.set(key + ":observer:" + name, value.clone());
    }
  return out;
}

void Quantizer::load_state_dict(const io::StateDict& state) {
  require_compressed("load_state_dict");
  SHRINK_CHECK(state.contains("quantizer:steps") && state.at("quantizer:steps").dtype() == DType::Int64 &&
                   state.at("quantizer:steps").numel() == 1,
               name_, ".load_state_dict: expected 'quantizer:steps' (int64 [1]), got ",
               state.contains("quantizer:steps") ? shape_str(state.at("quantizer:steps").shape()) : "none");
  for (const std::string& key : state.keys())
    SHRINK_CHECK(key.rfind("quantizer:", 0) == 0, name_, ".load_state_dict: expected keys 'quantizer:...', got '",
                 key, "'");
  for (const auto& layer : layers_)
    for (QuantType t : kTypes) {
      const std::string key = "quantizer:" + layer->name + ":" + quant_type_name(t);
      if (state.contains(key + ":scale") && state.contains(key + ":zero_point")) {
        QParams q{state.at(key + ":scale").clone(), state.at(key + ":zero_point").clone(),
                  (*layer)[t].per_channel ? (t == QuantType::Weight ? 0 : 1) : -1, (*layer)[t].range};
        layer->qparams[idx(t)] = std::move(q);
      }
      if (Observer* o = layer->observers[idx(t)].get()) {
        io::StateDict observer_state;
        const std::string prefix = key + ":observer:";
        for (const auto& [name, value] : state)
          if (name.rfind(prefix, 0) == 0) observer_state.set(name.substr(prefix.size()), value.clone());
        o->load_state(observer_state);
      }
    }
  steps_ = state.at("quantizer:steps").data<std::int64_t>()[0];
}

}  // namespace shrink::compression
