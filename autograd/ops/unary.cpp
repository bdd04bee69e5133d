// Unary math ops: exp, log, sqrt, abs, clamp. Each is one fused pass forward (unary_map) and one
// fused pass backward (binary_map of the gradient with the saved input or output).
#include <cmath>

#include "autograd/kernels/broadcast.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {

// exp: out = e^x. d/dx = g*out.
Tensor exp(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "exp", [](float v) { return std::exp(v); });
  if (!records(x)) return out;
  return record("exp", out, {x}, [out = out.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, out, "exp_backward", [](float gv, float o) { return gv * o; })};
  });
}

// log: out = ln x (NaN for x < 0, -inf at 0, like PyTorch). d/dx = g/x.
Tensor log(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "log", [](float v) { return std::log(v); });
  if (!records(x)) return out;
  return record("log", out, {x}, [x = x.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, x, "log_backward", [](float gv, float v) { return gv / v; })};
  });
}

// sqrt: out = √x (NaN for x < 0). d/dx = g/(2·out) (inf at 0, like PyTorch).
Tensor sqrt(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "sqrt", [](float v) { return std::sqrt(v); });
  if (!records(x)) return out;
  return record("sqrt", out, {x}, [out = out.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, out, "sqrt_backward", [](float gv, float o) { return gv / (2.0f * o); })};
  });
}

// abs: out = |x|. d/dx = g*sign(x), with sign(0) = 0 (PyTorch's subgradient at the kink).
Tensor abs(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "abs", [](float v) { return std::abs(v); });
  if (!records(x)) return out;
  return record("abs", out, {x}, [x = x.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, x, "abs_backward",
                                          [](float gv, float v) { return v > 0.0f ? gv : (v < 0.0f ? -gv : 0.0f); })};
  });
}

// clamp: out = min(max(x, lo), hi), applied in that order, so lo > hi gives hi everywhere (as in
// PyTorch). NaN inputs stay NaN. d/dx = g where lo ≤ x ≤ hi (bounds inclusive), else 0; with
// lo > hi no element passes.
Tensor clamp(const Tensor& x, std::optional<float> lo, std::optional<float> hi) {
  SHRINK_CHECK(lo.has_value() || hi.has_value(),
               "clamp: expected at least one of lo and hi, got neither. Hint: "
               "pass std::nullopt for the bound you do not need, not for both");
  const bool has_lo = lo.has_value(), has_hi = hi.has_value();
  const float l = lo.value_or(0.0f), h = hi.value_or(0.0f);
  Tensor out = kernels::unary_map(x, "clamp", [=](float v) {
    if (has_lo && v < l) v = l;
    if (has_hi && v > h) v = h;
    return v;
  });
  Attributes attrs;
  if (has_lo) attrs.emplace_back("min", double(l));
  if (has_hi) attrs.emplace_back("max", double(h));
  return record(
      "clamp", out, {x},
      [x = x.detach(), has_lo, has_hi, l, h](const Tensor& g) {
        return TensorList{kernels::binary_map(g, x, "clamp_backward", [=](float gv, float v) {
          const bool inside = (!has_lo || v >= l) && (!has_hi || v <= h);
          return inside ? gv : 0.0f;
        })};
      },
      std::move(attrs));
}

}  // namespace shrink
