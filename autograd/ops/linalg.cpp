// Linear algebra ops: matmul (2-D, batched, 1-D vector operands) and linear (fused bias).
//
// Every product goes through kernels::gemm (Eigen). Products are either one large GEMM (Eigen
// parallelises it) or a loop of small GEMMs parallelised over the batch (Eigen then runs one
// thread per product), never both.
#include <algorithm>
#include <vector>

#include "autograd/kernels/gemm.h"
#include "autograd/kernels/parallel.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

/// A matmul reduced to [Ba, n, k] x [Bb, k, m] -> [B, n, m], where Ba and Bb are either B or 1
/// (a 1 means that operand has no batch dims and is shared by every product).
struct MatmulPlan {
  std::int64_t batch = 1, batch_a = 1, batch_b = 1, n = 1, k = 1, m = 1;
  Shape out_shape;
};

MatmulPlan plan_matmul(const Tensor& a, const Tensor& b) {
  const Shape &sa = a.shape(), &sb = b.shape();
  SHRINK_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32, "matmul: expected float32 tensors, got ",
               dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  SHRINK_CHECK_SHAPE(a.dim() >= 1 && b.dim() >= 1, "matmul: expected operands with at least 1 dim, got ", shape_str(sa),
                     " and ", shape_str(sb));
  MatmulPlan p;
  // A 1-D left operand is a row vector [1, k], a 1-D right operand a column vector [k, 1].
  const std::int64_t ka = sa.back(), kb = b.dim() == 1 ? sb[0] : sb[sb.size() - 2];
  SHRINK_CHECK_SHAPE(ka == kb, "matmul: expected ", a.dim() == 1 ? "a.shape[0]" : "a.shape[-1]",
                     " == ", b.dim() == 1 ? "b.shape[0]" : "b.shape[-2]", ", got ", shape_str(sa), " and ",
                     shape_str(sb));
  p.k = ka;
  p.n = a.dim() == 1 ? 1 : sa[sa.size() - 2];
  p.m = b.dim() == 1 ? 1 : sb.back();
  const Shape batch_a(sa.begin(), sa.end() - std::min<std::ptrdiff_t>(2, a.dim()));
  const Shape batch_b(sb.begin(), sb.end() - std::min<std::ptrdiff_t>(2, b.dim()));
  SHRINK_CHECK_SHAPE(batch_a.empty() || batch_b.empty() || batch_a == batch_b,
                     "matmul: expected equal batch dims, got ", shape_str(sa), " and ", shape_str(sb),
                     ". Hint: batch dims must match exactly; only an operand without batch dims (1-D or 2-D) "
                     "is shared across the batch");
  p.batch_a = shape_numel(batch_a);
  p.batch_b = shape_numel(batch_b);
  p.out_shape = batch_a.empty() ? batch_b : batch_a;
  p.batch = shape_numel(p.out_shape);
  if (a.dim() >= 2) p.out_shape.push_back(p.n);
  if (b.dim() >= 2) p.out_shape.push_back(p.m);
  return p;
}

/// Runs body(i) for i in [0, count): serially when each product is large (Eigen parallelises
/// it), otherwise in parallel over i (Eigen then stays single-threaded inside each product).
template <typename F>
void for_each_product(std::int64_t count, std::int64_t flops_each, F&& body) {
  constexpr std::int64_t kLargeProduct = 64 * 64 * 64;
  if (flops_each >= kLargeProduct) {
    for (std::int64_t i = 0; i < count; ++i) body(i);
    return;
  }
  const std::int64_t grain = std::max<std::int64_t>(1, kLargeProduct / std::max<std::int64_t>(flops_each, 1));
  kernels::parallel_for(count, grain, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t i = s; i < e; ++i) body(i);
  });
}

