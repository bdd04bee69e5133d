// Arithmetic ops: add, sub, mul, div (tensor and scalar forms), neg, reciprocal, pow.
#include <cmath>

#include "autograd/kernels/broadcast.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {

// add: out = a + b. d/da = g, d/db = g.
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "add", [](float x, float y) { return x + y; });
  return record("add", out, {a, b}, [](const Tensor& g) { return TensorList{g, g}; });
}

Tensor add(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, [b](float x) { return x + b; });
  return record("add_scalar", out, {a}, [](const Tensor& g) { return TensorList{g}; }, {{"other", double(b)}});
}

// sub: out = a - b. d/da = g, d/db = -g.
Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "sub", [](float x, float y) { return x - y; });
  return record("sub", out, {a, b}, [](const Tensor& g) { return TensorList{g, neg(g)}; });
}

Tensor sub(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, [b](float x) { return x - b; });
  return record("sub_scalar", out, {a}, [](const Tensor& g) { return TensorList{g}; }, {{"other", double(b)}});
}

// mul: out = a * b. d/da = g*b, d/db = g*a.
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "mul", [](float x, float y) { return x * y; });
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  return record("mul", out, {a, b}, [a = a.detach(), b = b.detach(), ga, gb](const Tensor& g) {
    return TensorList{ga ? g * b : Tensor(), gb ? g * a : Tensor()};
  });
}

Tensor mul(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, [b](float x) { return x * b; });
  return record("mul_scalar", out, {a}, [b](const Tensor& g) { return TensorList{g * b}; }, {{"other", double(b)}});
}

// div: out = a / b. d/da = g/b, d/db = -g*a/b² = -g*out/b.
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "div", [](float x, float y) { return x / y; });
  const bool gb = b.requires_grad();
  return record("div", out, {a, b}, [b = b.detach(), out = out.detach(), gb](const Tensor& g) {
    Tensor ga = g / b;
    return TensorList{ga, gb ? neg(ga * out) : Tensor()};
  });
}

Tensor div(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, [b](float x) { return x / b; });
  return record("div_scalar", out, {a}, [b](const Tensor& g) { return TensorList{g / b}; }, {{"other", double(b)}});
}

// neg: out = -x. d/dx = -g.
Tensor neg(const Tensor& x) {
  Tensor out = kernels::unary_map(x, [](float v) { return -v; });
  return record("neg", out, {x}, [](const Tensor& g) { return TensorList{neg(g)}; });
}

// reciprocal: out = 1/x. d/dx = -g*out².
Tensor reciprocal(const Tensor& x) {
  Tensor out = kernels::unary_map(x, [](float v) { return 1.0f / v; });
  return record("reciprocal", out, {x}, [out = out.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, out, "reciprocal_backward", [](float gv, float o) { return -gv * o * o; })};
  });
}

// pow: out = x^p. d/dx = g*p*x^(p-1).
Tensor pow(const Tensor& x, float p) {
  Tensor out = kernels::unary_map(x, [p](float v) { return p == 2.0f ? v * v : std::pow(v, p); });
  return record("pow_scalar", out, {x}, [x = x.detach(), p](const Tensor& g) {
    return TensorList{kernels::binary_map(g, x, "pow_backward", [p](float gv, float v) {
      return p == 2.0f ? 2.0f * gv * v : gv * p * std::pow(v, p - 1.0f);
    })};
  }, {{"exponent", double(p)}});
}

// pow: out = a^b. d/da = g*b*a^(b-1), d/db = g*out*ln(a).
Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "pow", [](float x, float y) { return std::pow(x, y); });
  const bool gb = b.requires_grad();
  return record("pow", out, {a, b}, [a = a.detach(), b = b.detach(), out = out.detach(), gb](const Tensor& g) {
    Tensor da = g * kernels::binary_map(a, b, "pow_backward", [](float x, float y) { return y * std::pow(x, y - 1.0f); });
    Tensor db = gb ? g * kernels::binary_map(out, a, "pow_backward", [](float o, float x) { return o * std::log(x); })
                   : Tensor();
    return TensorList{da, db};
  });
}

}  // namespace shrink
