#pragma once
/// \file
/// The small classic models of the zoo: MLP (LeNet-300-100), Naive (NNI's MNIST model), LeNet5.
/// Names, shapes and forward match tests/reference/models.py.

#include "nn/layers.h"

namespace shrink::models {

/// fc1 784→300, fc2 300→100, fc3 100→10 with ReLU between.
class MLP : public nn::Cloneable<MLP> {
 public:
  MLP();
  std::shared_ptr<nn::Linear> fc1, fc2, fc3;
 protected:
  Tensor forward(const Tensor& x) override;
};

/// conv1 1→20 5×5, conv2 20→50 5×5, fc1 800→500, fc2 500→10; ReLU and 2×2 max pools as modules.
class Naive : public nn::Cloneable<Naive> {
 public:
  Naive();
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::Linear> fc1, fc2;
  std::shared_ptr<nn::ReLU> relu1, relu2, relu3;
  std::shared_ptr<nn::MaxPool2d> max_pool1, max_pool2;
 protected:
  Tensor forward(const Tensor& x) override;
};

/// conv1 1→6 5×5 pad 2, conv2 6→16 5×5, fc1 400→120, fc2 120→84, fc3 84→10.
class LeNet5 : public nn::Cloneable<LeNet5> {
 public:
  LeNet5();
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::Linear> fc1, fc2, fc3;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::models
