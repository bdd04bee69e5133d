// Shape ops: reshape, flatten, transpose, permute, unsqueeze, squeeze, narrow, slice, cat.
#include <algorithm>

#include "autograd/kernels/copy.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

// Joins a view (same data, new shape) to the graph: d/dx = g viewed back to x's shape.
Tensor record_view(const char* op, const Tensor& x, const Shape& shape, Attributes attrs) {
  const Shape in_shape = x.shape();
  return record(op, x.view_as_shape(shape), {x}, [in_shape](const Tensor& g) {
    return TensorList{g.view_as_shape(in_shape)};
  }, std::move(attrs));
}

// x permuted by a validated `perm`. When only size-1 dims move, the element order is unchanged
// and the result shares x's data; otherwise it is a (tiled, parallel) copy.
Tensor permute_data(const Tensor& x, const std::vector<std::int64_t>& perm) {
  Shape shape(perm.size());
  std::vector<std::int64_t> order;
  for (std::size_t i = 0; i < perm.size(); ++i) {
    shape[i] = x.shape()[static_cast<std::size_t>(perm[i])];
    if (shape[i] != 1) order.push_back(perm[i]);
  }
  if (std::is_sorted(order.begin(), order.end())) return x.view_as_shape(shape);
  return kernels::permute_copy(x, perm);
}

std::vector<std::int64_t> inverse(const std::vector<std::int64_t>& perm) {
  std::vector<std::int64_t> inv(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
  return inv;
}

// The permute shared by permute and transpose; records `op` with `attrs`.
Tensor permute_op(const char* op, const Tensor& x, const std::vector<std::int64_t>& perm, Attributes attrs) {
  Tensor out = permute_data(x, perm);
  if (!records(x)) return out;
  return record(op, out, {x}, [inv = inverse(perm)](const Tensor& g) {
    return TensorList{permute_data(g, inv)};
  }, std::move(attrs));
}

// elements start, start+step, ... (`length` of them) along a validated dim; records `op`.
// d/dx = g written back at those positions, zeros elsewhere.
Tensor slice_op(const char* op, const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length,
                std::int64_t step, Attributes attrs) {
  const Shape shape = x.shape();
  const bool whole = start == 0 && step == 1 && length == shape[static_cast<std::size_t>(dim)];
  Tensor out = whole ? x.view_as_shape(shape) : kernels::slice_copy(x, dim, start, length, step);
  if (!records(x)) return out;
  return record(op, out, {x}, [shape, dim, start, step, whole](const Tensor& g) {
    return TensorList{whole ? g.view_as_shape(shape) : kernels::slice_scatter(g, shape, dim, start, step)};
  }, std::move(attrs));
}

}  // namespace

// reshape: same data, new shape (one -1 inferred). d/dx = g reshaped back.
Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      SHRINK_CHECK_SHAPE(infer < 0, "reshape: expected at most one -1 in the shape, got ", shape_str(shape));
      infer = static_cast<std::int64_t>(i);
    } else {
      SHRINK_CHECK_SHAPE(target[i] >= 0, "reshape: expected sizes >= 0 or -1, got ", shape_str(shape));
      known *= target[i];
    }
  }
  if (infer >= 0) {
    SHRINK_CHECK_SHAPE(known > 0 && x.numel() % known == 0, "reshape: cannot reshape ", shape_str(x.shape()), " (",
                       x.numel(), " elements) into ", shape_str(shape));
    target[infer] = x.numel() / known;
  }
  SHRINK_CHECK_SHAPE(shape_numel(target) == x.numel(), "reshape: expected a shape with ", x.numel(),
                     " elements for input ", shape_str(x.shape()), ", got ", shape_str(shape), " (",
                     shape_numel(target), " elements)");
  Tensor out = x.view_as_shape(target);
  const Shape in_shape = x.shape();
  if (!records(x)) return out;
  return record("reshape", out, {x}, [in_shape](const Tensor& g) { return TensorList{g.view_as_shape(in_shape)}; },
                {{"shape", target}});
}


