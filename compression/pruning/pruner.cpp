// Pruner: selection, masks as parametrizations, allocation, masks in and out.
#include "compression/pruning/pruner.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/criteria.h"
#include "io/state_dict_diff.h"
#include "io/state_dict_file.h"

namespace shrink::compression {
namespace {

/// NaN ranks lowest, as in lowest_units().
float rank_value(float v) { return std::isnan(v) ? -std::numeric_limits<float>::infinity() : v; }

std::int64_t floor_count(double fraction, std::int64_t n) {
  // int(s * n) as NNI computes it; the tiny slack keeps 0.7 * 10 from flooring to 6.
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(n) + 1e-9)), 0, n);
}

}  // namespace

Pruner::Pruner(std::string name, nn::ModulePtr model, ConfigList config, ConfigRules rules, MaskGranularity granularity)
    : name_(std::move(name)), model_(std::move(model)), config_(std::move(config)), rules_(std::move(rules)),
      granularity_(granularity) {
  SHRINK_CHECK(model_ != nullptr, name_, ": expected a model, got null");
  rules_.compressor = name_;
}

Pruner::~Pruner() = default;

void Pruner::require_compressed(const std::string& what) const {
  SHRINK_CHECK_T(StateError, !unwrapped_, name_, ".", what, ": the pruner was unwrapped; build a new pruner");
  SHRINK_CHECK_T(StateError, compressed_, name_, ".", what, ": call compress() first");
}

Tensor Pruner::parameter(const PrunedLayer& layer, const std::string& param) {
  return layer.module->has_param(param) ? layer.module->param(param) : Tensor();
}

Tensor Pruner::mask_of(const PrunedLayer& layer, const std::string& param) {
  const std::string buffer = param + "_mask";
  return layer.module->has_buffer(buffer) ? layer.module->buffer(buffer) : Tensor();
}

std::int64_t Pruner::unit_count(const PrunedLayer& layer) const {
  const Tensor w = parameter(layer, "weight");
  return granularity_ == MaskGranularity::Element ? w.numel() : w.size(0);
}

io::StateDict Pruner::compress() {
  SHRINK_CHECK_T(StateError, !unwrapped_, name_, ".compress: the pruner was unwrapped; build a new pruner");
  SHRINK_CHECK_T(StateError, !compressed_, name_, ".compress: already compressed (call it once per pruner)");
  std::vector<PrunedLayer> layers;
  for (const SelectedLayer& s : select_layers(*model_, config_, rules_)) {
    PrunedLayer layer{s.name, s.type, s.module};
    const ConfigDict& d = *s.dict;
    if (const auto total = d.total_sparsity()) {
      layer.global_group = static_cast<int>(d.index);
      layer.total_sparsity = *total;
      layer.max_sparsity = d.max_sparsity_per_layer();
    } else {
      layer.sparsity = d.sparsity_per_layer().value_or(0.0);
    }
    const Tensor w = parameter(layer, "weight");
    SHRINK_CHECK(w.defined() && w.dim() >= 1, name_, ".compress: '", s.name, "' (", s.type,
                 ") has no weight to prune (Hint: a BatchNorm2d built with affine=false has none)");
    SHRINK_CHECK(!s.module->has_buffer("weight_mask"), name_, ".compress: '", s.name,
                 "' already has a weight_mask: another pruner is attached to it (Hint: unwrap() that pruner first)");
    layers.push_back(std::move(layer));
  }
  layers_ = std::move(layers);
  for (auto& layer : layers_) attach(layer);
  compressed_ = true;
  on_compress();
  if (!needs_data()) update_masks();
  return get_masks();
}

void Pruner::attach(PrunedLayer& layer) {
  nn::Module& m = *layer.module;
  m.register_buffer("weight_mask", ones_like(parameter(layer, "weight")));
  parametrizations_.push_back(m.register_parametrization(
      "weight", nn::ParametrizationFn([](nn::Module& self, const Tensor& w) { return mul(w, self.buffer("weight_mask")); }),
      "prune"));
  const Tensor bias = parameter(layer, "bias");
  if (granularity_ == MaskGranularity::OutputChannel && bias.defined()) {
    m.register_buffer("bias_mask", ones_like(bias));
    parametrizations_.push_back(m.register_parametrization(
        "bias", nn::ParametrizationFn([](nn::Module& self, const Tensor& b) { return mul(b, self.buffer("bias_mask")); }),
        "prune"));
  }
}

void Pruner::set_target_transform(std::function<double(double)> transform) { transform_ = std::move(transform); }

double Pruner::current_target(double configured) const {
  const double s = transform_ ? transform_(configured) : configured;
  SHRINK_CHECK(std::isfinite(s) && s >= 0 && s < 1, name_, ": a schedule asked for sparsity ", s,
               ", expected a number in [0, 1)");
  return s;
}

