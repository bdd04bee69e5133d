#pragma once
/// \file
/// The elementwise activations a convolution can apply to its output as it writes it (an
/// epilogue: one pass over data still in cache instead of a separate op over the whole tensor).
/// The scalar formulas are the relu and relu6 ops' own (autograd/ops/activation.cpp uses these
/// functions), so a fused conv gives exactly the floats of conv followed by the op.

#include <cstdint>

namespace shrink::kernels {

/// An activation fused into a kernel's output pass.
enum class Activation { None, Relu, Relu6 };

/// relu: max(x, 0), NaN stays NaN (PyTorch's).
inline float relu_value(float v) { return v < 0.0f ? 0.0f : v; }
/// relu6: min(max(x, 0), 6), NaN stays NaN (PyTorch's hardtanh(0, 6)).
inline float relu6_value(float v) { return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v); }

/// p[0..n) = act(p[0..n)) in place (nothing for Activation::None).
inline void apply_activation(float* p, std::int64_t n, Activation act) {
  if (act == Activation::Relu)
    for (std::int64_t i = 0; i < n; ++i) p[i] = relu_value(p[i]);
  else if (act == Activation::Relu6)
    for (std::int64_t i = 0; i < n; ++i) p[i] = relu6_value(p[i]);
}

/// "none", "relu", "relu6".
inline const char* activation_name(Activation act) {
  return act == Activation::Relu ? "relu" : act == Activation::Relu6 ? "relu6" : "none";
}

}  // namespace shrink::kernels
