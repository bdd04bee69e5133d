// Arithmetic ops: add, sub, mul, div (tensor and scalar forms), neg, reciprocal, pow.
#include <cmath>

#include "autograd/kernels/broadcast.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {

// add: out = a + b. d/da = g, d/db = g.
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "add", [](float x, float y) { return x + y; });
  if (!records(a, b)) return out;
  return record("add", out, {a, b}, [](const Tensor& g) { return TensorList{g, g}; });
}

Tensor add(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, "add", [b](float x) { return x + b; });
  if (!records(a)) return out;
  return record("add_scalar", out, {a}, [](const Tensor& g) { return TensorList{g}; }, {{"other", double(b)}});
}

// sub: out = a - b. d/da = g, d/db = -g.
Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "sub", [](float x, float y) { return x - y; });
  if (!records(a, b)) return out;
  return record("sub", out, {a, b}, [](const Tensor& g) { return TensorList{g, neg(g)}; });
}

Tensor sub(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, "sub", [b](float x) { return x - b; });
  if (!records(a)) return out;
  return record("sub_scalar", out, {a}, [](const Tensor& g) { return TensorList{g}; }, {{"other", double(b)}});
}

// mul: out = a * b. d/da = g*b, d/db = g*a.
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "mul", [](float x, float y) { return x * y; });
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  if (!records(a, b)) return out;
  return record("mul", out, {a, b}, [a = a.detach(), b = b.detach(), ga, gb](const Tensor& g) {
    return TensorList{ga ? g * b : Tensor(), gb ? g * a : Tensor()};
  });
}

Tensor mul(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, "mul", [b](float x) { return x * b; });
  if (!records(a)) return out;
  return record("mul_scalar", out, {a}, [b](const Tensor& g) { return TensorList{g * b}; }, {{"other", double(b)}});
}

// div: out = a / b. d/da = g/b, d/db = -g*a/b² = -g*out/b.
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "div", [](float x, float y) { return x / y; });
  const bool gb = b.requires_grad();
  if (!records(a, b)) return out;
  return record("div", out, {a, b}, [b = b.detach(), out = out.detach(), gb](const Tensor& g) {
    Tensor ga = g / b;
    return TensorList{ga, gb ? neg(ga * out) : Tensor()};
  });
}

Tensor div(const Tensor& a, float b) {
  Tensor out = kernels::unary_map(a, "div", [b](float x) { return x / b; });
  if (!records(a)) return out;
  return record("div_scalar", out, {a}, [b](const Tensor& g) { return TensorList{g / b}; }, {{"other", double(b)}});
}

// neg: out = -x. d/dx = -g.
Tensor neg(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "neg", [](float v) { return -v; });
  if (!records(x)) return out;
  return record("neg", out, {x}, [](const Tensor& g) { return TensorList{neg(g)}; });
}

// reciprocal: out = 1/x. d/dx = -g*out².
Tensor reciprocal(const Tensor& x) {
  Tensor out = kernels::unary_map(x, "reciprocal", [](float v) { return 1.0f / v; });
  if (!records(x)) return out;
  return record("reciprocal", out, {x}, [out = out.detach()](const Tensor& g) {
    return TensorList{kernels::binary_map(g, out, "reciprocal_backward", [](float gv, float o) { return -gv * o * o; })};
  });
}

// pow: out = x^p. d/dx = g*p*x^(p-1), and 0 when p == 0 (PyTorch's rule: no 0*inf = NaN at x = 0).
Tensor pow(const Tensor& x, float p) {
  Tensor out = kernels::unary_map(x, "pow", [p](float v) { return p == 2.0f ? v * v : std::pow(v, p); });
  if (!records(x)) return out;
  return record("pow_scalar", out, {x}, [x = x.detach(), p](const Tensor& g) {
    if (p == 0.0f) return TensorList{zeros_like(g)};
    return TensorList{kernels::binary_map(g, x, "pow_backward", [p](float gv, float v) {
      return p == 2.0f ? 2.0f * gv * v : gv * p * std::pow(v, p - 1.0f);
    })};
  }, {{"exponent", double(p)}});
}

// pow: out = a^b. d/da = g*b*a^(b-1) (0 where b == 0), d/db = g*out*ln(a) (0 where a == 0 and
// b >= 0). The two zero cases are PyTorch's: they avoid 0*inf = NaN at a = 0.
Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = kernels::binary_map(a, b, "pow", [](float x, float y) { return std::pow(x, y); });
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  if (!records(a, b)) return out;
  return record("pow", out, {a, b}, [a = a.detach(), b = b.detach(), out = out.detach(), ga, gb](const Tensor& g) {
    Tensor da, db;
    if (ga) {
      da = g * kernels::binary_map(a, b, "pow_backward", [](float x, float y) {
        return y == 0.0f ? 0.0f : y * std::pow(x, y - 1.0f);
      });
    }
    if (gb) {
      Tensor ln_a = kernels::binary_map(a, b, "pow_backward", [](float x, float y) {
        return x == 0.0f && y >= 0.0f ? 0.0f : std::log(x);
      });
      db = g * kernels::binary_map(out, ln_a, "pow_backward", [](float o, float l) { return o * l; });
    }
    return TensorList{da, db};
  });
}

}  // namespace shrink
