#pragma once
/// \file
/// Broadcasting (NumPy/PyTorch rules): shape inference, element-wise binary kernels over
/// broadcast operands, and the reverse reduction `sum_to` the engine applies to gradients.

#include <string_view>

#include "autograd/kernels/parallel.h"
#include "autograd/tensor.h"

namespace shrink::kernels {

/// The broadcast shape of a and b; throws ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);
/// True when `from` can be broadcast to `to`.
bool broadcastable_to(const Shape& from, const Shape& to);
/// Sums g over the broadcast dimensions so that the result has `shape` (in index order, accumulated
/// in double: deterministic and free of float drift on long sums). Returns g itself when the shapes
/// are equal.
Tensor sum_to(const Tensor& g, const Shape& shape);
/// Element-wise a + b (broadcasting, float32), no graph.
Tensor add(const Tensor& a, const Tensor& b);

/// Strides (in elements) of `shape` aligned right against an `ndim`-dim output, 0 where the
/// dimension is broadcast.
std::vector<std::int64_t> broadcast_strides(const Shape& shape, std::size_t ndim);

/// out[i] = f(a[ia], b[ib]) over the broadcast shape of two float32 tensors.
template <typename F>
Tensor binary_map(const Tensor& a, const Tensor& b, std::string_view op, F f) {
  SHRINK_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32, op,
               ": expected float32 tensors, got ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  if (a.shape() == b.shape()) {
    Tensor out = Tensor::empty(a.shape());
    float* po = out.data<float>();
    parallel_for(out.numel(), 32768, [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]);
    });
    return out;
  }
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = Tensor::empty(shape);
  float* po = out.data<float>();
  if (shape.empty()) {
    po[0] = f(pa[0], pb[0]);
    return out;
  }
  const std::size_t nd = shape.size();
  const auto sa = broadcast_strides(a.shape(), nd), sb = broadcast_strides(b.shape(), nd);
  const std::int64_t inner = shape.back(), rows = out.numel() / std::max<std::int64_t>(inner, 1);
  const std::int64_t ia_step = sa.back(), ib_step = sb.back();
  parallel_for(rows, std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(inner, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   // Decompose the row index into the outer coordinates.
                   std::int64_t rem = r, oa = 0, ob = 0;
                   for (std::size_t d = nd - 1; d-- > 0;) {
                     const std::int64_t coord = rem % shape[d];
                     rem /= shape[d];
                     oa += coord * sa[d];
                     ob += coord * sb[d];
                   }
                   float* o = po + r * inner;
                   const float* xa = pa + oa;
                   const float* xb = pb + ob;
                   if (ia_step == 1 && ib_step == 1) {
                     for (std::int64_t i = 0; i < inner; ++i) o[i] = f(xa[i], xb[i]);
                   } else if (ia_step == 1) {
                     const float vb = xb[0];
                     for (std::int64_t i = 0; i < inner; ++i) o[i] = f(xa[i], vb);
                   } else if (ib_step == 1) {
                     const float va = xa[0];
                     for (std::int64_t i = 0; i < inner; ++i) o[i] = f(va, xb[i]);
                   } else {
                     for (std::int64_t i = 0; i < inner; ++i) o[i] = f(xa[0], xb[0]);
                   }
                 }
               });
  return out;
}

/// out[i] = f(x[i]) for a float32 tensor; a wrong dtype throws ValueError naming `op`.
template <typename F>
Tensor unary_map(const Tensor& x, std::string_view op, F f) {
  SHRINK_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 tensor, got ", dtype_name(x.dtype()));
  Tensor out = Tensor::empty(x.shape());
  const float* px = x.data<float>();
  float* po = out.data<float>();
  parallel_for(x.numel(), 32768, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t i = s; i < e; ++i) po[i] = f(px[i]);
  });
  return out;
}

}  // namespace shrink::kernels
