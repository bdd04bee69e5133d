#include "nn/modules/pooling.h"

#include "nn/modules/repr_util.h"

namespace shrink::nn {
namespace {

Pool2dParams square(std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  Pool2dParams p;
  p.kernel = {kernel, kernel};
  p.stride = {stride, stride};
  p.padding = {padding, padding};
  return p;
}

/// One setting as PyTorch prints it: "2" when both entries agree, "(3, 2)" otherwise. (PyTorch
/// prints what the user passed; Pool2dParams always holds pairs, and an int is the common case.)
std::string setting(const std::array<std::int64_t, 2>& v) {
  return v[0] == v[1] ? std::to_string(v[0]) : detail::tuple_str(v);
}

std::string describe(const Pool2dParams& p) {
  // Stride 0 stands for PyTorch's stride=None, which becomes the kernel size.
  const std::array<std::int64_t, 2> stride{p.stride[0] == 0 ? p.kernel[0] : p.stride[0],
                                           p.stride[1] == 0 ? p.kernel[1] : p.stride[1]};
  return "kernel_size=" + setting(p.kernel) + ", stride=" + setting(stride) + ", padding=" + setting(p.padding);
}

}  // namespace

MaxPool2d::MaxPool2d(const Pool2dParams& params) : Cloneable("MaxPool2d"), params_(params) {}
MaxPool2d::MaxPool2d(std::int64_t k, std::int64_t s, std::int64_t p) : MaxPool2d(square(k, s, p)) {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, params_); }
std::string MaxPool2d::extra_repr() const {
  return describe(params_) + ", dilation=" + setting(params_.dilation) +
         ", ceil_mode=" + (params_.ceil_mode ? "True" : "False");
}

AvgPool2d::AvgPool2d(const Pool2dParams& params) : Cloneable("AvgPool2d"), params_(params) {}
AvgPool2d::AvgPool2d(std::int64_t k, std::int64_t s, std::int64_t p) : AvgPool2d(square(k, s, p)) {}
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, params_); }
std::string AvgPool2d::extra_repr() const { return describe(params_); }

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size)
    : AdaptiveAvgPool2d(output_size, false) {}
AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::int64_t output_size) : AdaptiveAvgPool2d({output_size, output_size}, true) {}
AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::array<std::int64_t, 2> output_size, bool square)
    : Cloneable("AdaptiveAvgPool2d"), output_size_(output_size), square_(square) {
  SHRINK_CHECK(output_size[0] > 0 && output_size[1] > 0, "AdaptiveAvgPool2d: expected a positive output size, got (",
               output_size[0], ", ", output_size[1], ")");
}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size_); }
std::string AdaptiveAvgPool2d::extra_repr() const {
  if (square_) return "output_size=" + std::to_string(output_size_[0]);
  return "output_size=(" + std::to_string(output_size_[0]) + ", " + std::to_string(output_size_[1]) + ")";
}

}  // namespace shrink::nn
