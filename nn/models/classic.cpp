#include "nn/models/classic.h"

#include "autograd/ops.h"

namespace shrink::models {
namespace {
Pool2dParams pool2() { return Pool2dParams{}; }  // kernel 2, stride = kernel
}  // namespace

MLP::MLP() : Cloneable("MLP") {
  register_module("fc1", std::make_shared<nn::Linear>(784, 300), &MLP::fc1);
  register_module("fc2", std::make_shared<nn::Linear>(300, 100), &MLP::fc2);
  register_module("fc3", std::make_shared<nn::Linear>(100, 10), &MLP::fc3);
}

Tensor MLP::forward(const Tensor& x) {
  Tensor h = flatten(x, 1);
  return (*fc3)(relu((*fc2)(relu((*fc1)(h)))));
}

Naive::Naive() : Cloneable("Naive") {
  register_module("conv1", std::make_shared<nn::Conv2d>(1, 20, 5, 1), &Naive::conv1);
  register_module("conv2", std::make_shared<nn::Conv2d>(20, 50, 5, 1), &Naive::conv2);
  register_module("fc1", std::make_shared<nn::Linear>(4 * 4 * 50, 500), &Naive::fc1);
  register_module("fc2", std::make_shared<nn::Linear>(500, 10), &Naive::fc2);
  register_module("relu1", std::make_shared<nn::ReLU>(), &Naive::relu1);
  register_module("relu2", std::make_shared<nn::ReLU>(), &Naive::relu2);
  register_module("relu3", std::make_shared<nn::ReLU>(), &Naive::relu3);
  register_module("max_pool1", std::make_shared<nn::MaxPool2d>(2, 2), &Naive::max_pool1);
  register_module("max_pool2", std::make_shared<nn::MaxPool2d>(2, 2), &Naive::max_pool2);
}

Tensor Naive::forward(const Tensor& x) {
  Tensor h = (*max_pool1)((*relu1)((*conv1)(x)));
  h = (*max_pool2)((*relu2)((*conv2)(h)));
  h = flatten(h, 1);
  h = (*relu3)((*fc1)(h));
  return (*fc2)(h);
}

LeNet5::LeNet5() : Cloneable("LeNet5") {
  register_module("conv1", std::make_shared<nn::Conv2d>(1, 6, 5, 1, 2), &LeNet5::conv1);
  register_module("conv2", std::make_shared<nn::Conv2d>(6, 16, 5), &LeNet5::conv2);
  register_module("fc1", std::make_shared<nn::Linear>(16 * 5 * 5, 120), &LeNet5::fc1);
  register_module("fc2", std::make_shared<nn::Linear>(120, 84), &LeNet5::fc2);
  register_module("fc3", std::make_shared<nn::Linear>(84, 10), &LeNet5::fc3);
}

Tensor LeNet5::forward(const Tensor& x) {
  Tensor h = max_pool2d(relu((*conv1)(x)), pool2());
  h = max_pool2d(relu((*conv2)(h)), pool2());
  h = flatten(h, 1);
  return (*fc3)(relu((*fc2)(relu((*fc1)(h)))));
}

}  // namespace shrink::models