// flatten dims start..end into one (shares data). d/dx = g viewed back.
Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim) {
  const std::int64_t s = normalize_dim(start_dim, x.dim(), "flatten"), e = normalize_dim(end_dim, x.dim(), "flatten");
  SHRINK_CHECK(s <= e, "flatten: expected start_dim <= end_dim, got start_dim ", start_dim, " (dim ", s,
               ") and end_dim ", end_dim, " (dim ", e, ") for shape ", shape_str(x.shape()));
  Shape shape;
  if (x.dim() == 0) {
    shape = {1};
  } else {
    const Shape& in = x.shape();
    shape.assign(in.begin(), in.begin() + s);
    std::int64_t n = 1;
    for (std::int64_t d = s; d <= e; ++d) n *= in[static_cast<std::size_t>(d)];
    shape.push_back(n);
    shape.insert(shape.end(), in.begin() + e + 1, in.end());
  }
  if (!records(x)) return x.view_as_shape(shape);
  return record_view("flatten", x, shape, {{"start_dim", s}, {"end_dim", e}});
}

// transpose: swap two dims (copies unless only size-1 dims move). d/dx = transpose(g).
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1) {
  const std::int64_t a = normalize_dim(dim0, x.dim(), "transpose"), b = normalize_dim(dim1, x.dim(), "transpose");
  std::vector<std::int64_t> perm(static_cast<std::size_t>(x.dim()));
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<std::int64_t>(i);
  if (x.dim() > 0) std::swap(perm[static_cast<std::size_t>(a)], perm[static_cast<std::size_t>(b)]);
  return permute_op("transpose", x, perm, {{"dim0", a}, {"dim1", b}});
}

// permute: out.shape[i] = x.shape[dims[i]]. d/dx = g permuted by the inverse permutation.
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims) {
  const std::int64_t nd = x.dim();
  std::string given;
  for (std::size_t i = 0; i < dims.size(); ++i) given += (i ? ", " : "") + std::to_string(dims[i]);
  SHRINK_CHECK_SHAPE(static_cast<std::int64_t>(dims.size()) == nd, "permute: expected ", nd,
                     " dims (one per dim of the input ", shape_str(x.shape()), "), got [", given, "]");
  std::vector<std::int64_t> perm;
  std::vector<bool> seen(static_cast<std::size_t>(nd), false);
  for (auto d : dims) {
    const std::int64_t n = normalize_dim(d, nd, "permute");
    SHRINK_CHECK(!seen[static_cast<std::size_t>(n)], "permute: expected a permutation of the ", nd,
                 " dims, got [", given, "] (dim ", n, " appears more than once)");
    seen[static_cast<std::size_t>(n)] = true;
    perm.push_back(n);
  }
  return permute_op("permute", x, perm, {{"dims", perm}});
}

// unsqueeze: insert a size-1 dim at `dim` (shares data).
Tensor unsqueeze(const Tensor& x, std::int64_t dim) {
  const std::int64_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  shape.insert(shape.begin() + d, 1);
  if (!records(x)) return x.view_as_shape(shape);
  return record_view("unsqueeze", x, shape, {{"dim", d}});
}

// squeeze: drop every size-1 dim (shares data). Records the dropped dims.
Tensor squeeze(const Tensor& x) {
  Shape shape;
  std::vector<std::int64_t> dropped;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (x.shape()[static_cast<std::size_t>(d)] == 1) {
      dropped.push_back(d);
    } else {
      shape.push_back(x.shape()[static_cast<std::size_t>(d)]);
    }
  }
  if (!records(x)) return x.view_as_shape(shape);
  return record_view("squeeze", x, shape, {{"dims", dropped}});
}

// squeeze(dim): drop `dim` if its size is 1, else unchanged (shares data).
Tensor squeeze(const Tensor& x, std::int64_t dim) {
  const std::int64_t d = normalize_dim(dim, x.dim(), "squeeze");
  Shape shape = x.shape();
  std::vector<std::int64_t> dropped;
  if (x.dim() > 0 && shape[static_cast<std::size_t>(d)] == 1) {
    shape.erase(shape.begin() + d);
    dropped.push_back(d);
  }
  if (!records(x)) return x.view_as_shape(shape);
  return record_view("squeeze", x, shape, {{"dims", dropped}});
}

// narrow: elements start..start+length-1 along `dim` (negative start counts from the end).
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length) {
  SHRINK_CHECK_INDEX(x.dim() > 0, "narrow: expected a tensor with at least one dim, got shape []");
  const std::int64_t d = normalize_dim(dim, x.dim(), "narrow");
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  SHRINK_CHECK_INDEX(start >= -size && start <= size, "narrow: expected start in [", -size, ", ", size,
                     "] for dim ", d, " of shape ", shape_str(x.shape()), ", got ", start);
  const std::int64_t s = start < 0 ? start + size : start;
  SHRINK_CHECK_INDEX(length >= 0 && s + length <= size, "narrow: expected 0 <= length <= ", size - s,
                     " (start ", s, " in dim ", d, " of shape ", shape_str(x.shape()), "), got length ", length);
  return slice_op("narrow", x, d, s, length, 1, {{"dim", d}, {"start", s}, {"length", length}});
}

