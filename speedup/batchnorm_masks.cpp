// BatchNormMasks: a "channel_mask" buffer and parametrization on each BatchNorm2d after a pruned
// Conv2d, copied from the conv's weight mask (examples/speedup_fmnist.cpp shows it in use).
#include "speedup/batchnorm_masks.h"

#include <algorithm>

#include "autograd/ops.h"
#include "speedup/conv_bn_pairs.h"

namespace shrink::speedup {
namespace {

const char* kChannelMask = "channel_mask";

}  // namespace

BatchNormMasks::BatchNormMasks(nn::Module& model, const Tensor& example, const compression::Pruner& pruner) {
  for (const auto& [conv, bn] : conv_bn_pairs(model, example)) {
    const auto it = std::find_if(pruner.layers().begin(), pruner.layers().end(),
                                 [&](const compression::PrunedLayer& l) { return l.name == conv; });
    if (it == pruner.layers().end()) continue;
    nn::ModulePtr module = model.find_module(bn);
    module->register_buffer(kChannelMask, ones({module->param("weight").size(0)}));
    for (const char* name : {"weight", "bias"})
      module->register_parametrization(
          name, [](nn::Module& owner, const Tensor& v) { return v * owner.buffer(kChannelMask); }, kChannelMask);
    pairs_.push_back({it->module, module, bn});
  }
  sync();
}

void BatchNormMasks::sync() {
  for (auto& p : pairs_) {
    const Tensor& mask = p.conv->buffer("weight_mask");  // [out, in/groups, kh, kw]
    const std::int64_t per_channel = mask.numel() / mask.size(0);
    const float* m = mask.data<float>();
    float* c = p.bn->buffer(kChannelMask).data<float>();
    for (std::int64_t o = 0; o < mask.size(0); ++o)
      c[o] = std::any_of(m + o * per_channel, m + (o + 1) * per_channel, [](float v) { return v != 0.0f; });
  }
}

io::StateDict BatchNormMasks::finish() {
  io::StateDict masks;
  for (auto& p : pairs_) {
    const Tensor mask = p.bn->buffer(kChannelMask).clone();
    for (const char* name : {"weight", "bias"}) {
      p.bn->remove_parametrizations(name);
      masks.insert(p.name + "." + name, mask.clone());
    }
    p.bn->remove_buffer(kChannelMask);
  }
  pairs_.clear();
  return masks;
}

void bake_channel_masks(nn::Module& model) {
  model.apply([](const std::string&, nn::Module& m) {
    bool masked = false;
    for (const auto& [name, value] : m.named_buffers(false)) masked = masked || name == kChannelMask;
    if (!masked) return;
    for (const char* name : {"weight", "bias"})
      if (m.is_parametrized(name)) m.remove_parametrizations(name);
    m.remove_buffer(kChannelMask);
  });
}

}  // namespace shrink::speedup
