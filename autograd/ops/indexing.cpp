// Indexing ops: index_select, where, masked_fill.
#include <algorithm>
#include <cstring>

#include "autograd/kernels/broadcast.h"
#include "autograd/kernels/copy.h"
#include "autograd/kernels/parallel.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

constexpr std::int64_t kGrain = 32768;
// Columns of the index_select backward handled by one task (disjoint output columns).
constexpr std::int64_t kColumns = 1024;

// cond/mask as UInt8 0/1: UInt8 is used as is (nonzero = true), float32 is true where nonzero.
Tensor to_mask(const Tensor& m, const char* op, const char* what) {
  SHRINK_CHECK(m.dtype() == DType::UInt8 || m.dtype() == DType::Float32, op, ": expected ", what,
               " of dtype uint8 or float32, got ", dtype_name(m.dtype()));
  if (m.dtype() == DType::UInt8) return m;
  Tensor out = Tensor::empty(m.shape(), DType::UInt8);
  const float* p = m.data<float>();
  std::uint8_t* o = out.data<std::uint8_t>();
  kernels::parallel_for(m.numel(), kGrain, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t i = s; i < e; ++i) o[i] = p[i] != 0.0f;
  });
  return out;
}

// out[i] = m[i] ? a(i) : b(i) over equal-sized buffers; a and b are element getters.
template <typename A, typename B>
Tensor select(const Tensor& mask, const Shape& shape, A a, B b) {
  Tensor out = Tensor::empty(shape);
  const std::uint8_t* m = mask.data<std::uint8_t>();
  float* o = out.data<float>();
  kernels::parallel_for(out.numel(), kGrain, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t i = s; i < e; ++i) o[i] = m[i] ? a(i) : b(i);
  });
  return out;
}

// Outer x size x inner view of a shape around `dim`.
void split_at(const Shape& shape, std::int64_t dim, std::int64_t& outer, std::int64_t& inner) {
  outer = inner = 1;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
    if (d < dim) outer *= shape[static_cast<std::size_t>(d)];
    if (d > dim) inner *= shape[static_cast<std::size_t>(d)];
  }
}

// grad_x[o, idx[j], :] += g[o, j, :], j in increasing order for every output element, so
// repeated indices accumulate in a fixed order. Tasks own disjoint (o, column block) ranges.
Tensor index_add_backward(const Tensor& g, const Tensor& index, const Shape& shape, std::int64_t dim) {
  Tensor out = zeros(shape);
  std::int64_t outer = 1, inner = 1;
  split_at(shape, dim, outer, inner);
  const std::int64_t size = shape[static_cast<std::size_t>(dim)], n = index.numel();
  const std::int64_t* idx = index.data<std::int64_t>();
  const float* pg = g.data<float>();
  float* po = out.data<float>();
  const std::int64_t w = std::min(inner, kColumns), blocks = (inner + w - 1) / w;
  kernels::parallel_for(outer * blocks, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(1, n * w)),
                        [&](std::int64_t u0, std::int64_t u1) {
                          for (std::int64_t u = u0; u < u1; ++u) {
                            const std::int64_t o = u / blocks, c0 = (u % blocks) * w, c1 = std::min(inner, c0 + w);
                            for (std::int64_t j = 0; j < n; ++j) {
                              const float* src = pg + (o * n + j) * inner;
                              float* dst = po + (o * size + idx[j]) * inner;
                              for (std::int64_t c = c0; c < c1; ++c) dst[c] += src[c];
                            }
                          }
                        });
  return out;
}

}  // namespace