// slice: start, start+step, ... < end along `dim` with Python's rules (negative start/end
// count from the end; both clipped to [0, size]; an empty result when end <= start).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  SHRINK_CHECK_INDEX(x.dim() > 0, "slice: expected a tensor with at least one dim, got shape []");
  const std::int64_t d = normalize_dim(dim, x.dim(), "slice");
  SHRINK_CHECK(step >= 1, "slice: expected step >= 1, got ", step);
  const std::int64_t size = x.shape()[static_cast<std::size_t>(d)];
  auto clip = [size](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + size : i, 0, size); };
  const std::int64_t s = clip(start), e = std::max(s, clip(end));
  const std::int64_t length = (e - s + step - 1) / step;
  return slice_op("slice", x, d, s, length, step, {{"dim", d}, {"start", s}, {"end", e}, {"step", step}});
}

// cat: concatenate along `dim`; every other dim must match. 1-D empty tensors (shape [0]) are
// skipped, as in PyTorch. d/dxs[i] = the slice of g that came from xs[i].
Tensor cat(const TensorList& xs, std::int64_t dim) {
  SHRINK_CHECK(!xs.empty(), "cat: expected a non-empty list of tensors, got an empty list");
  for (std::size_t i = 0; i < xs.size(); ++i)
    SHRINK_CHECK(xs[i].defined(), "cat: expected defined tensors, got an undefined tensor at index ", i);
  auto skipped = [](const Tensor& t) { return t.shape() == Shape{0}; };
  std::size_t ref = 0;
  while (ref < xs.size() && skipped(xs[ref])) ++ref;
  if (ref == xs.size()) ref = 0;
  const Tensor& r = xs[ref];
  SHRINK_CHECK_SHAPE(r.dim() > 0, "cat: expected tensors with at least one dim, got a 0-dim tensor at index ", ref,
                     ". Hint: unsqueeze(x, 0) it first");
  const std::int64_t d = normalize_dim(dim, r.dim(), "cat");
  const auto du = static_cast<std::size_t>(d);
  Shape shape = r.shape();
  shape[du] = 0;
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    SHRINK_CHECK(t.dtype() == r.dtype(), "cat: expected tensor ", i, " to have dtype ", dtype_name(r.dtype()),
                 " like tensor ", ref, ", got ", dtype_name(t.dtype()));
    if (i != ref && skipped(t)) {
      sizes.push_back(0);
      continue;
    }
    SHRINK_CHECK_SHAPE(t.dim() == r.dim(), "cat: expected tensor ", i, " to have ", r.dim(), " dims like tensor ",
                       ref, ", got shapes ", shape_str(r.shape()), " and ", shape_str(t.shape()));
    for (std::size_t k = 0; k < shape.size(); ++k)
      SHRINK_CHECK_SHAPE(k == du || t.shape()[k] == r.shape()[k], "cat: expected tensor ", i, " to match tensor ",
                         ref, " in every dim except dim ", d, ", got shapes ", shape_str(r.shape()), " and ",
                         shape_str(t.shape()), " (dim ", k, ": ", t.shape()[k], " vs ", r.shape()[k], ")");
    sizes.push_back(t.shape()[du]);
    shape[du] += t.shape()[du];
  }
  Tensor out = Tensor::empty(shape, r.dtype());
  const kernels::Strides strides = kernels::contiguous_strides(shape);
  const std::size_t es = element_size(r.dtype());
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (sizes[i] == 0) continue;
    char* dst = static_cast<char*>(out.raw_data()) + offset * strides[du] * static_cast<std::int64_t>(es);
    kernels::strided_copy(xs[i].raw_data(), kernels::contiguous_strides(xs[i].shape()), dst, strides, xs[i].shape(), es);
    offset += sizes[i];
  }
  if (!any_requires_grad(xs)) return out;
  std::vector<bool> needs(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) needs[i] = xs[i].requires_grad() && sizes[i] > 0;
  return record("cat", out, xs, [d, sizes, needs](const Tensor& g) {
    TensorList grads(sizes.size());
    std::int64_t off = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (needs[i]) grads[i] = kernels::slice_copy(g, d, off, sizes[i], 1);
      off += sizes[i];
    }
    return grads;
  }, {{"dim", d}, {"sizes", sizes}});
}

}  // namespace shrink
