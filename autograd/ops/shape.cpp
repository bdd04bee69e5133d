// Shape ops: reshape, flatten, transpose, permute, unsqueeze, squeeze, narrow, slice, cat.
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {

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
  return record("reshape", out, {x}, [in_shape](const Tensor& g) { return TensorList{g.view_as_shape(in_shape)}; },
                {{"shape", target}});
}

}  // namespace shrink
