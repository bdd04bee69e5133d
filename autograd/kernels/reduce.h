#pragma once
/// \file
/// Reduction kernels over dimensions: sum (and mean through a scale), two-pass variance,
/// max/min with the index of the first extreme, and the scatter that routes max/min gradients.
///
/// Every reduction is decomposed as outer x R x inner on a contiguous buffer (the reduced dims
/// merged into R). Sums accumulate in double and split R into fixed-size chunks that are added
/// in chunk order, so results never depend on the thread count (docs/architecture.md).

#include <cstdint>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::kernels {

/// Normalises a reduction dim list for an `ndim`-dim tensor: negative dims wrapped, sorted,
/// an empty list meaning every dim. Throws IndexError (out of range) or ValueError (a dim
/// listed twice) naming `op`. A 0-dim tensor accepts 0 and -1 and has nothing to reduce: the
/// result is then empty.
std::vector<std::int64_t> reduce_dims(const std::vector<std::int64_t>& dims, std::int64_t ndim, const char* op);

/// The shape after reducing the (normalised) `dims` of `shape`: size 1 when `keepdim`,
/// dropped otherwise.
Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& dims, bool keepdim);

/// Number of elements reduced into each output element (the product of the dims' sizes).
std::int64_t reduced_count(const Shape& shape, const std::vector<std::int64_t>& dims);

/// scale · Σ x over the normalised `dims`; float32, result in keepdim shape. Non-adjacent dims
/// are reduced one contiguous run at a time (innermost first), without copying x.
Tensor sum_dims(const Tensor& x, const std::vector<std::int64_t>& dims, double scale = 1.0);

/// Result of var_dims, both in keepdim shape.
struct VarResult {
  Tensor var;
  Tensor mean;
};
/// Two-pass variance over `dims`: Σ(x − mean)² / max(0, N − correction) (PyTorch 1.13: a
/// non-positive divisor gives inf, or nan when every deviation is 0).
VarResult var_dims(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction);

/// Result of extreme_dim, both in keepdim shape (indices Int64).
struct ExtremeResult {
  Tensor values;
  Tensor indices;
};
/// max (or min when !is_max) over one normalised `dim` with the index of the first extreme of
/// each slice; NaN counts as the extreme (it propagates, like PyTorch). The dim must be non-empty.
ExtremeResult extreme_dim(const Tensor& x, std::int64_t dim, bool is_max);
/// max (or min) of all elements of a non-empty tensor and the flat index of the first one.
std::pair<float, std::int64_t> extreme_all(const Tensor& x, bool is_max);

/// Zero tensor of `shape` with g (keepdim shape) written at out[..., indices, ...] along `dim`:
/// the gradient of extreme_dim.
Tensor scatter_dim(const Tensor& g, const Tensor& indices, const Shape& shape, std::int64_t dim);

}  // namespace shrink::kernels
