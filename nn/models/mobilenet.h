#pragma once
/// \file
/// MobileNetSmall: depthwise-separable blocks (stem 16, then 32 s2, 64 s2, 128, 128), as in
/// tests/reference/models.py.

#include "nn/layers.h"

namespace shrink::models {

/// relu6(pw_bn(pw(relu6(dw_bn(dw(x)))))) with a 3×3 depthwise conv and a 1×1 pointwise conv.
class DepthwiseSeparable : public nn::Cloneable<DepthwiseSeparable> {
 public:
  DepthwiseSeparable(std::int64_t cin, std::int64_t cout, std::int64_t stride);
  std::shared_ptr<nn::Conv2d> dw, pw;
  std::shared_ptr<nn::BatchNorm2d> dw_bn, pw_bn;
 protected:
  Tensor forward(const Tensor& x) override;
};

class MobileNetSmall : public nn::Cloneable<MobileNetSmall> {
 public:
  MobileNetSmall();
  std::shared_ptr<nn::Conv2d> stem;
  std::shared_ptr<nn::BatchNorm2d> stem_bn;
  std::shared_ptr<nn::Sequential> blocks;
  std::shared_ptr<nn::Linear> fc;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::models
