#include "nn/models/mobilenet.h"

#include "autograd/ops.h"

namespace shrink::models {

DepthwiseSeparable::DepthwiseSeparable(std::int64_t cin, std::int64_t cout, std::int64_t stride)
    : Cloneable("DepthwiseSeparable") {
  nn::Conv2dOptions dw_options{cin, cin, {3, 3}, {stride, stride}, {1, 1}, {1, 1}, cin, false};
  register_module("dw", std::make_shared<nn::Conv2d>(dw_options), &DepthwiseSeparable::dw);
  register_module("dw_bn", std::make_shared<nn::BatchNorm2d>(cin), &DepthwiseSeparable::dw_bn);
  register_module("pw", std::make_shared<nn::Conv2d>(cin, cout, 1, 1, 0, /*bias=*/false), &DepthwiseSeparable::pw);
  register_module("pw_bn", std::make_shared<nn::BatchNorm2d>(cout), &DepthwiseSeparable::pw_bn);
}

Tensor DepthwiseSeparable::forward(const Tensor& x) {
  Tensor h = relu6((*dw_bn)((*dw)(x)));
  return relu6((*pw_bn)((*pw)(h)));
}

MobileNetSmall::MobileNetSmall() : Cloneable("MobileNetSmall") {
  register_module("stem", std::make_shared<nn::Conv2d>(1, 16, 3, 1, 1, /*bias=*/false), &MobileNetSmall::stem);
  register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(16), &MobileNetSmall::stem_bn);
  register_module(
      "blocks",
      std::make_shared<nn::Sequential>(nn::Sequential{
          std::make_shared<DepthwiseSeparable>(16, 32, 2), std::make_shared<DepthwiseSeparable>(32, 64, 2),
          std::make_shared<DepthwiseSeparable>(64, 128, 1), std::make_shared<DepthwiseSeparable>(128, 128, 1)}),
      &MobileNetSmall::blocks);
  register_module("fc", std::make_shared<nn::Linear>(128, 10), &MobileNetSmall::fc);
}

Tensor MobileNetSmall::forward(const Tensor& x) {
  Tensor h = relu6((*stem_bn)((*stem)(x)));
  h = (*blocks)(h);
  h = adaptive_avg_pool2d(h, {1, 1});
  return (*fc)(flatten(h, 1));
}

}  // namespace shrink::models
