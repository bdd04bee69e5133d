#pragma once
/// \file
/// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (PyTorch's modules over [N, C, H, W]).

#include "autograd/ops.h"
#include "nn/module.h"

namespace shrink::nn {

class MaxPool2d : public Cloneable<MaxPool2d> {
 public:
  explicit MaxPool2d(const Pool2dParams& params);
  /// Square window; stride 0 = kernel size (PyTorch's default).
  explicit MaxPool2d(std::int64_t kernel_size, std::int64_t stride = 0, std::int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Pool2dParams& params() const { return params_; }

 private:
  Pool2dParams params_;
};

class AvgPool2d : public Cloneable<AvgPool2d> {
 public:
  explicit AvgPool2d(const Pool2dParams& params);
  explicit AvgPool2d(std::int64_t kernel_size, std::int64_t stride = 0, std::int64_t padding = 0);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  const Pool2dParams& params() const { return params_; }

 private:
  Pool2dParams params_;
};

class AdaptiveAvgPool2d : public Cloneable<AdaptiveAvgPool2d> {
 public:
  explicit AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size);
  explicit AdaptiveAvgPool2d(std::int64_t output_size) : AdaptiveAvgPool2d({output_size, output_size}) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  std::array<std::int64_t, 2> output_size() const { return output_size_; }

 private:
  std::array<std::int64_t, 2> output_size_;
};

}  // namespace shrink::nn
