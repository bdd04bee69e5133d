#include "autograd/kernels/copy.h"

#include <algorithm>
#include <cstring>

#include "autograd/kernels/broadcast.h"
#include "autograd/kernels/parallel.h"

namespace shrink::kernels {
namespace {

// Elements per parallel task (below twice this, a copy runs on one thread).
constexpr std::int64_t kCopyGrain = 32768;
// Tile edge of the transposing copy: a 64x64 block (16-32 KB of float/int64) stays in L1.
constexpr std::int64_t kTile = 64;

// A copy with size-1 dimensions dropped and mergeable neighbours merged.
struct Plan {
  Shape shape;
  Strides src, dst;
};

Plan coalesce(const Shape& shape, const Strides& src, const Strides& dst) {
  Plan p;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    // Dimension i-1 (last kept) and i are one dimension when stepping over all of i lands on
    // the next element of i-1 in both source and destination.
    if (!p.shape.empty() && p.src.back() == src[i] * shape[i] && p.dst.back() == dst[i] * shape[i]) {
      p.shape.back() *= shape[i];
      p.src.back() = src[i];
      p.dst.back() = dst[i];
      continue;
    }
    p.shape.push_back(shape[i]);
    p.src.push_back(src[i]);
    p.dst.push_back(dst[i]);
  }
  if (p.shape.empty()) p = Plan{{1}, {1}, {1}};
  return p;
}

// Copies rows of the last dimension; each task decomposes its first row index once and then
// advances an odometer.
template <typename T>
void copy_rows(const T* src, T* dst, const Plan& p) {
  const std::size_t n = p.shape.size();
  const std::int64_t len = p.shape.back(), ss = p.src.back(), ds = p.dst.back();
  const std::int64_t rows = shape_numel(p.shape) / len;
  parallel_for(rows, std::max<std::int64_t>(1, kCopyGrain / len), [&](std::int64_t r0, std::int64_t r1) {
    std::vector<std::int64_t> idx(n, 0);
    std::int64_t so = 0, dof = 0, rem = r0;
    for (std::size_t d = n - 1; d-- > 0;) {
      idx[d] = rem % p.shape[d];
      rem /= p.shape[d];
      so += idx[d] * p.src[d];
      dof += idx[d] * p.dst[d];
    }
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* s = src + so;
      T* o = dst + dof;
      if (ss == 1 && ds == 1) {
        std::memcpy(o, s, static_cast<std::size_t>(len) * sizeof(T));
      } else {
        for (std::int64_t j = 0; j < len; ++j) o[j * ds] = s[j * ss];
      }
      for (std::size_t d = n - 1; d-- > 0;) {  // odometer over the outer dims
        so += p.src[d];
        dof += p.dst[d];
        if (++idx[d] < p.shape[d]) break;
        so -= p.src[d] * p.shape[d];
        dof -= p.dst[d] * p.shape[d];
        idx[d] = 0;
      }
    }
  });
}

// Transposing copy: the destination is contiguous along the last dimension, the source along
// dimension k. Each kTile x kTile block is read a source row at a time into a small buffer and
// written a destination row at a time, so every cache line on both sides is touched in one
// burst (strided element access would thrash L1 sets when the strides are powers of two).
// Tasks are (other dims) x (blocks of k).
template <typename T>
void copy_tiled(const T* src, T* dst, const Plan& p, std::size_t k) {
  const std::size_t n = p.shape.size();
  std::vector<std::size_t> others;
  for (std::size_t d = 0; d + 1 < n; ++d)
    if (d != k) others.push_back(d);
  std::int64_t outer = 1;
  for (auto d : others) outer *= p.shape[d];
  const std::int64_t len = p.shape.back(), ks = p.shape[k], kblocks = (ks + kTile - 1) / kTile;
  const std::int64_t ss = p.src.back(), kd = p.dst[k];
  parallel_for(outer * kblocks, std::max<std::int64_t>(1, kCopyGrain / (kTile * len)),
               [&](std::int64_t u0, std::int64_t u1) {
                 T buf[kTile * kTile];
                 for (std::int64_t u = u0; u < u1; ++u) {
                   std::int64_t rem = u / kblocks, so = 0, dof = 0;
                   for (std::size_t i = others.size(); i-- > 0;) {
                     const std::size_t d = others[i];
                     const std::int64_t c = rem % p.shape[d];
                     rem /= p.shape[d];
                     so += c * p.src[d];
                     dof += c * p.dst[d];
                   }
                   const std::int64_t k0 = (u % kblocks) * kTile, kn = std::min(ks - k0, kTile);
                   for (std::int64_t j0 = 0; j0 < len; j0 += kTile) {
                     const std::int64_t jn = std::min(len - j0, kTile);
                     for (std::int64_t j = 0; j < jn; ++j) {  // source rows: contiguous along k
                       const T* s = src + so + (j0 + j) * ss + k0;
                       for (std::int64_t kk = 0; kk < kn; ++kk) buf[kk * kTile + j] = s[kk];
                     }
                     for (std::int64_t kk = 0; kk < kn; ++kk)  // destination rows: contiguous along j
                       std::memcpy(dst + dof + (k0 + kk) * kd + j0, buf + kk * kTile, static_cast<std::size_t>(jn) * sizeof(T));
                   }
                 }
               });
}