/// C[B,n,m] = A[Ba,n,k] · Bm[Bb,k,m].
void matmul_forward(const MatmulPlan& p, const float* A, const float* Bm, float* C) {
  const std::int64_t sa = p.n * p.k, sb = p.k * p.m, sc = p.n * p.m;
  if (p.batch_b == 1) {
    // The right operand is shared: the whole batch is one GEMM with B·n rows.
    kernels::gemm(false, false, p.batch * p.n, p.m, p.k, 1.0f, A, Bm, 0.0f, C);
    return;
  }
  for_each_product(p.batch, sa * p.m, [&](std::int64_t i) {
    kernels::gemm(false, false, p.n, p.m, p.k, 1.0f, A + (p.batch_a == 1 ? 0 : i * sa), Bm + i * sb, 0.0f, C + i * sc);
  });
}

/// dA = G · Bmᵀ, summed over the batch when A is shared.
void matmul_grad_a(const MatmulPlan& p, const float* G, const float* Bm, float* dA) {
  const std::int64_t sa = p.n * p.k, sb = p.k * p.m, sc = p.n * p.m;
  if (p.batch_b == 1) {
    kernels::gemm(false, true, p.batch * p.n, p.k, p.m, 1.0f, G, Bm, 0.0f, dA);
  } else if (p.batch_a == 1) {
    // Shared left operand: accumulate the products in batch order (deterministic).
    for (std::int64_t i = 0; i < p.batch; ++i)
      kernels::gemm(false, true, p.n, p.k, p.m, 1.0f, G + i * sc, Bm + i * sb, i == 0 ? 0.0f : 1.0f, dA);
    if (p.batch == 0) std::fill(dA, dA + sa, 0.0f);
  } else {
    for_each_product(p.batch, sa * p.m, [&](std::int64_t i) {
      kernels::gemm(false, true, p.n, p.k, p.m, 1.0f, G + i * sc, Bm + i * sb, 0.0f, dA + i * sa);
    });
  }
}

/// dB = Aᵀ · G, summed over the batch when B is shared (then one GEMM over all B·n rows).
void matmul_grad_b(const MatmulPlan& p, const float* A, const float* G, float* dB) {
  const std::int64_t sa = p.n * p.k, sb = p.k * p.m, sc = p.n * p.m;
  if (p.batch_b == 1) {
    // Shared right operand: one GEMM whose reduction runs over all B·n rows.
    kernels::gemm(true, false, p.k, p.m, p.batch * p.n, 1.0f, A, G, 0.0f, dB);
    return;
  }
  for_each_product(p.batch, sa * p.m, [&](std::int64_t i) {
    kernels::gemm(true, false, p.k, p.m, p.n, 1.0f, A + (p.batch_a == 1 ? 0 : i * sa), G + i * sc, 0.0f, dB + i * sb);
  });
}

/// out[j] = Σ_r g[r, j] over rows in row order, per column (deterministic for any thread count).
Tensor column_sum(const Tensor& g, std::int64_t rows, std::int64_t cols) {
  Tensor out = Tensor::empty({cols});
  const float* pg = g.data<float>();
  float* po = out.data<float>();
  kernels::parallel_for(cols, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(rows, 1)),
                        [&](std::int64_t c0, std::int64_t c1) {
                          std::vector<double> acc(static_cast<std::size_t>(c1 - c0), 0.0);
                          for (std::int64_t r = 0; r < rows; ++r) {
                            const float* row = pg + r * cols + c0;
                            for (std::int64_t j = 0; j < c1 - c0; ++j) acc[j] += row[j];
                          }
                          for (std::int64_t j = 0; j < c1 - c0; ++j) po[c0 + j] = static_cast<float>(acc[j]);
                        });
  return out;
}

}  // namespace

// matmul: out = a·b over the last two dims (batched; 1-D operands are vectors).
// d/da = g·bᵀ (summed over the batch if a is shared), d/db = aᵀ·g (likewise).
Tensor matmul(const Tensor& a, const Tensor& b) {
  const MatmulPlan p = plan_matmul(a, b);
  Tensor out = Tensor::empty(p.out_shape);
  matmul_forward(p, a.data<float>(), b.data<float>(), out.data<float>());
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  if (!records(a, b)) return out;
  return record("matmul", out, {a, b},
                [p, need_a, need_b, a = need_b ? a.detach() : Tensor(), b = need_a ? b.detach() : Tensor(),
                 shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
                  Tensor ga, gb;
                  if (need_a) {
                    ga = Tensor::empty(shape_a);
                    matmul_grad_a(p, g.data<float>(), b.data<float>(), ga.data<float>());
                  }
                  if (need_b) {
                    gb = Tensor::empty(shape_b);
                    matmul_grad_b(p, a.data<float>(), g.data<float>(), gb.data<float>());
                  }
                  return TensorList{ga, gb};
                });
}

