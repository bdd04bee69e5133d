#include "compression/analysis/counting.h"

#include <algorithm>
#include <utility>

#include "autograd/grad_mode.h"
#include "compression/analysis/error_context.h"
#include "nn/modules/batchnorm.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"

namespace shrink::compression {
namespace {

std::int64_t count_nonzero(const Tensor& t) {
  if (!t.defined()) return 0;
  const Tensor c = t.dtype() == DType::Float32 ? t : t.to(DType::Float32);
  const float* p = c.data<float>();
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < c.numel(); ++i) n += p[i] != 0.0f;
  return n;
}

std::int64_t numel_of(const Tensor& t) { return t.defined() ? t.numel() : 0; }

Shape without_batch(const Shape& s) { return s.empty() ? s : Shape(s.begin() + 1, s.end()); }

/// Removes the hooks and restores each module's own train/eval flag, whatever happens.
class CountingSession {
 public:
  explicit CountingSession(nn::Module& model) {
    for (const auto& [name, m] : model.named_modules(/*include_self=*/true)) modes_.emplace_back(m, m->is_training());
  }
  ~CountingSession() {
    for (auto& h : hooks_) h.remove();
    // train(on) recurses, and modules come parents first: each child's own flag wins.
    for (const auto& [m, training] : modes_) m->train(training);
  }
  CountingSession(const CountingSession&) = delete;
  CountingSession& operator=(const CountingSession&) = delete;
  void keep(HookHandle h) { hooks_.push_back(std::move(h)); }

 private:
  std::vector<std::pair<nn::ModulePtr, bool>> modes_;
  std::vector<HookHandle> hooks_;
};

}  // namespace

double LayerCount::sparsity() const {
  return params == 0 ? 0.0 : 1.0 - static_cast<double>(nonzero_params) / static_cast<double>(params);
}

double CountTotals::sparsity() const {
  return params == 0 ? 0.0 : 1.0 - static_cast<double>(nonzero_params) / static_cast<double>(params);
}

std::vector<LayerCount> count_layers(nn::Module& model, const Shape& input_shape) {
  bool sizes_ok = input_shape.size() >= 2;
  for (const auto s : input_shape) sizes_ok = sizes_ok && s >= 1;
  SHRINK_CHECK(sizes_ok,
               "count_layers: expected an input shape with a batch dimension first and sizes >= 1, "
               "e.g. [1, 1, 28, 28], got ",
               shape_str(input_shape));
  const std::int64_t batch = input_shape[0];

  std::vector<LayerCount> counts;
  std::vector<nn::Module*> layers;  // counts[i] is layers[i]'s
  for (const auto& [name, m] : model.named_modules(/*include_self=*/true)) {
    // A module registered at two places is one layer, under its first name.
    if (std::any_of(layers.begin(), layers.end(), [&m = m](const nn::Module* l) { return l == m.get(); })) continue;
    const bool has_macs = m->as<nn::Conv2d>() != nullptr || m->as<nn::Linear>() != nullptr;
    if (!has_macs && m->as<nn::BatchNormBase>() == nullptr) continue;
    LayerCount c;
    c.name = name;
    c.type = m->type_name();
    c.has_macs = has_macs;
    if (m->has_param("weight")) c.weight_shape = m->param("weight").shape();
    counts.push_back(std::move(c));
    layers.push_back(m.get());
  }

  NoGradGuard no_grad;
  {
    CountingSession session(model);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      session.keep(
          layers[i]->register_forward_hook([&counts, i, batch](nn::Module& m, const Tensor& x, const Tensor& y) {
            LayerCount& c = counts[i];
            if (c.calls++ == 0) {
              c.input_shape = without_batch(x.shape());
              c.output_shape = without_batch(y.shape());
            }
            if (!c.has_macs) return;
            // Each weight element is used once per output position (output elements / output
            // channels; the output channels are the weight's first dimension for Conv2d and Linear).
            const Tensor w = m.param_value("weight");
            const std::int64_t positions = y.numel() / w.size(0);
            c.macs += positions * w.numel() / batch;
            c.effective_macs += positions * count_nonzero(w) / batch;
          }));
    }
    model.eval();
    try {
      model(zeros(input_shape));
    } catch (...) {
      detail::rethrow_with_context("count_layers: ");
    }
  }

  for (std::size_t i = 0; i < layers.size(); ++i) {
    nn::Module& m = *layers[i];
    const Tensor w = m.param_value("weight", /*optional=*/true);
    const Tensor b = m.param_value("bias", /*optional=*/true);
    counts[i].params = numel_of(w) + numel_of(b);
    // A bias of 0 is an ordinary value (BatchNorm's starts at 0); it counts as pruned only where
    // a parametrization (a pruner's bias_mask) zeroes it.
    counts[i].nonzero_params = count_nonzero(w) + (m.is_parametrized("bias") ? count_nonzero(b) : numel_of(b));
  }
  return counts;
}

CountTotals count_totals(const std::vector<LayerCount>& layers) {
  CountTotals t;
  for (const auto& c : layers) {
    t.params += c.params;
    t.nonzero_params += c.nonzero_params;
    t.macs += c.macs;
    t.effective_macs += c.effective_macs;
  }
  return t;
}

std::map<std::string, std::int64_t> macs_by_layer(const std::vector<LayerCount>& layers) {
  std::map<std::string, std::int64_t> out;
  for (const auto& c : layers)
    if (c.has_macs) out[c.name] = c.macs;
  return out;
}

}  // namespace shrink::compression
