#pragma once
/// \file
/// Parameter-free element-wise layers: ReLU, ReLU6, LeakyReLU, GELU, Sigmoid, Tanh.

#include "nn/module.h"

namespace shrink::nn {

class ReLU : public Cloneable<ReLU> {
 public:
  ReLU() : Cloneable("ReLU") {}
 protected:
  Tensor forward(const Tensor& x) override;
};

class ReLU6 : public Cloneable<ReLU6> {
 public:
  ReLU6() : Cloneable("ReLU6") {}
 protected:
  Tensor forward(const Tensor& x) override;
};

class LeakyReLU : public Cloneable<LeakyReLU> {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f) : Cloneable("LeakyReLU"), negative_slope_(negative_slope) {}
  std::string extra_repr() const override;
  float negative_slope() const { return negative_slope_; }

 private:
  float negative_slope_;
 protected:
  Tensor forward(const Tensor& x) override;
};

class GELU : public Cloneable<GELU> {
 public:
  /// approximate: "none" (erf) or "tanh", like PyTorch.
  explicit GELU(const std::string& approximate = "none");
  std::string extra_repr() const override;
  /// "none" or "tanh".
  std::string approximate() const { return tanh_ ? "tanh" : "none"; }

 private:
  bool tanh_;
 protected:
  Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Cloneable<Sigmoid> {
 public:
  Sigmoid() : Cloneable("Sigmoid") {}
 protected:
  Tensor forward(const Tensor& x) override;
};

class Tanh : public Cloneable<Tanh> {
 public:
  Tanh() : Cloneable("Tanh") {}
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::nn
