#include "nn/models/vgg.h"

#include "autograd/ops.h"

namespace shrink::models {
namespace {

void add_block(nn::Sequential& seq, std::int64_t cin, std::int64_t cout) {
  seq.push_back(std::make_shared<nn::Conv2d>(cin, cout, 3, 1, 1));
  seq.push_back(std::make_shared<nn::BatchNorm2d>(cout));
  seq.push_back(std::make_shared<nn::ReLU>());
}

}  // namespace

VGGSmall::VGGSmall() : Cloneable("VGGSmall") {
  auto seq = std::make_shared<nn::Sequential>();
  const std::int64_t widths[] = {32, 64, 128};
  std::int64_t cin = 1;
  for (std::int64_t w : widths) {
    add_block(*seq, cin, w);
    add_block(*seq, w, w);
    seq->push_back(std::make_shared<nn::MaxPool2d>(2));
    cin = w;
  }
  register_module("features", seq, &VGGSmall::features);
  register_module("classifier", std::make_shared<nn::Linear>(128 * 3 * 3, 10), &VGGSmall::classifier);
}

Tensor VGGSmall::forward(const Tensor& x) { return (*classifier)(flatten((*features)(x), 1)); }

}  // namespace shrink::models