std::vector<std::int64_t> Pruner::prune_counts(const std::vector<Tensor>& metrics) const {
  std::vector<std::int64_t> counts(layers_.size(), 0);
  std::vector<int> groups;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].global_group < 0) {
      counts[i] = floor_count(current_target(layers_[i].sparsity), unit_count(layers_[i]));
    } else if (std::find(groups.begin(), groups.end(), layers_[i].global_group) == groups.end()) {
      groups.push_back(layers_[i].global_group);
    }
  }
  for (const int group : groups) {
    struct Unit {
      float value;
      std::size_t layer;
      std::int64_t index;
    };
    std::vector<Unit> units;
    std::int64_t total_weights = 0;
    double total = 0;
    std::vector<std::int64_t> unit_size(layers_.size(), 0), cap(layers_.size(), 0);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      if (layers_[i].global_group != group) continue;
      const Tensor m = metrics[i].to(DType::Float32);
      const std::int64_t n = m.numel();
      unit_size[i] = parameter(layers_[i], "weight").numel() / n;
      cap[i] = floor_count(layers_[i].max_sparsity, n);
      total_weights += parameter(layers_[i], "weight").numel();
      total = layers_[i].total_sparsity;
      for (std::int64_t u = 0; u < n; ++u) units.push_back({rank_value(m.data<float>()[u]), i, u});
    }
    std::sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
      return a.value < b.value || (a.value == b.value && (a.layer < b.layer || (a.layer == b.layer && a.index < b.index)));
    });
    const std::int64_t budget = floor_count(current_target(total), total_weights);
    std::int64_t pruned = 0;
    for (const Unit& u : units) {
      if (counts[u.layer] >= cap[u.layer]) continue;
      if (pruned + unit_size[u.layer] > budget) break;
      ++counts[u.layer];
      pruned += unit_size[u.layer];
    }
  }
  return counts;
}

Tensor Pruner::make_weight_mask(const PrunedLayer& layer, const Tensor& metric, std::int64_t prune_units) {
  const Tensor w = parameter(layer, "weight");
  Tensor mask = ones_like(w);
  float* m = mask.data<float>();
  const std::int64_t unit = granularity_ == MaskGranularity::Element ? 1 : w.numel() / w.size(0);
  for (const std::int64_t u : lowest_units(metric, prune_units)) std::fill(m + u * unit, m + (u + 1) * unit, 0.0f);
  return mask;
}

void Pruner::apply_mask(const PrunedLayer& layer, const Tensor& weight_mask) {
  NoGradGuard no_grad;
  mask_of(layer, "weight").copy_(weight_mask);
  Tensor bias_mask = mask_of(layer, "bias");
  if (!bias_mask.defined()) return;
  // A channel keeps its bias while any of its weights is kept.
  const std::int64_t channels = bias_mask.numel(), per = weight_mask.numel() / channels;
  const float* w = weight_mask.data<float>();
  float* b = bias_mask.data<float>();
  for (std::int64_t c = 0; c < channels; ++c)
    b[c] = std::any_of(w + c * per, w + (c + 1) * per, [](float x) { return x != 0.0f; }) ? 1.0f : 0.0f;
}

void Pruner::update_masks() {
  require_compressed("update_masks");
  check_ready();
  std::vector<Tensor> metrics;
  {
    NoGradGuard no_grad;
    for (const auto& layer : layers_) {
      Tensor m = metric(layer).detach().to(DType::Float32).clone();
      const Tensor w = parameter(layer, "weight");
      const bool fits = granularity_ == MaskGranularity::Element ? m.shape() == w.shape() : m.numel() == w.size(0);
      SHRINK_CHECK_T(InternalError, fits, name_, ": the metric of '", layer.name, "' has ", m.numel(),
                     " values, which does not fit the weight's units");
      if (keep_pruned_) {
        const Tensor mask = mask_of(layer, "weight");
        const std::int64_t per = w.numel() / m.numel();
        float* v = m.data<float>();
        for (std::int64_t u = 0; u < m.numel(); ++u) {
          const float* mu = mask.data<float>() + u * per;
          if (std::all_of(mu, mu + per, [](float x) { return x == 0.0f; }))
            v[u] = -std::numeric_limits<float>::infinity();
        }
      }
      metrics.push_back(std::move(m));
    }
  }
  const std::vector<std::int64_t> counts = prune_counts(metrics);
  std::vector<std::optional<std::vector<std::int64_t>>> coupled(layers_.size());
  if (!dependency_groups_.empty()) {
    std::vector<std::string> names;
    for (const auto& layer : layers_) names.push_back(layer.name);
    coupled = coupled_prune_channels(dependency_groups_, names, metrics, counts);
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (!coupled[i]) {
      apply_mask(layers_[i], make_weight_mask(layers_[i], metrics[i], counts[i]));
      continue;
    }
    Tensor mask = ones_like(parameter(layers_[i], "weight"));
    const std::int64_t unit = mask.numel() / mask.size(0);
    for (const std::int64_t c : *coupled[i])
      std::fill(mask.data<float>() + c * unit, mask.data<float>() + (c + 1) * unit, 0.0f);
    apply_mask(layers_[i], mask);
  }
  on_masks_updated();
}

