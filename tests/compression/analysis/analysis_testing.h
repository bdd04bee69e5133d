#pragma once
/// \file
/// A small named model and a filter pruner for the tests of compression/analysis.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"

namespace shrink::testing {

/// conv (1 -> 4, 3x3) -> relu -> flatten -> fc (64 -> 4), for inputs [N, 1, 6, 6].
/// MACs per sample: conv 4·4·4·1·3·3 = 576, fc 64·4 = 256.
class TinyNet : public nn::Cloneable<TinyNet> {
 public:
  TinyNet() : Cloneable("TinyNet") {
    register_module("conv", std::make_shared<nn::Conv2d>(1, 4, 3), &TinyNet::conv);
    register_module("fc", std::make_shared<nn::Linear>(64, 4), &TinyNet::fc);
  }
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::Linear> fc;

 protected:
  Tensor forward(const Tensor& x) override { return (*fc)(flatten(relu((*conv)(x)), 1)); }
};

/// conv (1 -> 4, 3x3, padding 1) -> bn -> relu -> max pool 2 -> flatten -> fc (16 -> 3), for
/// inputs [N, 1, 4, 4]. make_counted_net() gives it known values and sparsity.
class CountedNet : public nn::Cloneable<CountedNet> {
 public:
  CountedNet() : Cloneable("CountedNet") {
    register_module("conv", std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1), &CountedNet::conv);
    register_module("bn", std::make_shared<nn::BatchNorm2d>(4), &CountedNet::bn);
    register_module("fc", std::make_shared<nn::Linear>(16, 3), &CountedNet::fc);
  }
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
  std::shared_ptr<nn::Linear> fc;

 protected:
  Tensor forward(const Tensor& x) override {
    return (*fc)(flatten(max_pool2d(relu((*bn)((*conv)(x))), Pool2dParams{}), 1));
  }
};

/// A CountedNet whose conv has filters 0 and 1 masked through a parametrization (18 of 36
/// weights zero in the effective weight, bias nonzero), bn all nonzero, and fc 12 of its 48
/// raw weights zero (bias nonzero).
inline std::shared_ptr<CountedNet> make_counted_net() {
  auto net = std::make_shared<CountedNet>();
  NoGradGuard no_grad;
  net->conv->weight().fill_(1.0);
  net->conv->bias().fill_(0.1);
  net->bn->bias().fill_(0.5);
  net->fc->weight().fill_(0.2);
  net->fc->bias().fill_(0.1);
  for (std::int64_t i = 0; i < 12; ++i) net->fc->weight().set({0, i}, 0.0);
  Tensor mask = ones({4, 1, 3, 3});
  for (std::int64_t f = 0; f < 2; ++f)
    for (std::int64_t k = 0; k < 9; ++k) mask.set({f, 0, k / 3, k % 3}, 0.0);
  net->conv->register_buffer("weight_mask", mask);
  net->conv->register_parametrization(
      "weight", nn::ParametrizationFn([](nn::Module& m, const Tensor& w) { return w * m.buffer("weight_mask"); }),
      "mask");
  return net;
}

/// Zeroes the round(ratio × C_out) filters (rows of a Linear) of `layer`'s raw weight with the
/// smallest L1 norm (ties: lower index first), in place.
inline void prune_filters(nn::Module& model, const std::string& layer, double ratio) {
  nn::Module& m = *model.find_module(layer);
  NoGradGuard no_grad;
  Tensor w = m.param("weight");
  const std::int64_t filters = w.size(0), per = w.numel() / filters;
  float* p = w.data<float>();
  std::vector<double> norms(filters);
  for (std::int64_t f = 0; f < filters; ++f)
    for (std::int64_t i = 0; i < per; ++i) norms[f] += std::abs(p[f * per + i]);
  std::vector<std::int64_t> order(filters);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return norms[a] < norms[b]; });
  const auto n = static_cast<std::int64_t>(std::llround(ratio * static_cast<double>(filters)));
  for (std::int64_t k = 0; k < n; ++k) std::fill(p + order[k] * per, p + (order[k] + 1) * per, 0.0f);
}

}  // namespace shrink::testing
