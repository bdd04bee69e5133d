#pragma once
/// \file
/// Parameter initialisers with PyTorch's formulas (torch.nn.init), seeded through a Generator.

#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace shrink::nn::init {

/// (fan_in, fan_out) of a weight: [out, in] for Linear, [out, in/groups, kh, kw] for Conv2d
/// (fans multiplied by the receptive field size).
std::pair<std::int64_t, std::int64_t> fans(const Tensor& weight);
/// Gain of a nonlinearity (torch.nn.init.calculate_gain): "linear", "conv1d/2d/3d",
/// "conv_transpose1d/2d/3d" and "sigmoid" 1, "tanh" 5/3, "relu" √2, "leaky_relu" √(2/(1+a²)) with
/// a = `param`, "selu" 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);

/// In-place initialisers (no graph); `gen` null = the default generator.
void uniform_(Tensor& t, double lo, double hi, Generator* gen = nullptr);
void normal_(Tensor& t, double mean, double std, Generator* gen = nullptr);
void constant_(Tensor& t, double value);
/// U(-b, b) with b = gain·√(3/fan_in), gain from (nonlinearity, a). PyTorch's default for Linear
/// and Conv2d weights is kaiming_uniform_(w, a=√5).
void kaiming_uniform_(Tensor& t, double a = 0, const std::string& nonlinearity = "leaky_relu",
                      Generator* gen = nullptr);
/// N(0, std) with std = gain/√fan_in.
void kaiming_normal_(Tensor& t, double a = 0, const std::string& nonlinearity = "leaky_relu",
                     Generator* gen = nullptr);
/// U(-b, b) with b = gain·√(6/(fan_in+fan_out)).
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace shrink::nn::init
