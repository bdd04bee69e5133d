// fold_batchnorm: W·sf and β + (b − μ)·sf per output channel, then an Identity for the BatchNorm.
#include "speedup/fold_batchnorm.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "nn/layers.h"
#include "speedup/conv_bn_pairs.h"

namespace shrink::speedup {

std::shared_ptr<nn::Conv2d> fold_conv_bn(const nn::Conv2d& conv, const nn::BatchNorm2d& bn) {
  const std::int64_t c = conv.options().out_channels;
  SHRINK_CHECK(bn.running_mean().defined() && bn.running_var().defined(),
               "fold_conv_bn: expected a BatchNorm2d with running statistics, got one without "
               "(track_running_stats=false)");
  SHRINK_CHECK(bn.num_features() == c, "fold_conv_bn: expected a BatchNorm2d of ", c,
               " features (the conv's out_channels), got ", bn.num_features());
  NoGradGuard no_grad;
  const std::int64_t per_channel = conv.weight().numel() / c;
  nn::Conv2dOptions options = conv.options();
  options.bias = true;
  auto folded = std::make_shared<nn::Conv2d>(options);
  const float* w = conv.weight().data<float>();
  const float* b = conv.bias().defined() ? conv.bias().data<float>() : nullptr;
  const float* mean = bn.running_mean().data<float>();
  const float* var = bn.running_var().data<float>();
  const float* gamma = bn.weight().defined() ? bn.weight().data<float>() : nullptr;
  const float* beta = bn.bias().defined() ? bn.bias().data<float>() : nullptr;
  float* fw = folded->weight().data<float>();
  float* fb = folded->bias().data<float>();
  for (std::int64_t o = 0; o < c; ++o) {
    const float sf = (gamma ? gamma[o] : 1.0f) / std::sqrt(var[o] + bn.options().eps);
    for (std::int64_t k = 0; k < per_channel; ++k) fw[o * per_channel + k] = w[o * per_channel + k] * sf;
    fb[o] = (beta ? beta[o] : 0.0f) + ((b ? b[o] : 0.0f) - mean[o]) * sf;
  }
  folded->train(conv.is_training());
  return folded;
}

std::vector<std::pair<std::string, std::string>> fold_batchnorm(nn::Module& model, const Tensor& example) {
  const auto pairs = conv_bn_pairs(model, example);
  for (const auto& [conv_name, bn_name] : pairs)
    for (const std::string& name : {conv_name, bn_name}) {
      const nn::ModulePtr m = model.find_module(name);
      SHRINK_CHECK_T(StateError, !m->is_parametrized(), "fold_batchnorm: '", name, "' (", m->type_name(),
                     ") carries a parametrization (a pruner or quantizer is attached); unwrap it first");
      const auto* bn = dynamic_cast<const nn::BatchNorm2d*>(m.get());
      SHRINK_CHECK(name == conv_name || (bn && bn->running_var().defined()), "fold_batchnorm: '", name,
                   "' has no running statistics to fold");
    }
  NoGradGuard no_grad;
  std::vector<std::pair<std::string, std::string>> folded_pairs;
  for (const auto& [conv_name, bn_name] : pairs) {
    const nn::ModulePtr conv_module = model.find_module(conv_name), bn_module_ref = model.find_module(bn_name);
    auto& conv = *conv_module->as<nn::Conv2d>();
    auto& bn = *bn_module_ref->as<nn::BatchNorm2d>();
    const std::shared_ptr<nn::Conv2d> folded = fold_conv_bn(conv, bn);
    // The BatchNorm goes first: a typed member declared as BatchNorm2d cannot hold an Identity,
    // and then the pair stays as it is.
    try {
      model.replace_module(bn_name, std::make_shared<nn::Identity>());
    } catch (const ValueError&) {
      continue;
    }
    model.replace_module(conv_name, folded);
    folded_pairs.emplace_back(conv_name, bn_name);
  }
  return folded_pairs;
}

}  // namespace shrink::speedup