template <typename T>
void copy_typed(const void* src, const Strides& ss, void* dst, const Strides& ds, const Shape& shape) {
  const Plan p = coalesce(shape, ss, ds);
  const T* s = static_cast<const T*>(src);
  T* d = static_cast<T*>(dst);
  const std::size_t n = p.shape.size();
  if (n >= 2 && p.dst.back() == 1 && p.src.back() != 1) {
    for (std::size_t k = n - 1; k-- > 0;)
      if (p.src[k] == 1) return copy_tiled(s, d, p, k);
  }
  copy_rows(s, d, p);
}

}  // namespace

Strides contiguous_strides(const Shape& shape) {
  Strides s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

void strided_copy(const void* src, const Strides& src_strides, void* dst, const Strides& dst_strides,
                  const Shape& shape, std::size_t elem_size) {
  SHRINK_ASSERT(src_strides.size() == shape.size() && dst_strides.size() == shape.size(),
                "strided_copy: stride/shape rank mismatch");
  if (shape_numel(shape) == 0) return;
  switch (elem_size) {
    case 1: return copy_typed<std::uint8_t>(src, src_strides, dst, dst_strides, shape);
    case 4: return copy_typed<std::uint32_t>(src, src_strides, dst, dst_strides, shape);
    case 8: return copy_typed<std::uint64_t>(src, src_strides, dst, dst_strides, shape);
    default: SHRINK_ASSERT(false, "strided_copy: unsupported element size ", elem_size);
  }
}

Tensor permute_copy(const Tensor& x, const std::vector<std::int64_t>& perm) {
  const Shape& in = x.shape();
  const Strides xs = contiguous_strides(in);
  Shape shape(perm.size());
  Strides src(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) {
    shape[i] = in[static_cast<std::size_t>(perm[i])];
    src[i] = xs[static_cast<std::size_t>(perm[i])];
  }
  Tensor out = Tensor::empty(shape, x.dtype());
  strided_copy(x.raw_data(), src, out.raw_data(), contiguous_strides(shape), shape, element_size(x.dtype()));
  return out;
}

Tensor expand_copy(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  SHRINK_CHECK_SHAPE(broadcastable_to(x.shape(), shape), "expand: expected a shape that ", shape_str(x.shape()),
                     " broadcasts to, got ", shape_str(shape));
  Tensor out = Tensor::empty(shape, x.dtype());
  strided_copy(x.raw_data(), broadcast_strides(x.shape(), shape.size()), out.raw_data(), contiguous_strides(shape),
               shape, element_size(x.dtype()));
  return out;
}

Tensor slice_copy(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length, std::int64_t step) {
  Shape shape = x.shape();
  shape[static_cast<std::size_t>(dim)] = length;
  Strides src = contiguous_strides(x.shape());
  const std::int64_t offset = start * src[static_cast<std::size_t>(dim)];
  src[static_cast<std::size_t>(dim)] *= step;
  Tensor out = Tensor::empty(shape, x.dtype());
  const std::size_t es = element_size(x.dtype());
  strided_copy(static_cast<const char*>(x.raw_data()) + offset * static_cast<std::int64_t>(es), src, out.raw_data(),
               contiguous_strides(shape), shape, es);
  return out;
}

Tensor slice_scatter(const Tensor& g, const Shape& shape, std::int64_t dim, std::int64_t start, std::int64_t step) {
  Tensor out = zeros(shape, g.dtype());
  Strides dst = contiguous_strides(shape);
  const std::int64_t offset = start * dst[static_cast<std::size_t>(dim)];
  dst[static_cast<std::size_t>(dim)] *= step;
  const std::size_t es = element_size(g.dtype());
  strided_copy(g.raw_data(), contiguous_strides(g.shape()), static_cast<char*>(out.raw_data()) + offset * static_cast<std::int64_t>(es),
               dst, g.shape(), es);
  return out;
}

}  // namespace shrink::kernels
