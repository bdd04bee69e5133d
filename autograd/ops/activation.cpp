// Activations: relu, relu6, leaky_relu, gelu (erf and tanh forms), sigmoid, tanh. Each is one
// fused pass forward (unary_map) and one fused pass backward (binary_map of the gradient with the
// saved input or output). Formulas, kink conventions and NaN propagation follow PyTorch 1.13.
#include <cmath>

#include "autograd/kernels/activation.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

// Constants of PyTorch's GELU kernels (aten/src/ATen/native/cpu/Activation.cpp).
constexpr float kSqrt1_2 = 0.70710678118654752440f;     // 1/√2
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/√(2π), the normal pdf's factor
constexpr float kTanhBeta = 0.79788456080286535588f;    // √(2/π)
constexpr float kTanhKappa = 0.044715f;

float gelu_erf(float x) { return x * 0.5f * (1.0f + std::erf(x * kSqrt1_2)); }

// d/dx x·Φ(x) = Φ(x) + x·φ(x).
float gelu_erf_grad(float x) {
  const float cdf = 0.5f * (1.0f + std::erf(x * kSqrt1_2));
  const float pdf = std::exp(-0.5f * x * x) * kInvSqrt2Pi;
  return cdf + x * pdf;
}

float gelu_tanh(float x) {
  const float inner = kTanhBeta * (x + kTanhKappa * x * x * x);
  return 0.5f * x * (1.0f + std::tanh(inner));
}

// d/dx ½x(1 + tanh u), u = β(x + κx³): ½(1 + tanh u) + ½x(1 - tanh²u)·β(1 + 3κx²).
float gelu_tanh_grad(float x) {
  const float x_sq = x * x;
  const float t = std::tanh(kTanhBeta * (x + kTanhKappa * x_sq * x));
  const float left_derivative = 0.5f * (1.0f + t);
  const float inner_derivative = kTanhBeta * (1.0f + 3.0f * kTanhKappa * x_sq);
  return left_derivative + 0.5f * x * (1.0f - t * t) * inner_derivative;
}

}  // namespace

// relu: out = max(x, 0) (NaN stays NaN). d/dx = g where x > 0 (0 at the kink, like PyTorch).
Tensor relu(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "relu", [](float v) { return kernels::relu_value(v); });
  if (!records(x)) return out;
  return record("relu", out, {x}, [x = x.detach()](const Tensor& g) {
    return TensorList{
        kernels::binary_map(g, x, "relu_backward", [](float gv, float v) { return v > 0.0f ? gv : 0.0f; })};
  });
}

// relu6: out = min(max(x, 0), 6) (NaN stays NaN). d/dx = g where 0 < x < 6 (PyTorch's hardtanh
// convention: both kinks get 0).
Tensor relu6(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "relu6", [](float v) { return kernels::relu6_value(v); });
  if (!records(x)) return out;
  return record("relu6", out, {x}, [x = x.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, x, "relu6_backward",
                                          [](float gv, float v) { return v > 0.0f && v < 6.0f ? gv : 0.0f; })};
  });
}

// leaky_relu: out = x if x > 0 else slope*x. d/dx = g if x > 0 else slope*g (slope at the kink).
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  const float s = negative_slope;
  Tensor out = kernels::unary_map(x, "leaky_relu", [s](float v) { return v > 0.0f ? v : v * s; });
  if (!records(x)) return out;
  return record("leaky_relu", out, {x},
                [x = x.detach(), s](const Tensor& g) {
                  return TensorList{kernels::binary_map(g, x, "leaky_relu_backward",
                                                        [s](float gv, float v) { return v > 0.0f ? gv : gv * s; })};
                },
                {{"negative_slope", double(s)}});
}

// gelu: out = x·Φ(x) = ½x(1 + erf(x/√2)), or with the tanh approximation
// ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Backward is analytic (see gelu_*_grad).
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  // Lambdas (not function pointers) so that the kernels inline into the loops.
  Tensor out = tanh_approximation ? kernels::unary_map(x, "gelu", [](float v) { return gelu_tanh(v); })
                                  : kernels::unary_map(x, "gelu", [](float v) { return gelu_erf(v); });
  if (!records(x)) return out;
  return record("gelu", out, {x},
                [x = x.detach(), tanh_approximation](const Tensor& g) {
                  if (tanh_approximation)
                    return TensorList{kernels::binary_map(g, x, "gelu_backward",
                                                          [](float gv, float v) { return gv * gelu_tanh_grad(v); })};
                  return TensorList{kernels::binary_map(g, x, "gelu_backward",
                                                        [](float gv, float v) { return gv * gelu_erf_grad(v); })};
                },
                {{"approximate", std::string(tanh_approximation ? "tanh" : "none")}});
}

// sigmoid: out = 1/(1+e^-x). d/dx = g*out*(1-out).
Tensor sigmoid(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "sigmoid", [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
  if (!records(x)) return out;
  return record("sigmoid", out, {x}, [out = out.detach()](const Tensor& g) {
    return TensorList{
        kernels::binary_map(g, out, "sigmoid_backward", [](float gv, float o) { return gv * (1.0f - o) * o; })};
  });
}

// tanh: out = tanh x. d/dx = g*(1-out²).
Tensor tanh(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "tanh", [](float v) { return std::tanh(v); });
  if (!records(x)) return out;
  return record("tanh", out, {x}, [out = out.detach()](const Tensor& g) {
    return TensorList{
        kernels::binary_map(g, out, "tanh_backward", [](float gv, float o) { return gv * (1.0f - o * o); })};
  });
}

}  // namespace shrink
