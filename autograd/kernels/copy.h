#pragma once
/// \file
/// Strided copies: the one kernel behind permute/transpose, slices and their backward, cat, and
/// broadcasting a tensor to a larger shape (expand).
///
/// A copy is described by an iteration `shape` and, for source and destination, one element
/// stride per dimension (0 repeats an element, i.e. broadcasts). Adjacent dimensions that are
/// contiguous in both are merged first, so most copies become a few long memcpy-like runs; a
/// transposing copy is done in cache-sized tiles.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::kernels {

/// Element strides, one per dimension.
using Strides = std::vector<std::int64_t>;

/// Row-major contiguous strides of `shape` (the last dimension has stride 1).
Strides contiguous_strides(const Shape& shape);

/// dst[Σ i_d·dst_strides[d]] = src[Σ i_d·src_strides[d]] for every index i of `shape`.
///
/// `src`/`dst` point at the first element of the view (offsets already applied), elements are
/// `elem_size` bytes (1, 4 or 8). Destination positions must be distinct (dst strides never 0 on
/// a dimension of size > 1). Parallel over outer rows for large copies; the result never depends
/// on the thread count because every destination element is written exactly once.
void strided_copy(const void* src, const Strides& src_strides, void* dst, const Strides& dst_strides,
                  const Shape& shape, std::size_t elem_size);

/// out = x with its dimensions reordered: out.shape[i] = x.shape[perm[i]] (perm already
/// validated). Any dtype; returns a new contiguous tensor.
Tensor permute_copy(const Tensor& x, const std::vector<std::int64_t>& perm);

/// x broadcast (NumPy rules, x's shape aligned right) and materialised to `shape`; returns x
/// itself when the shapes are already equal. Any dtype.
Tensor expand_copy(const Tensor& x, const Shape& shape);

/// The elements start, start+step, ... (`length` of them) along `dim`, as a new tensor.
Tensor slice_copy(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length, std::int64_t step);

/// The gradient of slice_copy: a zero tensor of `shape` with g written at the sliced positions.
Tensor slice_scatter(const Tensor& g, const Shape& shape, std::int64_t dim, std::int64_t start, std::int64_t step);

}  // namespace shrink::kernels