// index_select: out[o, j, :] = x[o, index[j], :] along `dim` (any dtype).
// d/dx = g scatter-added back at the indices (repeats accumulate, deterministically).
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index) {
  SHRINK_CHECK(index.dtype() == DType::Int64, "index_select: expected an int64 index tensor, got ",
               dtype_name(index.dtype()));
  SHRINK_CHECK_SHAPE(index.dim() <= 1, "index_select: expected a 1-D index tensor, got shape ",
                     shape_str(index.shape()));
  SHRINK_CHECK_SHAPE(x.dim() > 0, "index_select: expected a tensor with at least one dim, got shape []. "
                     "Hint: unsqueeze(x, 0) first");
  const std::int64_t d = normalize_dim(dim, x.dim(), "index_select");
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)], n = index.numel();
  const std::int64_t* idx = index.data<std::int64_t>();
  for (std::int64_t j = 0; j < n; ++j)
    SHRINK_CHECK_INDEX(idx[j] >= 0 && idx[j] < size, "index_select: expected indices in [0, ", size, ") for dim ", d,
                       " of shape ", shape_str(x.shape()), ", got ", idx[j], " at position ", j);
  Shape shape = x.shape();
  shape[static_cast<std::size_t>(d)] = n;
  Tensor out = Tensor::empty(shape, x.dtype());
  std::int64_t outer = 1, inner = 1;
  split_at(x.shape(), d, outer, inner);
  const std::size_t row = static_cast<std::size_t>(inner) * element_size(x.dtype());
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  kernels::parallel_for(outer * n, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(1, inner)),
                        [&](std::int64_t r0, std::int64_t r1) {
                          for (std::int64_t r = r0; r < r1; ++r) {
                            const std::int64_t o = r / n, j = r % n;
                            std::memcpy(po + r * row, px + (o * size + idx[j]) * row, row);
                          }
                        });
  const Shape in_shape = x.shape();
  // A private copy of the index: the caller may change its tensor before backward runs.
  if (!records(x)) return out;
  return record("index_select", out, {x}, [in_shape, d, index = index.clone()](const Tensor& g) {
    return TensorList{index_add_backward(g, index, in_shape, d)};
  }, {{"dim", d}});
}

// where: out = cond ? a : b, all three broadcast together.
// d/da = g where cond, 0 elsewhere; d/db = g where !cond (the engine reduces broadcast dims).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  SHRINK_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32,
               "where: expected float32 tensors a and b, got ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  const Tensor mask = to_mask(cond, "where", "cond");
  const Shape shape = kernels::broadcast_shapes(cond.shape(), kernels::broadcast_shapes(a.shape(), b.shape(), "where"),
                                                "where");
  const Tensor m = kernels::expand_copy(mask, shape);
  const Tensor ea = kernels::expand_copy(a, shape), eb = kernels::expand_copy(b, shape);
  const float* xa = ea.data<float>();
  const float* xb = eb.data<float>();
  Tensor out = select(m, shape, [xa](std::int64_t i) { return xa[i]; }, [xb](std::int64_t i) { return xb[i]; });
  if (!records(cond, a, b)) return out;
  return record("where", out, {cond, a, b}, [m, ga = a.requires_grad(), gb = b.requires_grad()](const Tensor& g) {
    const float* pg = g.data<float>();
    auto grad = [pg](std::int64_t i) { return pg[i]; };
    auto zero = [](std::int64_t) { return 0.0f; };
    return TensorList{Tensor(), ga ? select(m, g.shape(), grad, zero) : Tensor(),
                      gb ? select(m, g.shape(), zero, grad) : Tensor()};
  });
}

// masked_fill: out = mask ? value : x, the mask broadcast to x's shape.
// d/dx = g where the mask is false, 0 where it filled.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  SHRINK_CHECK(x.dtype() == DType::Float32, "masked_fill: expected a float32 tensor, got ", dtype_name(x.dtype()));
  SHRINK_CHECK_SHAPE(kernels::broadcastable_to(mask.shape(), x.shape()), "masked_fill: expected a mask that "
                     "broadcasts to the input shape ", shape_str(x.shape()), ", got mask shape ", shape_str(mask.shape()));
  const Tensor m = kernels::expand_copy(to_mask(mask, "masked_fill", "a mask"), x.shape());
  const float* px = x.data<float>();
  Tensor out = select(m, x.shape(), [value](std::int64_t) { return value; }, [px](std::int64_t i) { return px[i]; });
  if (!records(x, mask)) return out;
  return record("masked_fill", out, {x, mask}, [m](const Tensor& g) {
    const float* pg = g.data<float>();
    return TensorList{select(m, g.shape(), [](std::int64_t) { return 0.0f; }, [pg](std::int64_t i) { return pg[i]; }),
                      Tensor()};
  }, {{"value", static_cast<double>(value)}});
}

}  // namespace shrink
