#pragma once
/// \file
/// EveryOpModel: a test-only model whose traced graph holds every functional op a GraphModule
/// replays and every layer type a model file holds, with options away from their defaults
/// (dilated and grouped convs, ceil_mode, count_include_pad = false, BatchNorm1d on [N, C, L],
/// GELU both ways). Input [N, 1, 28, 28], output [N, 10]. Header-only: the model file tests and
/// interop_tool (which links only Shrink) both build it.

#include <memory>

#include "autograd/ops.h"
#include "nn/layers.h"

namespace shrink::testing {

class EveryOpModel : public nn::Cloneable<EveryOpModel> {
 public:
  EveryOpModel() : Cloneable("EveryOpModel") {
    nn::Conv2dOptions dilated{1, 8, {3, 3}, {1, 1}, {2, 2}, {2, 2}, 1, true};
    nn::Conv2dOptions grouped{8, 8, {3, 1}, {1, 1}, {1, 0}, {1, 1}, 4, false};
    nn::BatchNormOptions bn1d{1, 1e-3f, 0.2f, true, true};
    Pool2dParams avg;
    avg.kernel = {2, 2};
    avg.stride = {2, 2};
    avg.padding = {1, 1};
    avg.count_include_pad = false;
    register_module("conv", std::make_shared<nn::Conv2d>(dilated));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(8));
    register_module("leaky", std::make_shared<nn::LeakyReLU>(0.1f));
    register_module("grouped", std::make_shared<nn::Conv2d>(grouped));
    register_module("gelu", std::make_shared<nn::GELU>());
    register_module("avg", std::make_shared<nn::AvgPool2d>(avg));
    register_module("pool", std::make_shared<nn::MaxPool2d>(2, 1, 1));
    register_module("adaptive", std::make_shared<nn::AdaptiveAvgPool2d>(std::array<std::int64_t, 2>{3, 3}));
    register_module("bn1d", std::make_shared<nn::BatchNorm1d>(bn1d));
    register_module("flat", std::make_shared<nn::Flatten>());
    register_module("act6", std::make_shared<nn::ReLU6>());
    register_module("sig", std::make_shared<nn::Sigmoid>());
    register_module("tanh", std::make_shared<nn::Tanh>());
    register_module("relu", std::make_shared<nn::ReLU>());
    register_module("id", std::make_shared<nn::Identity>());
    register_module("drop", std::make_shared<nn::Dropout>(0.25f));
    register_module("fc", std::make_shared<nn::Linear>(232, 10));
  }

 protected:
  Tensor forward(const Tensor& x) override {
    Tensor h = (*child("leaky"))((*child("bn"))((*child("conv"))(x)));  // [N, 8, 28, 28]
    const Tensor a = relu6(narrow(h, 1, 0, 4)) * 0.5f;
    const Tensor b = gelu(slice(h, 1, 4, 8, 1), true) - 0.25f;
    h = (*child("gelu"))((*child("grouped"))(cat({a, b}, 1)));  // [N, 8, 28, 28]
    Pool2dParams max;
    max.kernel = {3, 3};
    max.stride = {2, 2};
    max.padding = {1, 1};
    max.ceil_mode = true;
    h = (*child("avg"))(max_pool2d(h, max));                            // [N, 8, 8, 8] (15 x 15 between)
    h = (*child("pool"))(avg_pool2d(h, Pool2dParams{{2, 2}, {0, 0}}));  // [N, 8, 5, 5]
    const Tensor f = adaptive_avg_pool2d((*child("adaptive"))(h), {3, 3});  // [N, 8, 3, 3]
    Tensor g = transpose(permute(f, {0, 2, 3, 1}), 1, 2);                   // [N, 3, 3, 8]
    g = (*child("bn1d"))(unsqueeze(reshape(g, {x.size(0), 72}), 1));       // [N, 1, 72]
    g = (*child("flat"))(g);                                                // [N, 72]
    const Tensor s = sigmoid(g) + 1.0f;
    const Tensor u = clamp(tanh(g) / s, -0.5f, 0.5f);
    const Tensor w = exp(neg(pow(s, 2.0f))) / 0.5f;
    const Tensor m = relu(mean(f, {2, 3}) - (*child("act6"))(mean(f, {2, 3}, false)));
    const Tensor sm = flatten(sum(f, {2, 3}, true), 1, -1) * (*child("sig"))(m) - (*child("tanh"))(m);
    const Tensor z = cat({u, w, m, sm, (*child("relu"))(g - s) + leaky_relu(g, 0.2f)}, 1);  // [N, 232]
    return (*child("fc"))((*child("drop"))((*child("id"))(z)));
  }
};

}  // namespace shrink::testing
