#pragma once
/// \file
/// InceptionSmall: two blocks of three concatenated branches (1×1 16, 3×3 24, 5×5 8 → 48), as in
/// tests/reference/models.py.

#include "nn/layers.h"

namespace shrink::models {

/// relu(bn(cat([b1(x), b3(x), b5(x)], channels))).
class InceptionBlock : public nn::Cloneable<InceptionBlock> {
 public:
  explicit InceptionBlock(std::int64_t cin);
  std::shared_ptr<nn::Conv2d> b1, b3, b5;
  std::shared_ptr<nn::BatchNorm2d> bn;
 protected:
  Tensor forward(const Tensor& x) override;
};

class InceptionSmall : public nn::Cloneable<InceptionSmall> {
 public:
  InceptionSmall();
  std::shared_ptr<nn::Conv2d> stem;
  std::shared_ptr<InceptionBlock> block1, block2;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::models
