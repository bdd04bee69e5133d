#pragma once
/// \file
/// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (PyTorch's modules over [N, C, H, W]).

#include "autograd/ops.h"
#include "nn/module.h"

namespace shrink::nn {

/// Settings print like PyTorch's repr: an int when both entries agree, a pair otherwise.
class MaxPool2d : public Cloneable<MaxPool2d> {
 public:
  explicit MaxPool2d(const Pool2dParams& params);
  /// Square window; stride 0 = kernel size (PyTorch's default).
  explicit MaxPool2d(std::int64_t kernel_size, std::int64_t stride = 0, std::int64_t padding = 0);
  std::string extra_repr() const override;
  const Pool2dParams& params() const { return params_; }

 private:
  Pool2dParams params_;
 protected:
  Tensor forward(const Tensor& x) override;
};

class AvgPool2d : public Cloneable<AvgPool2d> {
 public:
  explicit AvgPool2d(const Pool2dParams& params);
  explicit AvgPool2d(std::int64_t kernel_size, std::int64_t stride = 0, std::int64_t padding = 0);
  std::string extra_repr() const override;
  const Pool2dParams& params() const { return params_; }

 private:
  Pool2dParams params_;
 protected:
  Tensor forward(const Tensor& x) override;
};

class AdaptiveAvgPool2d : public Cloneable<AdaptiveAvgPool2d> {
 public:
  /// Prints as PyTorch's AdaptiveAvgPool2d((oh, ow)): "output_size=(oh, ow)".
  explicit AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size);
  /// Prints as PyTorch's AdaptiveAvgPool2d(n): "output_size=n".
  explicit AdaptiveAvgPool2d(std::int64_t output_size);
  std::string extra_repr() const override;
  std::array<std::int64_t, 2> output_size() const { return output_size_; }

 private:
  AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size, bool square);
  std::array<std::int64_t, 2> output_size_;
  bool square_;  ///< built from one int (only the printout differs)
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::nn
