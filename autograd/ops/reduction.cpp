// Reductions: sum, mean, max, min, var, argmax.
#include "autograd/kernels/broadcast.h"
#include "autograd/kernels/copy.h"
#include "autograd/kernels/reduce.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

void check_float(const Tensor& x, const char* op) {
  SHRINK_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 tensor, got ", dtype_name(x.dtype()));
}

// The gradient of a reduction to keepdim shape `kshape`, scaled and broadcast back to `shape`.
Tensor expand_grad(const Tensor& g, const Shape& kshape, const Shape& shape, float scale) {
  Tensor gk = g.view_as_shape(kshape);
  if (scale != 1.0f) gk = kernels::unary_map(gk, "reduction_backward", [scale](float v) { return v * scale; });
  return kernels::expand_copy(gk, shape);
}

// Shared by max and min over all elements.
Tensor extreme_all_op(const Tensor& x, bool is_max) {
  const char* op = is_max ? "max" : "min";
  check_float(x, op);
  SHRINK_CHECK(x.numel() > 0, op, ": expected a non-empty tensor, got shape ", shape_str(x.shape()),
               ". Hint: reduce over one dim with ", op, "(x, dim) instead");
  const auto [value, index] = kernels::extreme_all(x, is_max);
  const Shape shape = x.shape();
  return record(op, scalar_tensor(value), {x}, [shape, index = index](const Tensor& g) {
    Tensor dx = zeros(shape);
    dx.data<float>()[index] = g.item<float>();
    return TensorList{dx};
  }, {{"dims", std::vector<std::int64_t>{}}, {"keepdim", false}});
}

// Shared by max, min and argmax over one dim: the normalised dim after checking it is non-empty.
std::int64_t extreme_dim_check(const Tensor& x, std::int64_t dim, const char* op) {
  check_float(x, op);
  const std::int64_t d = normalize_dim(dim, x.dim(), op);
  SHRINK_CHECK_INDEX(x.dim() == 0 || x.shape()[static_cast<std::size_t>(d)] > 0, op, ": expected dim ", d,
                     " to have a non-zero size, got shape ", shape_str(x.shape()));
  return d;
}

Tensor extreme_dim_op(const Tensor& x, std::int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  const std::int64_t d = extreme_dim_check(x, dim, op);
  auto r = kernels::extreme_dim(x, d, is_max);
  const std::vector<std::int64_t> dims = x.dim() == 0 ? std::vector<std::int64_t>{} : std::vector<std::int64_t>{d};
  const Shape kshape = r.values.shape(), shape = x.shape();
  Tensor out = r.values.view_as_shape(kernels::reduced_shape(shape, dims, keepdim));
  if (!records(x)) return out;
  return record(op, out, {x}, [kshape, shape, d, indices = r.indices](const Tensor& g) {
    if (shape.empty()) return TensorList{g};
    return TensorList{kernels::scatter_dim(g.view_as_shape(kshape), indices, shape, d)};
  }, {{"dims", dims}, {"keepdim", keepdim}});
}

}  // namespace

// sum of all elements: fixed-size chunks summed in order (thread-count independent).
// d/dx = g broadcast to x's shape.
Tensor sum(const Tensor& x) {
  check_float(x, "sum");
  Tensor out = kernels::sum_dims(x, kernels::reduce_dims({}, x.dim(), "sum"), 1.0).view_as_shape({});
  const Shape shape = x.shape();
  if (!records(x)) return out;
  return record("sum", out, {x}, [shape](const Tensor& g) { return TensorList{full(shape, g.item<double>())}; },
                {{"dims", std::vector<std::int64_t>{}}, {"keepdim", false}});
}

// sum over dims. d/dx = g (keepdim shape) broadcast back to x's shape.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  check_float(x, "sum");
  const auto nd = kernels::reduce_dims(dims, x.dim(), "sum");
  Tensor k = kernels::sum_dims(x, nd, 1.0);
  const Shape kshape = k.shape(), shape = x.shape();
  Tensor out = k.view_as_shape(kernels::reduced_shape(shape, nd, keepdim));
  if (!records(x)) return out;
  return record("sum", out, {x}, [kshape, shape](const Tensor& g) {
    return TensorList{expand_grad(g, kshape, shape, 1.0f)};
  }, {{"dims", nd}, {"keepdim", keepdim}});
}

