// ActivationAPoZRankPruner, ActivationMeanRankPruner: per-channel statistics of the activated
// layer outputs, collected by forward hooks.
#include "compression/pruning/activation_pruners.h"

#include <algorithm>
#include <vector>

#include "autograd/error.h"
#include "autograd/kernels/parallel.h"
#include "compression/pruning/weight_pruners.h"

namespace shrink::compression {
namespace {

ActivationPruner::Activation parse_activation(const std::string& pruner, const std::string& name) {
  if (name == "relu") return ActivationPruner::Activation::ReLU;
  if (name == "relu6") return ActivationPruner::Activation::ReLU6;
  if (name == "identity") return ActivationPruner::Activation::Identity;
  throw ValueError(pruner + ": expected activation 'relu', 'relu6' or 'identity', got '" + name + "'");
}

template <ActivationPruner::Activation A>
float activate(float v) {
  if constexpr (A == ActivationPruner::Activation::ReLU) return v > 0.0f ? v : 0.0f;
  if constexpr (A == ActivationPruner::Activation::ReLU6) return v > 0.0f ? std::min(v, 6.0f) : 0.0f;
  return v;
}

/// Per channel of a [outer, channels, inner] tensor: the sum and the number of zeros of the
/// activated values. Each channel is reduced by one thread in a fixed order (deterministic);
/// rows of `inner` values are summed in float, rows added in double.
template <ActivationPruner::Activation A>
void channel_sums(const float* v, std::int64_t outer, std::int64_t channels, std::int64_t inner, double* sums,
                  std::int64_t* zeros) {
  const std::int64_t grain = std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(outer * inner, 1));
  kernels::parallel_for(channels, grain, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      double total = 0;
      std::int64_t zero_count = 0;
      for (std::int64_t o = 0; o < outer; ++o) {
        const float* row = v + (o * channels + c) * inner;
        float row_sum = 0;
        std::int64_t row_zeros = 0;
        for (std::int64_t i = 0; i < inner; ++i) {
          const float a = activate<A>(row[i]);
          row_sum += a;
          row_zeros += a == 0.0f;
        }
        total += row_sum;
        zero_count += row_zeros;
      }
      sums[c] = total;
      zeros[c] = zero_count;
    }
  });
}

const char* const kCollectHint = "after compress(), run the model on some batches, then call update_masks()";

}  // namespace

ActivationPruner::ActivationPruner(std::string name, nn::ModulePtr model, ConfigList config,
                                   ActivationPrunerOptions options, bool count_zeros)
    : DataDrivenPruner(name, std::move(model), std::move(config), channel_pruner_rules(name),
                       {.max_batches = options.max_batches, .reset_after_update = options.reset_after_update},
                       kCollectHint),
      activation_(parse_activation(name, options.activation)), count_zeros_(count_zeros) {}

HookHandle ActivationPruner::install_collector(std::size_t index) {
  return layers()[index].module->register_forward_hook(
      [this, index](nn::Module&, const Tensor&, const Tensor& output) { collect(index, output); });
}

void ActivationPruner::collect(std::size_t index, const Tensor& output) {
  if (!accepts_batch(index)) return;
  const PrunedLayer& layer = layers()[index];
  ChannelStatistics& s = statistics_at(index);
  const Tensor y = output.dtype() == DType::Float32 ? output.detach() : output.to(DType::Float32);
  // Channels: dim 1 of a Conv2d output [N, C, H, W], the last dim of a Linear output [..., C].
  const std::int64_t cdim = layer.type == "Conv2d" ? 1 : y.dim() - 1;
  const std::int64_t channels = s.sum.numel();
  SHRINK_CHECK_SHAPE(y.dim() > cdim && y.size(cdim) == channels, name(), ": the output of '", layer.name, "' has shape ",
                     shape_str(y.shape()), ", expected ", channels, " channels in dim ", cdim);
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < cdim; ++d) outer *= y.size(d);
  for (std::int64_t d = cdim + 1; d < y.dim(); ++d) inner *= y.size(d);
  const float* v = y.data<float>();
  std::vector<double> sums(static_cast<std::size_t>(channels));
  std::vector<std::int64_t> zeros(static_cast<std::size_t>(channels));
  switch (activation_) {
    case Activation::ReLU: channel_sums<Activation::ReLU>(v, outer, channels, inner, sums.data(), zeros.data()); break;
    case Activation::ReLU6: channel_sums<Activation::ReLU6>(v, outer, channels, inner, sums.data(), zeros.data()); break;
    case Activation::Identity:
      channel_sums<Activation::Identity>(v, outer, channels, inner, sums.data(), zeros.data());
      break;
  }
  for (std::int64_t c = 0; c < channels; ++c) {
    if (count_zeros_) {
      s.sum.data<std::int64_t>()[c] += zeros[c];
    } else {
      s.sum.data<float>()[c] += static_cast<float>(sums[c]);
    }
  }
  s.count += outer * inner;
  ++s.batches;
}

ActivationAPoZRankPruner::ActivationAPoZRankPruner(nn::ModulePtr model, ConfigList config,
                                                   ActivationPrunerOptions options)
    : ActivationPruner("ActivationAPoZRankPruner", std::move(model), std::move(config), std::move(options), true) {}

Tensor ActivationAPoZRankPruner::metric(const PrunedLayer& layer) {
  const ChannelStatistics& s = statistics(layer.name);
  Tensor out = Tensor::empty({s.sum.numel()});
  for (std::int64_t c = 0; c < s.sum.numel(); ++c)
    out.data<float>()[c] = static_cast<float>(1.0 - static_cast<double>(s.sum.data<std::int64_t>()[c]) / s.count);
  return out;
}

ActivationMeanRankPruner::ActivationMeanRankPruner(nn::ModulePtr model, ConfigList config,
                                                   ActivationPrunerOptions options)
    : ActivationPruner("ActivationMeanRankPruner", std::move(model), std::move(config), std::move(options), false) {}

Tensor ActivationMeanRankPruner::metric(const PrunedLayer& layer) {
  const ChannelStatistics& s = statistics(layer.name);
  Tensor out = Tensor::empty({s.sum.numel()});
  for (std::int64_t c = 0; c < s.sum.numel(); ++c)
    out.data<float>()[c] = static_cast<float>(static_cast<double>(s.sum.data<float>()[c]) / s.count);
  return out;
}

}  // namespace shrink::compression
