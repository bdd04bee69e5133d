#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"

namespace shrink::nn::init {

std::pair<std::int64_t, std::int64_t> fans(const Tensor& weight) {
  SHRINK_CHECK(weight.dim() >= 2, "init.fans: expected a weight with at least 2 dims, got shape ",
               shape_str(weight.shape()));
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < weight.dim(); ++d) receptive *= weight.size(d);
  return {weight.size(1) * receptive, weight.size(0) * receptive};
}

double calculate_gain(const std::string& nonlinearity, double param) {
  static const char* const linear_like[] = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                            "conv_transpose2d", "conv_transpose3d", "sigmoid"};
  for (const char* name : linear_like)
    if (nonlinearity == name) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 3.0 / 4.0;
  throw ValueError("calculate_gain: expected one of linear, conv1d, conv2d, conv3d, conv_transpose1d, "
                   "conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu, got '" +
                   nonlinearity + "'");
}

void uniform_(Tensor& t, double lo, double hi, Generator* gen) {
  NoGradGuard no_grad;
  t.uniform_(static_cast<float>(lo), static_cast<float>(hi), gen);
}

void normal_(Tensor& t, double mean, double std, Generator* gen) {
  NoGradGuard no_grad;
  t.normal_(static_cast<float>(mean), static_cast<float>(std), gen);
}

void constant_(Tensor& t, double value) {
  NoGradGuard no_grad;
  t.fill_(value);
}

void kaiming_uniform_(Tensor& t, double a, const std::string& nonlinearity, Generator* gen) {
  if (t.numel() == 0) return;  // like PyTorch: nothing to fill (and a fan may be 0)
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(fans(t).first));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(Tensor& t, double a, const std::string& nonlinearity, Generator* gen) {
  if (t.numel() == 0) return;  // like PyTorch: nothing to fill (and a fan may be 0)
  normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fans(t).first)), gen);
}

void xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  if (t.numel() == 0) return;  // like PyTorch: nothing to fill (and a fan may be 0)
  const auto [fan_in, fan_out] = fans(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  uniform_(t, -bound, bound, gen);
}

}  // namespace shrink::nn::init
