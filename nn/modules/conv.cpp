#include "nn/modules/conv.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "nn/init.h"
#include "nn/modules/repr_util.h"

namespace shrink::nn {
using detail::tuple_str;

Conv2d::Conv2d(const Conv2dOptions& o) : Cloneable("Conv2d"), options_(o) {
  SHRINK_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.groups > 0, "Conv2d: expected positive in_channels, "
               "out_channels and groups, got ", o.in_channels, ", ", o.out_channels, " and ", o.groups);
  SHRINK_CHECK(o.in_channels % o.groups == 0 && o.out_channels % o.groups == 0, "Conv2d: expected in_channels (",
               o.in_channels, ") and out_channels (", o.out_channels, ") divisible by groups, got groups=", o.groups);
  // Checked here rather than at the first forward, so a bad layer fails where it is built.
  const bool geometry_ok = o.kernel_size[0] > 0 && o.kernel_size[1] > 0 && o.stride[0] > 0 && o.stride[1] > 0 &&
                           o.dilation[0] > 0 && o.dilation[1] > 0 && o.padding[0] >= 0 && o.padding[1] >= 0;
  SHRINK_CHECK(geometry_ok, "Conv2d: expected positive kernel_size, stride and dilation and non-negative padding, got "
               "kernel_size=", tuple_str(o.kernel_size), ", stride=", tuple_str(o.stride), ", padding=",
               tuple_str(o.padding), ", dilation=", tuple_str(o.dilation));
  Tensor& w = register_parameter(
      "weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size[0], o.kernel_size[1]}));
  init::kaiming_uniform_(w, std::sqrt(5.0));
  if (o.bias) {
    // The bound is taken before registering the bias: registration may reallocate the parameter
    // list, which leaves `w` dangling.
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fans(w).first));
    Tensor& b = register_parameter("bias", empty({o.out_channels}));
    init::uniform_(b, -bound, bound);
  }
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride,
               std::int64_t padding, bool bias)
    : Conv2d(Conv2dOptions{in_channels, out_channels, {kernel_size, kernel_size}, {stride, stride},
                           {padding, padding}, {1, 1}, 1, bias}) {}

Conv2dParams Conv2d::params() const { return {options_.stride, options_.padding, options_.dilation, options_.groups}; }

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, param_value("weight"), param_value("bias", /*optional=*/true), params());
}

Tensor Conv2d::forward_activated(const Tensor& x, kernels::Activation act) {
  SHRINK_CHECK(act != kernels::Activation::None,
               "Conv2d.forward_activated: expected relu or relu6, got none. Hint: call the module");
  if (has_hooks() || GradMode::is_enabled()) {
    const Tensor y = (*this)(x);
    return act == kernels::Activation::Relu ? relu(y) : relu6(y);
  }
  return conv2d_activated(x, param_value("weight"), param_value("bias", /*optional=*/true), params(), act);
}

std::string Conv2d::extra_repr() const {
  const auto& o = options_;
  std::string s = std::to_string(o.in_channels) + ", " + std::to_string(o.out_channels) +
                  ", kernel_size=" + tuple_str(o.kernel_size) + ", stride=" + tuple_str(o.stride);
  if (o.padding != std::array<std::int64_t, 2>{0, 0}) s += ", padding=" + tuple_str(o.padding);
  if (o.dilation != std::array<std::int64_t, 2>{1, 1}) s += ", dilation=" + tuple_str(o.dilation);
  if (o.groups != 1) s += ", groups=" + std::to_string(o.groups);
  if (!o.bias) s += ", bias=False";
  return s;
}

}  // namespace shrink::nn