// linear: out = x·Wᵀ + b over the last dim of x, as one GEMM over all leading rows.
// d/dx = g·W, d/dW = gᵀ·x (one GEMM over every row), d/db = Σ_rows g.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  SHRINK_CHECK(x.dtype() == DType::Float32 && weight.dtype() == DType::Float32 &&
                   (!bias.defined() || bias.dtype() == DType::Float32),
               "linear: expected float32 input, weight and bias, got ", dtype_name(x.dtype()), ", ",
               dtype_name(weight.dtype()), " and ", bias.defined() ? dtype_name(bias.dtype()) : "none");
  SHRINK_CHECK_SHAPE(weight.dim() == 2, "linear: expected weight of shape [out_features, in_features], got ",
                     shape_str(weight.shape()));
  const std::int64_t out_f = weight.size(0), in_f = weight.size(1);
  SHRINK_CHECK_SHAPE(x.dim() >= 1, "linear: expected input of shape [..., ", in_f, "], got ", shape_str(x.shape()));
  if (x.size(-1) != in_f) {
    // The classic mistake: feeding a conv feature map to a Linear without flattening it.
    const bool flatten_fixes = x.dim() >= 3 && x.numel() / x.size(0) == in_f;
    SHRINK_CHECK_SHAPE(false, "linear: expected input of shape [..., ", in_f, "] (in_features of weight ",
                       shape_str(weight.shape()), "), got ", shape_str(x.shape()),
                       flatten_fixes ? ". Hint: flatten the input first (flatten(x, 1))" : "");
  }
  SHRINK_CHECK_SHAPE(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out_f), "linear: expected bias of shape [",
                     out_f, "], got ", shape_str(bias.defined() ? bias.shape() : Shape{}));
  const std::int64_t nrows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor out = Tensor::empty(out_shape);
  float* po = out.data<float>();
  if (bias.defined()) {
    // Start from the bias rows and let the GEMM accumulate into them (no second pass).
    const float* pb = bias.data<float>();
    kernels::parallel_for(nrows, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(out_f, 1)),
                          [&](std::int64_t r0, std::int64_t r1) {
                            for (std::int64_t r = r0; r < r1; ++r) std::copy(pb, pb + out_f, po + r * out_f);
                          });
  }
  kernels::gemm(false, true, nrows, out_f, in_f, 1.0f, x.data<float>(), weight.data<float>(),
                bias.defined() ? 1.0f : 0.0f, po);

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(),
             need_b = bias.defined() && bias.requires_grad();
  if (!records(x, weight, bias)) return out;
  return record("linear", out, {x, weight, bias},
                [need_x, need_w, need_b, nrows, in_f, out_f, x_shape = x.shape(), x = need_w ? x.detach() : Tensor(),
                 w = need_x ? weight.detach() : Tensor()](const Tensor& g) {
                  Tensor gx, gw, gb;
                  if (need_x) {
                    gx = Tensor::empty(x_shape);
                    kernels::gemm(false, false, nrows, in_f, out_f, 1.0f, g.data<float>(), w.data<float>(), 0.0f,
                                  gx.data<float>());
                  }
                  if (need_w) {
                    gw = Tensor::empty({out_f, in_f});
                    kernels::gemm(true, false, out_f, in_f, nrows, 1.0f, g.data<float>(), x.data<float>(), 0.0f,
                                  gw.data<float>());
                  }
                  if (need_b) gb = column_sum(g, nrows, out_f);
                  return TensorList{gx, gw, gb};
                },
                {{"in_features", in_f}, {"out_features", out_f}, {"bias", bias.defined()}});
}

}  // namespace shrink
