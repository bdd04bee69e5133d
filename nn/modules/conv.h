#pragma once
/// \file
/// Conv2d: weight [out, in/groups, kh, kw], bias [out] (PyTorch's nn.Conv2d).

#include <array>

#include "autograd/ops.h"
#include "nn/module.h"

namespace shrink::nn {

/// Settings of Conv2d (PyTorch's constructor arguments).
struct Conv2dOptions {
  std::int64_t in_channels = 1;
  std::int64_t out_channels = 1;
  std::array<std::int64_t, 2> kernel_size{3, 3};
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Cloneable<Conv2d> {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  /// Square kernel shortcut: Conv2d(in, out, k, stride, padding).
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size, std::int64_t stride = 1,
         std::int64_t padding = 0, bool bias = true);
  std::string extra_repr() const override;

  const Conv2dOptions& options() const { return options_; }
  Conv2dParams params() const;
  /// The raw parameters (what the optimizer updates; forward reads param_value(), which applies
  /// parametrizations such as masks). Handles: change values with copy_()/fill_().
  Tensor weight() const { return param("weight"); }
  Tensor bias() const { return has_param("bias") ? param("bias") : Tensor(); }
  /// act((*this)(x)) for relu or relu6. Without grad recording and hooks, one conv pass that
  /// applies the activation as it writes (conv2d_activated); otherwise the module call (hooks,
  /// scope) then the activation op, so hooks and recorded graphs see both steps.
  Tensor forward_activated(const Tensor& x, kernels::Activation act);

 private:
  Conv2dOptions options_;

 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::nn
