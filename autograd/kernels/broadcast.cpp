#include "autograd/kernels/broadcast.h"

#include <algorithm>
#include <vector>

namespace shrink::kernels {

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const std::size_t nd = std::max(a.size(), b.size());
  Shape out(nd);
  for (std::size_t i = 0; i < nd; ++i) {
    const std::int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    const std::int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    SHRINK_CHECK_SHAPE(da == db || da == 1 || db == 1, op, ": expected broadcastable shapes, got ",
                       shape_str(a), " and ", shape_str(b), " (dim ", i, " of the result: ", da, " vs ", db,
                       "; sizes must be equal or 1)");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool broadcastable_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t off = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[i + off]) return false;
  return true;
}

std::vector<std::int64_t> broadcast_strides(const Shape& shape, std::size_t ndim) {
  std::vector<std::int64_t> strides(ndim, 0);
  std::int64_t stride = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    const std::size_t d = i + (ndim - shape.size());
    strides[d] = shape[i] == 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  SHRINK_CHECK_SHAPE(broadcastable_to(shape, g.shape()), "sum_to: expected a shape that broadcasts to ",
                     shape_str(g.shape()), ", got ", shape_str(shape));
  // Accumulate in double: a bias gradient can sum millions of terms, and float accumulation in
  // index order would drift far from PyTorch's (cascaded) sums.
  std::vector<double> acc(static_cast<std::size_t>(shape_numel(shape)), 0.0);
  const float* pg = g.data<float>();
  const Shape& gs = g.shape();
  const std::size_t nd = gs.size();
  const auto so = broadcast_strides(shape, nd);
  const std::int64_t inner = gs.back(), rows = g.numel() / std::max<std::int64_t>(inner, 1);
  const std::int64_t step = so.back();
  // Sequential over g in memory order: every output element sums its inputs in index order.
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t rem = r, off = 0;
    for (std::size_t d = nd - 1; d-- > 0;) {
      off += (rem % gs[d]) * so[d];
      rem /= gs[d];
    }
    const float* x = pg + r * inner;
    double* o = acc.data() + off;
    if (step == 1) {
      for (std::int64_t i = 0; i < inner; ++i) o[i] += x[i];
    } else {
      double row = 0;
      for (std::int64_t i = 0; i < inner; ++i) row += x[i];
      o[0] += row;
    }
  }
  Tensor out = Tensor::empty(shape);
  float* po = out.data<float>();
  for (std::size_t i = 0; i < acc.size(); ++i) po[i] = static_cast<float>(acc[i]);
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_map(a, b, "add", [](float x, float y) { return x + y; });
}

}  // namespace shrink::kernels
