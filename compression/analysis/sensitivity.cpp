// analyze_sensitivity: prune one layer at a time, evaluate, restore; cached and resumable.
// The solvers are in sensitivity_solver.cpp, the cache file in sensitivity_cache.cpp.
#include "compression/analysis/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "autograd/grad_mode.h"
#include "compression/analysis/error_context.h"
#include "compression/analysis/sensitivity_cache.h"

namespace shrink::compression {
namespace {

using detail::ratio_str;

/// What prune functions must not change: the state's names, shapes, dtypes and storages, and
/// every parameter's parametrizations.
struct Structure {
  std::map<std::string, std::pair<std::string, const void*>> state;  // name -> ("[shape] dtype", storage)
  std::map<std::string, std::vector<std::string>> parametrizations;  // "module.param" -> kinds

  static Structure of(const nn::Module& model) {
    Structure s;
    for (const auto& [name, t] : model.state_dict())
      s.state[name] = {shape_str(t.shape()) + " " + std::string(dtype_name(t.dtype())), t.impl()->storage.get()};
    for (const auto& [prefix, m] : model.named_modules(/*include_self=*/true))
      for (const auto& [name, p] : m->named_parameters(/*recurse=*/false))
        if (m->is_parametrized(name))
          s.parametrizations[prefix.empty() ? name : prefix + "." + name] = m->parametrization_kinds(name);
    return s;
  }

