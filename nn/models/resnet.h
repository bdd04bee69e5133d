#pragma once
/// \file
/// ResNet20 (CIFAR-style, 3 stages × 3 BasicBlocks, 16/32/64 channels, 1 input channel), as in
/// tests/reference/models.py.

#include "nn/layers.h"

namespace shrink::models {

/// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is a 1×1 conv + BN
/// ("downsample") when the stride or width changes, the identity otherwise.
class BasicBlock : public nn::Cloneable<BasicBlock> {
 public:
  BasicBlock(std::int64_t cin, std::int64_t cout, std::int64_t stride);
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  /// Null when the shortcut is the identity (PyTorch's `downsample = None`).
  std::shared_ptr<nn::Sequential> downsample;
 protected:
  Tensor forward(const Tensor& x) override;
};

class ResNet20 : public nn::Cloneable<ResNet20> {
 public:
  ResNet20();
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::Sequential> layer1, layer2, layer3;
  std::shared_ptr<nn::Linear> fc;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::models
