// The pruners' criteria applied in place to one layer (sensitivity analysis).
#include "compression/pruning/layer_pruning.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "compression/pruning/criteria.h"

namespace shrink::compression {
namespace {

Tensor weight_of(nn::Module& model, const std::string& layer, const char* who) {
  const nn::ModulePtr m = model.find_module(layer);
  SHRINK_CHECK(m != nullptr, who, ": expected a module named '", layer, "', got none");
  SHRINK_CHECK(m->has_param("weight") && m->param("weight").dim() >= 1, who, ": '", layer, "' (", m->type_name(),
               ") has no weight to prune");
  return m->param("weight");
}

std::int64_t floor_count(double ratio, std::int64_t n) {
  SHRINK_CHECK(ratio >= 0 && ratio < 1, "layer pruning: expected a ratio in [0, 1), got ", ratio);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(ratio * static_cast<double>(n) + 1e-9)), 0, n);
}

}  // namespace

LayerPruneFn filter_pruning(int p) {
  SHRINK_CHECK(p == 1 || p == 2, "filter_pruning: expected p = 1 or 2, got ", p);
  return [p](nn::Module& model, const std::string& layer, double ratio) {
    Tensor w = weight_of(model, layer, "filter_pruning");
    const nn::ModulePtr m = model.find_module(layer);
    Tensor bias = m->has_param("bias") ? m->param("bias") : Tensor();
    const std::int64_t channels = w.size(0), per = w.numel() / channels;
    NoGradGuard no_grad;
    for (const std::int64_t c : lowest_units(channel_norms(w, p), floor_count(ratio, channels))) {
      std::fill(w.data<float>() + c * per, w.data<float>() + (c + 1) * per, 0.0f);
      if (bias.defined()) bias.data<float>()[c] = 0.0f;
    }
  };
}

LayerPruneFn level_pruning() {
  return [](nn::Module& model, const std::string& layer, double ratio) {
    Tensor w = weight_of(model, layer, "level_pruning");
    NoGradGuard no_grad;
    for (const std::int64_t i : lowest_units(magnitude(w), floor_count(ratio, w.numel()))) w.data<float>()[i] = 0.0f;
  };
}

}  // namespace shrink::compression
