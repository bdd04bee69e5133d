#pragma once
/// \file
/// VGGSmall: features.{0,3,7,10,14,17} convs, {1,4,8,11,15,18} BNs, {6,13,20} max pools,
/// classifier 1152→10 (tests/reference/models.py).

#include "nn/layers.h"

namespace shrink::models {

class VGGSmall : public nn::Cloneable<VGGSmall> {
 public:
  VGGSmall();
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> classifier;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::models