  /// "" when `after` has the same structure, else what changed.
  std::string change_to(const Structure& after) const {
    for (const auto& [name, entry] : state) {
      const auto it = after.state.find(name);
      if (it == after.state.end()) return "removed '" + name + "'";
      if (it->second.first != entry.first)
        return "changed '" + name + "' from " + entry.first + " to " + it->second.first;
      if (it->second.second != entry.second) return "replaced the tensor of '" + name + "' instead of its values";
    }
    for (const auto& [name, entry] : after.state)
      if (!state.count(name)) return "added '" + name + "'";
    if (parametrizations != after.parametrizations) {
      for (const auto& [name, kinds] : after.parametrizations)
        if (!parametrizations.count(name) || parametrizations.at(name) != kinds)
          return "changed the parametrizations of '" + name + "'";
      return "removed the parametrizations of '" + parametrizations.begin()->first + "'";
    }
    return "";
  }
};

/// The values of the model's parameters and buffers; restore() copies them back into the same
/// tensors (bit-identical), and so does the destructor if nobody did.
class Snapshot {
 public:
  explicit Snapshot(nn::Module& model) : model_(model), structure_(Structure::of(model)) {
    for (const auto& [name, t] : model.state_dict()) saved_.emplace_back(name, t.clone());
  }
  ~Snapshot() {
    try {
      restore();
    } catch (...) {  // a destructor must not throw; restore() is only skipped if the structure broke
    }
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const Structure& structure() const { return structure_; }

  /// Copies every saved value back into the tensor of the same name (if it still fits).
  void restore() {
    if (restored_) return;
    restored_ = true;
    NoGradGuard no_grad;
    const io::StateDict live = model_.state_dict();
    for (const auto& [name, value] : saved_)
      if (live.contains(name) && live.at(name).shape() == value.shape() && live.at(name).dtype() == value.dtype())
        Tensor(live.at(name)).copy_(value);
  }

 private:
  nn::Module& model_;
  Structure structure_;
  std::vector<std::pair<std::string, Tensor>> saved_;
  bool restored_ = false;
};

void check_layers(const nn::Module& model, const std::vector<std::string>& layers) {
  SHRINK_CHECK(!layers.empty(), "analyze_sensitivity: expected at least one layer name, got none");
  std::vector<std::string> names;
  for (const auto& [name, m] : model.named_modules()) names.push_back(name);
  std::set<std::string> seen;
  for (const auto& layer : layers) {
    SHRINK_CHECK(seen.insert(layer).second, "analyze_sensitivity: expected distinct layer names, got '", layer,
                 "' twice");
    if (model.find_module(layer) != nullptr && !layer.empty()) continue;
    const auto close = detail::close_names(layer, names);
    throw ValueError(
        "analyze_sensitivity: unknown layer '" + layer + "' (" +
        (close.empty() ? "modules: " + detail::join_names(names) : "did you mean: " + detail::join_names(close)) + ")");
  }
}

void check_ratios(const std::vector<double>& ratios) {
  SHRINK_CHECK(!ratios.empty(), "analyze_sensitivity: expected at least one ratio, got none");
  for (std::size_t i = 0; i < ratios.size(); ++i)
    SHRINK_CHECK(ratios[i] > 0.0 && ratios[i] < 1.0, "analyze_sensitivity: expected every ratio in (0, 1), got ",
                 ratio_str(ratios[i]), " at index ", i);
  std::vector<double> sorted = ratios;
  std::sort(sorted.begin(), sorted.end());
  const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
  SHRINK_CHECK(twice == sorted.end(), "analyze_sensitivity: expected distinct ratios, got ", ratio_str(*twice),
               " twice");
}

void check_baseline(double base) {
  SHRINK_CHECK(std::isfinite(base) && base > 0.0,
               "analyze_sensitivity: expected a positive, finite metric for the unpruned model (the loss "
               "(base - metric) / base is relative to it), got ",
               base, ". Hint: eval must return a score where higher is better, such as accuracy");
}

}  // namespace

Sensitivities analyze_sensitivity(nn::Module& model, const std::vector<std::string>& layers, const EvalFn& eval,
                                  const LayerPruneFn& prune, const SensitivityOptions& opts) {
  SHRINK_CHECK(eval && prune, "analyze_sensitivity: expected an eval and a prune function, got an empty ",
               eval ? "prune" : "eval", " function");
  check_layers(model, layers);
  check_ratios(opts.ratios);
  std::vector<double> ratios = opts.ratios;
  std::sort(ratios.begin(), ratios.end());

  const bool cached = !opts.cache_path.empty();
  if (cached) {
    // Fail before the first (possibly long) evaluation rather than at the first write.
    const auto dir = std::filesystem::path(opts.cache_path).parent_path();
    SHRINK_CHECK_T(IOError, dir.empty() || std::filesystem::is_directory(dir),
                   "analyze_sensitivity: cannot write the cache '", opts.cache_path, "': no directory '", dir.string(),
                   "'");
  }
  detail::SensitivityCache cache = detail::empty_cache(detail::fingerprint(model), layers, ratios);
  std::error_code absent;  // any failure to stat the path surfaces when reading or writing it
  if (cached && std::filesystem::exists(opts.cache_path, absent)) cache = detail::load_cache(opts.cache_path, cache);
  auto save = [&] {
    if (cached) detail::save_cache(opts.cache_path, cache);
  };

  if (!cache.baseline) {
    double base = 0;
    {
      Snapshot snapshot(model);  // an eval that touches state (BatchNorm in train mode) leaves none
      try {
        base = eval(model);
      } catch (...) {
        detail::rethrow_with_context("analyze_sensitivity: eval of the unpruned model failed: ");
      }
    }
    check_baseline(base);
    cache.baseline = base;
    save();
  }
  check_baseline(*cache.baseline);

  for (const auto& layer : layers) {
    for (std::size_t i = 0; i < ratios.size(); ++i) {
      std::optional<double>& point = cache.metrics.at(layer)[i];
      if (point) continue;
      const std::string at = "layer '" + layer + "' at ratio " + ratio_str(ratios[i]);
      Snapshot snapshot(model);
      try {
        prune(model, layer, ratios[i]);
      } catch (...) {
        detail::rethrow_with_context("analyze_sensitivity: prune failed for " + at + ": ");
      }
      const std::string change = snapshot.structure().change_to(Structure::of(model));
      SHRINK_CHECK_STATE(change.empty(), "analyze_sensitivity: the prune function changed the model's structure for ",
                         at, " (", change,
                         "); it must change values only, e.g. zero weights or fill an existing mask buffer");
      double metric = 0;
      try {
        metric = eval(model);
      } catch (...) {
        detail::rethrow_with_context("analyze_sensitivity: eval failed for " + at + ": ");
      }
      snapshot.restore();
      SHRINK_CHECK(std::isfinite(metric), "analyze_sensitivity: expected a finite metric for ", at, ", got ", metric);
      point = metric;
      save();
    }
  }

  Sensitivities out;
  out.baseline = *cache.baseline;
  out.ratios = ratios;
  for (const auto& layer : layers) {
    auto& metrics = out.metrics[layer];
    auto& losses = out.losses[layer];
    for (const auto& m : cache.metrics.at(layer)) {
      metrics.push_back(*m);
      losses.push_back((out.baseline - *m) / out.baseline);
    }
  }
  return out;
}

}  // namespace shrink::compression
