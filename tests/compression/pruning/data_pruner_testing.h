#pragma once
/// \file
/// Helpers of the data-driven pruner tests (Slim, TaylorFOWeight, Activation*): zoo batches,
/// counting pruned channels, one training step through a masked model.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "compression/pruning/pruner.h"
#include "nn/optim/sgd.h"

namespace shrink::testing {

/// A Fashion-MNIST-shaped batch of 2 and its targets.
inline Tensor zoo_input() { return randn({2, 1, 28, 28}); }
inline Tensor zoo_targets() { return from_vector(std::vector<std::int64_t>{3, 7}, {2}); }

/// Output channels (dim 0) whose every mask value is 0.
inline std::int64_t pruned_channels(const Tensor& mask) {
  const std::int64_t channels = mask.size(0), per = mask.numel() / channels;
  const std::vector<float> v = mask.to_vector();
  std::int64_t n = 0;
  for (std::int64_t c = 0; c < channels; ++c) {
    bool all_zero = true;
    for (std::int64_t i = c * per; i < (c + 1) * per; ++i) all_zero = all_zero && v[i] == 0.0f;
    n += all_zero;
  }
  return n;
}

/// Every layer of `pruner` prunes floor(s · channels) output channels, its bias mask agrees.
inline void expect_channel_sparsity(const compression::Pruner& pruner, double s) {
  const io::StateDict masks = pruner.get_masks();
  for (const auto& layer : pruner.layers()) {
    const Tensor w = masks.at(layer.name + ".weight");
    const auto expected = static_cast<std::int64_t>(std::floor(s * static_cast<double>(w.size(0))));
    EXPECT_EQ(pruned_channels(w), expected) << layer.name;
    if (masks.contains(layer.name + ".bias")) EXPECT_EQ(pruned_channels(masks.at(layer.name + ".bias")), expected) << layer.name;
  }
}

/// One SGD step on a zoo batch with `extra_loss` added (may return an undefined tensor); expects a
/// finite loss and output.
inline void expect_finite_training_step(nn::Module& model, const std::function<Tensor()>& extra_loss = nullptr) {
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.01));
  sgd.zero_grad();
  const Tensor out = model(zoo_input());
  Tensor loss = cross_entropy(out, zoo_targets());
  if (extra_loss) loss = add(loss, extra_loss());
  loss.backward();
  sgd.step();
  for (const float v : out.to_vector()) ASSERT_TRUE(std::isfinite(v));
  EXPECT_TRUE(std::isfinite(loss.item<float>()));
}

}  // namespace shrink::testing
