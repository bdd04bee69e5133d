// Building the smaller layers: gather kept rows/columns, fold constants, replace_module.
#include "speedup/shrink_layers.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "nn/modules/batchnorm.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"

namespace shrink::speedup {
namespace {

using i64 = std::int64_t;
using Index = std::vector<i64>;

Index all(i64 n) {
  Index out(static_cast<std::size_t>(n));
  for (i64 i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = i;
  return out;
}

/// w[rows][:, cols] for w of shape [R, C, rest...] (cols empty: keep every column); a 1-D w
/// takes rows only.
Tensor gather(const Tensor& w, const Index& rows, const Index& cols) {
  const Tensor src = w.detach().to(DType::Float32);
  Shape shape = src.shape();
  const i64 in_cols = shape.size() > 1 ? shape[1] : 1;
  const i64 rest = shape.size() > 1 ? src.numel() / (shape[0] * in_cols) : 1;
  const Index& c_idx = cols.empty() || shape.size() == 1 ? all(in_cols) : cols;
  shape[0] = static_cast<i64>(rows.size());
  if (shape.size() > 1) shape[1] = static_cast<i64>(c_idx.size());
  Tensor out = empty(shape);
  const float* s = src.data<float>();
  float* d = out.data<float>();
  for (i64 r : rows)
    for (i64 c : c_idx) {
      const float* from = s + (r * in_cols + c) * rest;
      d = std::copy(from, from + rest, d);
    }
  return out;
}

void set_param(nn::Module& m, const std::string& name, const Tensor& value, const Tensor& like) {
  NoGradGuard no_grad;
  m.param(name).copy_(value);
  if (like.defined()) m.param(name).requires_grad_(like.requires_grad());
}

/// Summary of one removed input channel over the batch and space of every recorded call.
struct ChannelValue {
  bool constant = true;
  float value = 0, low = 0, high = 0;
};

ChannelValue channel_value(const std::vector<Tensor>& calls, i64 c) {
  ChannelValue v;
  bool first = true;
  for (const Tensor& x : calls) {
    const i64 n = x.shape()[0], channels = x.shape()[1], inner = x.numel() / (n * channels);
    const float* p = x.data<float>();
    for (i64 b = 0; b < n; ++b)
      for (i64 k = 0; k < inner; ++k) {
        const float e = p[(b * channels + c) * inner + k];
        v.low = first ? e : std::min(v.low, e);
        v.high = first ? e : std::max(v.high, e);
        first = false;
      }
  }
  const float scale = std::max({1.0f, std::abs(v.low), std::abs(v.high)});
  v.constant = v.high - v.low <= 1e-5f * scale;
  v.value = 0.5f * (v.low + v.high);
  return v;
}

/// Folds the constants of removed input channels into `bias` ([out] of the kept rows); returns
/// whether anything nonzero was folded. Records an InexactFold for a padded conv or a channel
/// that is not constant.
bool fold_constants(const ChannelLayer& layer, const Tensor& weight, const Index& rows, const Index& kept_in,
                    bool padded, const std::string& padding, const std::vector<Tensor>& calls, std::vector<float>& bias,
                    std::vector<InexactFold>& inexact) {
  const i64 in = weight.shape()[1];
  const i64 rest = weight.numel() / (weight.shape()[0] * in);
  const float* w = weight.data<float>();
  std::vector<bool> keep(static_cast<std::size_t>(in), false);
  for (i64 c : kept_in) keep[static_cast<std::size_t>(c)] = true;
  bool folded = false;
  i64 varying = 0, first_varying = -1;
  ChannelValue worst;
  for (i64 c = 0; c < in; ++c) {
    if (keep[static_cast<std::size_t>(c)]) continue;
    const ChannelValue v = channel_value(calls, c);
    if (!v.constant) {
      if (varying++ == 0) first_varying = c, worst = v;
      continue;
    }
    if (v.value == 0.0f) continue;
    folded = true;
    for (std::size_t o = 0; o < rows.size(); ++o) {
      double s = 0;
      for (i64 k = 0; k < rest; ++k) s += w[(rows[o] * in + c) * rest + k];
      bias[o] += static_cast<float>(s * v.value);
    }
  }
  if (folded && padded)
    inexact.push_back({layer.name, "padded conv (padding " + padding +
                                       "): the folded constants of removed input channels reach the border outputs "
                                       "through fewer taps"});
  if (varying > 0) {
    std::ostringstream os;
    os << varying << " removed input channel(s) are not constant in the masked model (channel " << first_varying
       << " ranges over [" << worst.low << ", " << worst.high << "]): removing them changes the output";
    inexact.push_back({layer.name, os.str()});
  }
  return folded;
}

std::vector<float> to_floats(const Tensor& t, i64 n) {
  if (!t.defined()) return std::vector<float>(static_cast<std::size_t>(n), 0.0f);
  const Tensor f = t.detach().to(DType::Float32);
  return std::vector<float>(f.data<float>(), f.data<float>() + n);
}

LayerShrink shrink_weighted(nn::Module& model, const ChannelLayer& layer, const KeepPlan& plan,
                            const LayerInputs& inputs, bool fold, std::vector<InexactFold>& inexact) {
  nn::ModulePtr old = model.find_module(layer.name);
  const bool is_conv = layer.type == "Conv2d";
  const Tensor weight = old->param("weight").detach();
  const Tensor bias = old->has_param("bias") ? old->param("bias") : Tensor();
  const i64 out_before = weight.shape()[0];
  const i64 in_before = is_conv ? old->as<nn::Conv2d>()->options().in_channels : weight.shape()[1];
  Index rows = plan.kept_indices(layer.out_classes);
  // Depthwise: in = out channels; grouped: every input stays (pinned), rows per group.
  Index cols = layer.depthwise || layer.groups > 1 ? Index{} : plan.kept_indices(layer.in_classes);
  const i64 in_after = layer.depthwise    ? static_cast<i64>(rows.size())
                       : layer.groups > 1 ? in_before
                                          : static_cast<i64>(cols.size());
  LayerShrink row{layer.name, layer.type, in_before, in_after, out_before, static_cast<i64>(rows.size())};
  std::vector<float> new_bias = to_floats(bias.defined() ? gather(bias, rows, {}) : Tensor(), row.out_after);
  if (fold && !cols.empty() && static_cast<i64>(cols.size()) < in_before) {
    const auto it = inputs.find(layer.name);
    SHRINK_CHECK_T(InternalError, it != inputs.end(), "ModelSpeedup: no recorded input for '", layer.name, "'");
    bool padded = false;
    std::string padding;
    if (is_conv) {
      const auto& p = old->as<nn::Conv2d>()->options().padding;
      padded = p[0] > 0 || p[1] > 0;
      std::ostringstream os;
      os << "[" << p[0] << ", " << p[1] << "]";
      padding = os.str();
    }
    row.folded =
        fold_constants(layer, weight.to(DType::Float32), rows, cols, padded, padding, it->second, new_bias, inexact);
  }
  if (row.in_after == in_before && row.out_after == out_before && !row.folded) return row;
  const bool has_bias = bias.defined() || row.folded;
  nn::ModulePtr fresh;
  if (is_conv) {
    nn::Conv2dOptions o = old->as<nn::Conv2d>()->options();
    o.in_channels = row.in_after;
    o.out_channels = row.out_after;
    if (layer.depthwise) o.groups = row.out_after;
    o.bias = has_bias;
    fresh = std::make_shared<nn::Conv2d>(o);
  } else {
    fresh = std::make_shared<nn::Linear>(row.in_after, row.out_after, has_bias);
  }
  set_param(*fresh, "weight", gather(weight, rows, cols), old->param("weight"));
  if (has_bias) set_param(*fresh, "bias", from_vector(new_bias, {row.out_after}), bias);
  fresh->train(old->is_training());
  model.replace_module(layer.name, fresh);
  return row;
}

LayerShrink shrink_batchnorm(nn::Module& model, const ChannelLayer& layer, const KeepPlan& plan) {
  nn::ModulePtr old = model.find_module(layer.name);
  const auto* bn = old->as<nn::BatchNormBase>();
  const Index keep = plan.kept_indices(layer.out_classes);
  const i64 before = bn->num_features(), after = static_cast<i64>(keep.size());
  LayerShrink row{layer.name, layer.type, before, after, before, after};
  if (after == before) return row;
  nn::BatchNormOptions o = bn->options();
  o.num_features = after;
  nn::ModulePtr fresh = layer.type == "BatchNorm2d" ? nn::ModulePtr(std::make_shared<nn::BatchNorm2d>(o))
                                                    : nn::ModulePtr(std::make_shared<nn::BatchNorm1d>(o));
  NoGradGuard no_grad;
  for (const char* p : {"weight", "bias"})
    if (old->has_param(p)) set_param(*fresh, p, gather(old->param(p), keep, {}), old->param(p));
  for (const char* b : {"running_mean", "running_var"})
    if (old->has_buffer(b) && old->buffer(b).defined()) fresh->buffer(b).copy_(gather(old->buffer(b), keep, {}));
  if (old->has_buffer("num_batches_tracked") && old->buffer("num_batches_tracked").defined())
    fresh->buffer("num_batches_tracked").copy_(old->buffer("num_batches_tracked"));
  fresh->train(old->is_training());
  model.replace_module(layer.name, fresh);
  return row;
}

}  // namespace

std::vector<LayerShrink> shrink_layers(nn::Module& model, const ChannelGroups& groups, const KeepPlan& plan,
                                       const LayerInputs& inputs, bool fold, std::vector<InexactFold>& inexact) {
  std::vector<LayerShrink> rows;
  for (const ChannelLayer& layer : groups.layers())
    rows.push_back(layer.type == "Conv2d" || layer.type == "Linear"
                       ? shrink_weighted(model, layer, plan, inputs, fold, inexact)
                       : shrink_batchnorm(model, layer, plan));
  return rows;
}

}  // namespace shrink::speedup
