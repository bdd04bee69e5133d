#include "nn/models/resnet.h"

#include "autograd/ops.h"

namespace shrink::models {
namespace {

std::shared_ptr<nn::Conv2d> conv(std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t stride,
                                 std::int64_t padding) {
  return std::make_shared<nn::Conv2d>(cin, cout, k, stride, padding, /*bias=*/false);
}

std::shared_ptr<nn::Sequential> stage(std::int64_t cin, std::int64_t cout, std::int64_t stride) {
  return std::make_shared<nn::Sequential>(nn::Sequential{std::make_shared<BasicBlock>(cin, cout, stride),
                                                         std::make_shared<BasicBlock>(cout, cout, 1),
                                                         std::make_shared<BasicBlock>(cout, cout, 1)});
}

}  // namespace

BasicBlock::BasicBlock(std::int64_t cin, std::int64_t cout, std::int64_t stride) : Cloneable("BasicBlock") {
  register_module("conv1", conv(cin, cout, 3, stride, 1), &BasicBlock::conv1);
  register_module("bn1", std::make_shared<nn::BatchNorm2d>(cout), &BasicBlock::bn1);
  register_module("conv2", conv(cout, cout, 3, 1, 1), &BasicBlock::conv2);
  register_module("bn2", std::make_shared<nn::BatchNorm2d>(cout), &BasicBlock::bn2);
  if (stride != 1 || cin != cout)
    register_module("downsample",
                    std::make_shared<nn::Sequential>(
                        nn::Sequential{conv(cin, cout, 1, stride, 0), std::make_shared<nn::BatchNorm2d>(cout)}),
                    &BasicBlock::downsample);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu((*bn1)((*conv1)(x)));
  out = (*bn2)((*conv2)(out));
  Tensor identity = downsample ? (*downsample)(x) : x;
  return relu(out + identity);
}

ResNet20::ResNet20() : Cloneable("ResNet20") {
  register_module("conv1", conv(1, 16, 3, 1, 1), &ResNet20::conv1);
  register_module("bn1", std::make_shared<nn::BatchNorm2d>(16), &ResNet20::bn1);
  register_module("layer1", stage(16, 16, 1), &ResNet20::layer1);
  register_module("layer2", stage(16, 32, 2), &ResNet20::layer2);
  register_module("layer3", stage(32, 64, 2), &ResNet20::layer3);
  register_module("fc", std::make_shared<nn::Linear>(64, 10), &ResNet20::fc);
}

Tensor ResNet20::forward(const Tensor& x) {
  Tensor h = relu((*bn1)((*conv1)(x)));
  h = (*layer3)((*layer2)((*layer1)(h)));
  h = adaptive_avg_pool2d(h, {1, 1});
  return (*fc)(flatten(h, 1));
}

}  // namespace shrink::models
