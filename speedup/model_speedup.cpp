// ModelSpeedup: check and apply masks, trace, record the masked model, shrink, verify, measure.
#include "speedup/model_speedup.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "compression/analysis/counting.h"
#include "io/state_dict_file.h"
#include "speedup/channel_groups.h"
#include "speedup/shrink_layers.h"
#include "speedup/trace.h"

namespace shrink::speedup {
namespace {

using i64 = std::int64_t;

/// Puts every module (by dotted name: replaced layers included) back in its training mode.
class ModeRestorer {
 public:
  explicit ModeRestorer(nn::Module& model) : model_(model) {
    for (const auto& [name, m] : model.named_modules(/*include_self=*/true))
      modes_.emplace_back(name, m->is_training());
  }
  ~ModeRestorer() {
    for (const auto& [name, on] : modes_) {
      nn::Module* m = name.empty() ? &model_ : model_.find_module(name).get();
      if (m != nullptr) m->train(on);
    }
  }
  ModeRestorer(const ModeRestorer&) = delete;
  ModeRestorer& operator=(const ModeRestorer&) = delete;

 private:
  nn::Module& model_;
  std::vector<std::pair<std::string, bool>> modes_;
};

void check_plain(const nn::Module& model) {
  for (const auto& [name, m] : model.named_modules(true))
    for (const auto& [param, value] : m->named_parameters(false))
      if (m->is_parametrized(param)) {
        std::string kinds;
        for (const auto& k : m->parametrization_kinds(param)) kinds += (kinds.empty() ? "" : ", ") + k;
        SHRINK_CHECK_T(StateError, false, "ModelSpeedup: expected a model without parametrizations, got '",
                       name.empty() ? param : name + "." + param, "' parametrized (", kinds,
                       "). Hint: masks = pruner.get_masks(); pruner.unwrap(); then speed up with the masks");
      }
}

/// Checks every mask against the model's parameters; returns them as float32.
io::StateDict checked_masks(const nn::Module& model, const io::StateDict& masks) {
  io::StateDict params;
  for (const auto& [name, p] : model.named_parameters()) params.insert(name, p);
  io::StateDict out;
  for (const auto& [name, mask] : masks) {
    SHRINK_CHECK(params.contains(name), "ModelSpeedup: mask '", name,
                 "': expected the name of a parameter of the model, got none by that name (e.g. '",
                 params.empty() ? std::string("<none>") : params.begin()->first, "')");
    const Tensor& p = params.at(name);
    SHRINK_CHECK(mask.defined() && mask.shape() == p.shape(), "ModelSpeedup: mask '", name, "': expected shape ",
                 shape_str(p.shape()), " (the parameter's), got ",
                 mask.defined() ? shape_str(mask.shape()) : std::string("an undefined tensor"));
    const Tensor f = mask.to(DType::Float32);
    const float* v = f.data<float>();
    for (i64 i = 0; i < f.numel(); ++i)
      SHRINK_CHECK(v[i] == 0.0f || v[i] == 1.0f, "ModelSpeedup: mask '", name, "': expected 0/1 values, got ", v[i],
                   " at flat index ", i);
    out.insert(name, f);
  }
  return out;
}

Shape with_batch(const Shape& shape, i64 batch) {
  Shape s = shape;
  s[0] = batch;
  return s;
}

double median_latency_ms(nn::Module& model, const Tensor& x, int repeats) {
  if (repeats <= 0) return 0;
  NoGradGuard no_grad;
  model(x);
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    model(x);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

i64 parameter_count(const nn::Module& model) {
  i64 n = 0;
  for (const auto& [name, p] : model.named_parameters()) n += p.numel();
  return n;
}

}  // namespace

ModelSpeedup::ModelSpeedup(nn::Module& model, Tensor dummy_input, io::StateDict masks, SpeedupOptions options)
    : model_(model), dummy_(std::move(dummy_input)), masks_(std::move(masks)), options_(options) {
  SHRINK_CHECK(dummy_.defined() && dummy_.dim() >= 2 && dummy_.dtype() == DType::Float32,
               "ModelSpeedup: dummy_input: expected a float32 batch [N, ...] of rank >= 2, got ",
               dummy_.defined() ? std::string(dtype_name(dummy_.dtype())) + " " + shape_str(dummy_.shape())
                                : std::string("an undefined tensor"));
  SHRINK_CHECK(options_.verify_batch >= 1, "ModelSpeedup: verify_batch: expected >= 1, got ", options_.verify_batch);
  SHRINK_CHECK(options_.tolerance >= 0, "ModelSpeedup: tolerance: expected >= 0, got ", options_.tolerance);
  SHRINK_CHECK(options_.round_to >= 1, "ModelSpeedup: round_to: expected >= 1, got ", options_.round_to);
}

ModelSpeedup::ModelSpeedup(nn::Module& model, Tensor dummy_input, const std::string& masks_path, SpeedupOptions options)
    : ModelSpeedup(model, std::move(dummy_input), io::load_masks(masks_path), options) {}

SpeedupReport ModelSpeedup::speedup_model() {
  SHRINK_CHECK_T(StateError, !done_, "ModelSpeedup.speedup_model: already done (the model is shrunk); ",
                 "build a new ModelSpeedup for another model");
  check_plain(model_);
  const io::StateDict masks = checked_masks(model_, masks_);
  ModeRestorer modes(model_);
  model_.eval();
  // Nothing changes before the graph and its groups are known to be supported.
  const ChannelGroups groups(trace(model_, dummy_), model_);
  const KeepPlan plan = resolve_masks(groups, masks, options_.resolve, options_.round_to);
  done_ = true;
  SpeedupReport report;
  report.warnings = plan.warnings;
  report.tolerance = options_.tolerance;
  {
    NoGradGuard no_grad;
    io::StateDict params;
    for (const auto& [name, p] : model_.named_parameters()) params.insert(name, p);
    for (const auto& [name, mask] : masks) {
      Tensor p = params.at(name);
      p.mul_(mask);
    }
  }
  Generator gen(options_.seed);
  const Tensor x = randn(with_batch(dummy_.shape(), options_.verify_batch), &gen);
  LayerInputs inputs;
  Tensor reference;
  {
    std::vector<HookHandle> hooks;
    for (const ChannelLayer& layer : groups.layers())
      if (layer.type == "Conv2d" || layer.type == "Linear")
        hooks.push_back(model_.find_module(layer.name)
                            ->register_forward_pre_hook([&inputs, name = layer.name](nn::Module&, const Tensor& in) {
                              inputs[name].push_back(in.detach());
                            }));
    NoGradGuard no_grad;
    reference = model_(x).detach();
    for (auto& h : hooks) h.remove();
  }
  const auto before = compression::count_totals(compression::count_layers(model_, dummy_.shape()));
  report.params_before = parameter_count(model_);
  report.macs_before = before.macs;
  report.latency_before_ms = median_latency_ms(model_, dummy_, options_.latency_repeats);

  report.layers = shrink_layers(model_, groups, plan, inputs, options_.fold_constants, report.inexact);

  const auto after = compression::count_totals(compression::count_layers(model_, dummy_.shape()));
  report.params_after = parameter_count(model_);
  report.macs_after = after.macs;
  report.latency_after_ms = median_latency_ms(model_, dummy_, options_.latency_repeats);
  Tensor shrunk;
  {
    NoGradGuard no_grad;
    shrunk = model_(x).detach();
  }
  SHRINK_CHECK_T(InternalError, shrunk.shape() == reference.shape(), "ModelSpeedup: the shrunk model's output is ",
                 shape_str(shrunk.shape()), ", the masked model's ", shape_str(reference.shape()));
  const float* r = reference.data<float>();
  const float* s = shrunk.data<float>();
  for (i64 i = 0; i < reference.numel(); ++i) {
    report.max_abs_diff = std::max(report.max_abs_diff, static_cast<double>(std::abs(r[i] - s[i])));
    report.max_abs_output = std::max(report.max_abs_output, static_cast<double>(std::abs(r[i])));
  }
  report.verified = report.max_abs_diff <= options_.tolerance * report.max_abs_output;
  if (options_.strict && !report.verified) {
    std::string folds;
    for (const auto& f : report.inexact) folds += "; '" + f.layer + "': " + f.reason;
    SHRINK_CHECK_T(StateError, false,
                   "ModelSpeedup: verification failed: expected max |masked - shrunk| <= ", options_.tolerance,
                   " x max |masked| = ", options_.tolerance * report.max_abs_output, ", got ", report.max_abs_diff,
                   folds.empty() ? std::string() : " (inexact folds" + folds + ")");
  }
  return report;
}

}  // namespace shrink::speedup
