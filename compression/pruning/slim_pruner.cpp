// SlimPruner: BatchNorm2d channels by |γ|, and the L1 regulariser on γ.
#include "compression/pruning/slim_pruner.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "compression/pruning/criteria.h"

namespace shrink::compression {
namespace {

ConfigRules slim_rules() {
  ConfigRules rules;
  rules.op_types = {"BatchNorm2d"};
  rules.default_op_types = {"BatchNorm2d"};
  return rules;
}

}  // namespace

SlimPruner::SlimPruner(nn::ModulePtr model, ConfigList config, SlimPrunerOptions options)
    : Pruner("SlimPruner", std::move(model), config, slim_rules(), MaskGranularity::OutputChannel),
      config_(std::move(config)), options_(options) {
  SHRINK_CHECK(std::isfinite(options_.scale) && options_.scale >= 0, "SlimPruner: expected scale >= 0 (λ of the L1 ",
               "penalty on BatchNorm γ), got ", options_.scale);
}

Tensor SlimPruner::metric(const PrunedLayer& layer) { return magnitude(parameter(layer, "weight")); }

Tensor SlimPruner::regularization() const {
  std::vector<std::pair<std::string, nn::ModulePtr>> modules;
  if (!layers().empty()) {
    for (const auto& layer : layers()) modules.emplace_back(layer.name, layer.module);
  } else {
    if (selected_.empty())
      for (const SelectedLayer& s : select_layers(model(), config_, rules())) selected_.emplace_back(s.name, s.module);
    modules = selected_;
  }
  Tensor total;
  for (const auto& [layer, module] : modules) {
    const Tensor gamma = module->param_value("weight", true);
    SHRINK_CHECK(gamma.defined(), name(), ".regularization: '", layer, "' (BatchNorm2d) has no weight (Hint: a ",
                 "BatchNorm2d built with affine=false has no γ to regularise)");
    const Tensor l1 = sum(abs(gamma));
    total = total.defined() ? add(total, l1) : l1;
  }
  return mul(total, static_cast<float>(options_.scale));
}

}  // namespace shrink::compression
