#pragma once
/// \file
/// Functional: a module that wraps a function Tensor(const Tensor&), like LibTorch's
/// nn::Functional, so that a lambda or an op can sit in a Sequential:
/// `nn::Sequential{conv, [](const Tensor& x) { return relu(x); }, pool}`.

#include <functional>

#include "nn/module.h"

namespace shrink::nn {

class Functional : public Cloneable<Functional> {
 public:
  using Function = std::function<Tensor(const Tensor&)>;
  /// `name` is shown by the printer: `Functional(relu)`.
  explicit Functional(Function fn, std::string name = "");
  std::string extra_repr() const override { return name_; }

 protected:
  Tensor forward(const Tensor& x) override;

 private:
  Function fn_;
  std::string name_;
};

}  // namespace shrink::nn
