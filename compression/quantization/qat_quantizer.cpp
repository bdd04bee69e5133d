// QATQuantizer: weights from their current range, activations from moving averages.
#include "compression/quantization/qat_quantizer.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/modules/batchnorm.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observer_registry.h"

namespace shrink::compression {

QATQuantizer::QATQuantizer(nn::ModulePtr model, ConfigList config, QATOptions options)
    : Quantizer("QATQuantizer", std::move(model), std::move(config), {"weight", "input", "output"}),
      options_(std::move(options)) {}

Tensor QATQuantizer::scale_factor(const Fold& fold) {
  const auto& bn = dynamic_cast<const nn::BatchNormBase&>(*fold.bn);
  return div(fold.bn->param_value("weight"), sqrt(add(bn.running_var(), bn.options().eps)));
}

const QATQuantizer::Fold* QATQuantizer::fold_of(const QuantizedLayer& layer) const {
  const auto it = folds_.find(layer.name);
  return it == folds_.end() ? nullptr : &it->second;
}

void QATQuantizer::on_compress() {
  // Everything is checked before anything is attached.
  std::vector<std::pair<QuantizedLayer*, nn::ModulePtr>> pairs;
  for (const auto& [conv_name, bn_name] : options_.fold_bn) {
    const std::string where = name() + ": fold_bn ('" + conv_name + "', '" + bn_name + "')";
    QuantizedLayer* layer = nullptr;
    for (const auto& l : layers())
      if (l->name == conv_name) layer = l.get();
    SHRINK_CHECK(layer != nullptr && layer->type == "Conv2d" && (*layer)[QuantType::Weight].enabled, where,
                 ": expected a Conv2d whose weight the config_list quantizes, got ",
                 layer ? "a " + layer->type + (layer->spec[0].enabled ? "" : " without weight quantization")
                       : std::string("a layer the config_list does not select"));
    SHRINK_CHECK((*layer)[QuantType::Weight].per_channel, where,
                 ": expected per-channel weight quantization (a per-tensor scale does not survive unfolding), got ",
                 (*layer)[QuantType::Weight].scheme_name());
    SHRINK_CHECK(!(*layer)[QuantType::Output].enabled, where,
                 ": the conv's output would be quantized before its BatchNorm; quantize the BatchNorm's output or the "
                 "next layer's input instead");
    const nn::ModulePtr bn = model().find_module(bn_name);
    const auto* norm = dynamic_cast<const nn::BatchNorm2d*>(bn.get());
    SHRINK_CHECK(norm != nullptr && norm->weight().defined() && norm->running_var().defined(), where,
                 ": expected a BatchNorm2d with affine weights and running statistics, got ",
                 bn ? bn->type_name() : std::string("no such module"));
    const std::int64_t channels = layer->module->param("weight").size(0);
    SHRINK_CHECK(norm->num_features() == channels, where, ": expected a BatchNorm2d of ", channels,
                 " features (the conv's output channels), got ", norm->num_features());
    SHRINK_CHECK(!folds_.count(conv_name), where, ": the conv is folded twice");
    folds_[conv_name] = Fold{bn, Tensor()};
    pairs.emplace_back(layer, bn);
  }
  for (auto& [layer, bn] : pairs) {
    Fold* fold = &folds_.at(layer->name);
    nn::Module& conv = *layer->module;
    if (conv.has_param("bias"))
      // The conv runs without its bias; the output hook adds it after the division by sf.
      keep_handle(conv.register_parametrization("bias", nn::ParametrizationFn([fold](nn::Module&, const Tensor& b) {
                                                  fold->bias = b;
                                                  return zeros_like(b);
                                                }),
                                                "quant_fold"));
    keep_handle(conv.register_forward_hook(nn::ForwardHook([fold](nn::Module&, const Tensor&, const Tensor& y) {
      const std::int64_t c = y.size(1);
      Tensor out = div(y, reshape(scale_factor(*fold), {1, c, 1, 1}));
      if (fold->bias.defined()) out = add(out, reshape(fold->bias, {1, c, 1, 1}));
      return out;
    })));
  }
}

void QATQuantizer::check_layer(const QuantizedLayer& layer) const {
  for (const QuantSpec& s : layer.spec)
    SHRINK_CHECK(!s.enabled || (s.bits >= 2 && s.bits <= 16), name(), ": '", layer.name,
                 "': expected quant_bits in [2, 16] for fake quantization, got ", s.bits);
}

std::unique_ptr<Observer> QATQuantizer::make_observer(const QuantizedLayer& layer, QuantType type) const {
  if (type == QuantType::Weight) return nullptr;  // weights: their current range, every forward
  const QuantSpec& s = layer[type];
  return compression::make_observer(s.observer.empty() ? "moving_average_min_max" : s.observer, observer_options(layer, type));
}

Tensor QATQuantizer::quantize_weight(QuantizedLayer& layer, const Tensor& folded_or_not) {
  const auto& stored = layer.qparams[static_cast<std::size_t>(QuantType::Weight)];
  Tensor weight = folded_or_not;
  if (const Fold* fold = fold_of(layer)) {
    const Tensor sf = reshape(scale_factor(*fold), {weight.size(0), 1, 1, 1});
    // Loaded qparams describe the unfolded weight: quantize it, then scale (the hook divides).
    if (layer.frozen) return mul(fake_quantize(weight, *stored), sf);
    weight = mul(weight, sf);
  }
  if (layer.frozen) return fake_quantize(weight, *stored);
  if (steps() < layer.quant_start_step) return weight;
  if (!layer.module->is_training() && stored) return fake_quantize(weight, *stored);
  MinMaxObserver range(observer_options(layer, QuantType::Weight));
  range.observe(weight.detach());
  return quantize_with(layer, QuantType::Weight, weight, range.qparams());
}

Tensor QATQuantizer::quantize_activation(QuantizedLayer& layer, QuantType type, const Tensor& x) {
  const std::size_t i = static_cast<std::size_t>(type);
  if (layer.frozen) return fake_quantize(x, *layer.qparams[i]);
  Observer& observer = *layer.observers[i];
  const bool training = layer.module->is_training();
  if (training) observer.observe(x.detach());
  if (steps() < layer.quant_start_step) return x;
  if (!training) {
    if (layer.qparams[i]) return fake_quantize(x, *layer.qparams[i]);
    if (observer.empty()) return x;
  }
  return quantize_with(layer, type, x, observer.qparams());
}

Tensor QATQuantizer::exported_weight(const QuantizedLayer& layer) const {
  const Fold* fold = fold_of(layer);
  if (!fold || layer.frozen) return Quantizer::exported_weight(layer);
  NoGradGuard no_grad;
  const Tensor sf = reshape(scale_factor(*fold), {-1, 1, 1, 1});
  // fq(W·sf)/sf put back on the unfolded grid, so that the int8 file dequantizes to it exactly.
  return fake_quantize(div(layer.module->param_value("weight"), sf), exported_weight_qparams(layer)).detach();
}

QParams QATQuantizer::exported_weight_qparams(const QuantizedLayer& layer) const {
  QParams q = Quantizer::exported_weight_qparams(layer);
  const Fold* fold = fold_of(layer);
  if (!fold || layer.frozen) return q;
  NoGradGuard no_grad;
  const Tensor sf = scale_factor(*fold);
  Tensor scale = zeros(q.scale.shape());
  for (std::int64_t c = 0; c < sf.numel(); ++c) {
    const float f = sf.data<float>()[c];
    SHRINK_CHECK_T(StateError, std::isfinite(f) && f > 0.0f, name(), ".export_model: '", layer.name,
                   "' is folded with a BatchNorm whose scale factor γ/√(var+eps) is ", f, " for channel ", c,
                   "; the unfolded weight needs it > 0");
    scale.data<float>()[c] = q.scale.data<float>()[c] / f;
  }
  q.scale = scale;
  return q;
}

}  // namespace shrink::compression