// mean of all elements. d/dx = g/numel.
Tensor mean(const Tensor& x) {
  SHRINK_CHECK(x.numel() > 0, "mean: expected a non-empty tensor, got shape ", shape_str(x.shape()));
  return div(sum(x), static_cast<float>(x.numel()));
}

// mean over dims = sum / N (N = elements per output; N = 0 gives nan like PyTorch).
// d/dx = g/N broadcast back to x's shape.
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim) {
  check_float(x, "mean");
  const auto nd = kernels::reduce_dims(dims, x.dim(), "mean");
  const std::int64_t n = kernels::reduced_count(x.shape(), nd);
  Tensor k = kernels::sum_dims(x, nd, 1.0 / static_cast<double>(n));
  const Shape kshape = k.shape(), shape = x.shape();
  Tensor out = k.view_as_shape(kernels::reduced_shape(shape, nd, keepdim));
  if (!records(x)) return out;
  return record("mean", out, {x}, [kshape, shape, n](const Tensor& g) {
    return TensorList{expand_grad(g, kshape, shape, 1.0f / static_cast<float>(n))};
  }, {{"dims", nd}, {"keepdim", keepdim}});
}

// max/min of all elements. d/dx = g at the first extreme element, 0 elsewhere.
Tensor max(const Tensor& x) { return extreme_all_op(x, true); }
Tensor min(const Tensor& x) { return extreme_all_op(x, false); }

// max/min over one dim (values). d/dx = g scattered to the first extreme of each slice.
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_dim_op(x, dim, keepdim, true); }
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_dim_op(x, dim, keepdim, false); }

// var over dims: Σ(x − mean)² / max(0, N − correction), two passes.
// d/dx = g · 2/(N − correction) · (x − mean). Like PyTorch 1.13 the backward divides by the
// unclamped N − correction, so a correction above N gives a finite gradient of an inf output.
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction, bool keepdim) {
  check_float(x, "var");
  const auto nd = kernels::reduce_dims(dims, x.dim(), "var");
  const std::int64_t n = kernels::reduced_count(x.shape(), nd);
  auto r = kernels::var_dims(x, nd, correction);
  const Shape kshape = r.var.shape();
  Tensor out = r.var.view_as_shape(kernels::reduced_shape(x.shape(), nd, keepdim));
  const float scale = static_cast<float>(2.0 / static_cast<double>(n - correction));
  if (!records(x)) return out;
  return record("var", out, {x}, [x = x.detach(), mean = r.mean, kshape, scale](const Tensor& g) {
    Tensor diff = kernels::binary_map(x, mean, "var_backward", [](float v, float m) { return v - m; });
    Tensor gk = g.view_as_shape(kshape);
    return TensorList{kernels::binary_map(diff, gk, "var_backward", [scale](float d, float gv) { return gv * scale * d; })};
  }, {{"dims", nd}, {"keepdim", keepdim}, {"correction", correction}});
}

// argmax over one dim: Int64 index of the first maximum (NaN counts as maximal). Not
// differentiable: records nothing.
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) {
  const std::int64_t d = extreme_dim_check(x, dim, "argmax");
  Tensor idx = kernels::extreme_dim(x, d, true).indices;
  const std::vector<std::int64_t> dims = x.dim() == 0 ? std::vector<std::int64_t>{} : std::vector<std::int64_t>{d};
  return idx.view_as_shape(kernels::reduced_shape(x.shape(), dims, keepdim));
}

Tensor argmax(const Tensor& x) {
  check_float(x, "argmax");
  SHRINK_CHECK(x.numel() > 0, "argmax: expected a non-empty tensor, got shape ", shape_str(x.shape()),
               ". Hint: reduce over one dim with argmax(x, dim) instead");
  return scalar_tensor(static_cast<double>(kernels::extreme_all(x, true).second), DType::Int64);
}

}  // namespace shrink