void Pruner::set_dependency_groups(DependencyGroups groups) {
  SHRINK_CHECK_T(StateError, granularity_ == MaskGranularity::OutputChannel, name_,
                 ".set_dependency_groups: expected a channel pruner, got one that prunes single weights (dependency "
                 "groups couple whole channels)");
  check_dependency_groups(groups);
  dependency_groups_ = std::move(groups);
}

void Pruner::update_epoch(std::int64_t epoch) {
  require_compressed("update_epoch");
  SHRINK_CHECK(epoch >= 0, name_, ".update_epoch: expected an epoch >= 0, got ", epoch);
}

void Pruner::step() { require_compressed("step"); }

io::StateDict Pruner::get_masks() const {
  io::StateDict out;
  for (const auto& layer : layers_)
    for (const char* param : {"weight", "bias"}) {
      const Tensor mask = mask_of(layer, param);
      if (mask.defined()) out.insert(layer.name + "." + param, mask.clone());
    }
  return out;
}

void Pruner::load_masks(const io::StateDict& masks) {
  require_compressed("load_masks");
  auto specs = [](const io::StateDict& sd) {
    std::vector<io::EntrySpec> out = io::entry_specs(sd);
    for (auto& e : out) e.dtype = "mask";  // any numeric dtype holding 0 and 1 is a mask
    return out;
  };
  const io::StateDictDiff diff = io::diff_entries(specs(get_masks()), specs(masks));
  SHRINK_CHECK(diff.empty(), name_, ".load_masks: expected masks for the pruned tensors of this model, got ",
               diff.message(), " (Hint: masks load into the model and config_list they were made with)");
  std::vector<Tensor> converted;
  for (const auto& [key, mask] : masks) {
    Tensor m = mask.to(DType::Float32);
    const float* v = m.data<float>();
    for (std::int64_t i = 0; i < m.numel(); ++i)
      SHRINK_CHECK(v[i] == 0.0f || v[i] == 1.0f, name_, ".load_masks: mask '", key, "' holds ", v[i], " at flat index ", i,
                   ", expected only 0 and 1");
    converted.push_back(m);
  }
  NoGradGuard no_grad;
  std::size_t i = 0;
  for (const auto& [key, mask] : masks) {
    const auto dot = key.rfind('.');
    const std::string module = key.substr(0, dot), param = key.substr(dot + 1);
    for (const auto& layer : layers_)
      if (layer.name == module) mask_of(layer, param).copy_(converted[i]);
    ++i;
  }
}

void Pruner::load_masks(const std::string& path) {
  try {
    load_masks(io::load_masks(path));
  } catch (const IOError&) {
    throw;
  } catch (const ValueError& e) {
    throw ValueError(path + ": " + e.what());
  }
}

void Pruner::export_model(const std::string& model_path, const std::string& mask_path) const {
  require_compressed("export_model");
  const io::StateDict masks = get_masks();
  io::StateDict weights;
  for (const auto& [key, value] : model_->state_dict()) {
    if (masks.contains(key)) {
      weights.insert(key, mul(value.detach(), masks.at(key)));
    } else if (key.size() > 5 && key.compare(key.size() - 5, 5, "_mask") == 0 &&
               masks.contains(key.substr(0, key.size() - 5))) {
      continue;  // the mask buffer itself: the exported model is a plain one
    } else {
      weights.insert(key, value);
    }
  }
  io::save_state_dict(weights, model_path);
  io::save_masks(masks, mask_path);
}

void Pruner::unwrap() {
  require_compressed("unwrap");
  on_unwrap();
  NoGradGuard no_grad;
  for (const auto& layer : layers_)
    for (const char* param : {"weight", "bias"}) {
      const Tensor mask = mask_of(layer, param);
      if (!mask.defined()) continue;
      layer.module->param(param).mul_(mask);  // the same tensor object: optimizers keep their handle
    }
  for (auto& handle : parametrizations_) handle.remove();
  parametrizations_.clear();
  for (const auto& layer : layers_)
    for (const char* buffer : {"weight_mask", "bias_mask"})
      if (layer.module->has_buffer(buffer)) layer.module->remove_buffer(buffer);
  compressed_ = false;
  unwrapped_ = true;
}

io::StateDict Pruner::state_dict() const {
  require_compressed("state_dict");
  io::StateDict out;
  for (const auto& [key, mask] : get_masks()) out.insert("mask:" + key, mask);
  return out;
}

void Pruner::load_state_dict(const io::StateDict& state) {
  require_compressed("load_state_dict");
  io::StateDict masks;
  for (const auto& [key, value] : state)
    if (key.rfind("mask:", 0) == 0) masks.insert(key.substr(5), value);
  load_masks(masks);
}

}  // namespace shrink::compression
