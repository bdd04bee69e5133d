#pragma once
/// \file
/// Test-only models for channel_groups and ModelSpeedup: the structures speedup tools get wrong
/// (SEMANTICS §3): a tensor used twice, cat([x, x]), a conv with one output channel, flatten
/// between a conv and a Linear, ops and modules without a channel rule.

#include "autograd/ops.h"
#include "nn/layers.h"

namespace shrink::speedup::testmodels {

inline std::shared_ptr<nn::Conv2d> conv(std::int64_t cin, std::int64_t cout, std::int64_t k, std::int64_t padding = 0,
                                        bool bias = true) {
  return std::make_shared<nn::Conv2d>(cin, cout, k, 1, padding, bias);
}

/// x = relu(bn(a(in))); out = fc(flatten(pool(relu(b(x)) + c(x)))): x is read by two branches.
class UsedTwice : public nn::Cloneable<UsedTwice> {
 public:
  UsedTwice() : Cloneable("UsedTwice") {
    register_module("a", conv(1, 8, 3, 1));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(8));
    register_module("b", conv(8, 6, 3, 1));
    register_module("c", conv(8, 6, 1));
    register_module("fc", std::make_shared<nn::Linear>(6, 5));
  }

 protected:
  Tensor forward(const Tensor& in) override {
    Tensor x = relu((*child("bn"))((*child("a"))(in)));
    Tensor h = relu((*child("b"))(x)) + (*child("c"))(x);
    return (*child("fc"))(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

/// cat([x, x]) along the channels, then a conv over both copies.
class CatSelf : public nn::Cloneable<CatSelf> {
 public:
  CatSelf() : Cloneable("CatSelf") {
    register_module("a", conv(1, 6, 3, 1));
    register_module("b", conv(12, 4, 1));
    register_module("fc", std::make_shared<nn::Linear>(4, 3));
  }

 protected:
  Tensor forward(const Tensor& in) override {
    Tensor x = relu((*child("a"))(in));
    Tensor h = relu((*child("b"))(cat({x, x}, 1)));
    return (*child("fc"))(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

/// a conv with one output channel (1 == groups == out, but in == 8: not depthwise), flattened
/// into a Linear: conv(1->8) -> relu -> conv(8->1, 1x1) -> relu -> flatten -> fc.
class OneChannel : public nn::Cloneable<OneChannel> {
 public:
  OneChannel() : Cloneable("OneChannel") {
    register_module("a", conv(1, 8, 3));
    register_module("b", conv(8, 1, 1));
    register_module("fc", std::make_shared<nn::Linear>(36, 4));
  }

 protected:
  Tensor forward(const Tensor& in) override {
    Tensor h = relu((*child("b"))(relu((*child("a"))(in))));
    return (*child("fc"))(flatten(h, 1));
  }
};

/// flatten between a conv and a Linear: conv(1->4, 3x3) on 8x8 -> relu -> flatten [N, 144] -> fc.
class FlattenLinear : public nn::Cloneable<FlattenLinear> {
 public:
  FlattenLinear() : Cloneable("FlattenLinear") {
    register_module("conv", conv(1, 4, 3));
    register_module("fc", std::make_shared<nn::Linear>(144, 10));
  }

 protected:
  Tensor forward(const Tensor& in) override { return (*child("fc"))(flatten(relu((*child("conv"))(in)), 1)); }
};

/// A transpose of the channel dim: an op without a channel rule.
class Transposer : public nn::Cloneable<Transposer> {
 public:
  Transposer() : Cloneable("Transposer") {
    register_module("conv", conv(1, 4, 3));
    register_module("fc", std::make_shared<nn::Linear>(4, 3));
  }

 protected:
  Tensor forward(const Tensor& in) override { return (*child("fc"))(transpose((*child("conv"))(in), 1, 3)); }
};

/// A user's leaf module: no channel rule for its type.
class Scale : public nn::Cloneable<Scale> {
 public:
  Scale() : Cloneable("Scale") {}

 protected:
  Tensor forward(const Tensor& x) override { return x * 2.0f; }
};

class CustomLeaf : public nn::Cloneable<CustomLeaf> {
 public:
  CustomLeaf() : Cloneable("CustomLeaf") {
    register_module("conv", conv(1, 4, 3));
    register_module("scale", std::make_shared<Scale>());
    register_module("fc", std::make_shared<nn::Linear>(4, 3));
  }

 protected:
  Tensor forward(const Tensor& in) override {
    Tensor h = (*child("scale"))((*child("conv"))(in));
    return (*child("fc"))(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

/// A residual pair: out = relu(bn_a(a(x)) + bn_b(b(x))) -> head conv (1x1) -> pool -> fc.
class Residual : public nn::Cloneable<Residual> {
 public:
  Residual() : Cloneable("Residual") {
    register_module("a", conv(1, 8, 3, 1, false));
    register_module("bn_a", std::make_shared<nn::BatchNorm2d>(8));
    register_module("b", conv(1, 8, 1, 0, false));
    register_module("bn_b", std::make_shared<nn::BatchNorm2d>(8));
    register_module("head", conv(8, 6, 1));
    register_module("fc", std::make_shared<nn::Linear>(6, 3));
  }

 protected:
  Tensor forward(const Tensor& x) override {
    Tensor h = relu((*child("bn_a"))((*child("a"))(x)) + (*child("bn_b"))((*child("b"))(x)));
    h = relu((*child("head"))(h));
    return (*child("fc"))(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

/// A grouped (not depthwise) conv: conv(1->8) -> relu -> conv(8->8, groups 2) -> pool -> fc.
class Grouped : public nn::Cloneable<Grouped> {
 public:
  Grouped() : Cloneable("Grouped") {
    register_module("a", conv(1, 8, 3, 1));
    register_module("g",
                    std::make_shared<nn::Conv2d>(nn::Conv2dOptions{8, 8, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 2, true}));
    register_module("fc", std::make_shared<nn::Linear>(8, 3));
  }

 protected:
  Tensor forward(const Tensor& x) override {
    Tensor h = relu((*child("g"))(relu((*child("a"))(x))));
    return (*child("fc"))(flatten(adaptive_avg_pool2d(h, {1, 1}), 1));
  }
};

}  // namespace shrink::speedup::testmodels
