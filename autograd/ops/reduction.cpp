// Reductions: sum, mean, max, min, var, argmax.
#include "autograd/kernels/parallel.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {

// sum of all elements: fixed-size chunks summed in order (thread-count independent).
// d/dx = g broadcast to x's shape.
Tensor sum(const Tensor& x) {
  SHRINK_CHECK(x.dtype() == DType::Float32, "sum: expected a float32 tensor, got ", dtype_name(x.dtype()));
  const float* p = x.data<float>();
  const std::int64_t n = x.numel(), chunks = kernels::chunk_count(n);
  std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
  kernels::parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t s = c * kernels::kReduceChunk, e = std::min(n, s + kernels::kReduceChunk);
      double acc = 0;
      for (std::int64_t i = s; i < e; ++i) acc += p[i];
      partial[c] = acc;
    }
  });
  double total = 0;
  for (double v : partial) total += v;
  Tensor out = scalar_tensor(total);
  const Shape shape = x.shape();
  return record("sum", out, {x}, [shape](const Tensor& g) { return TensorList{full(shape, g.item<double>())}; },
                {{"dims", std::vector<std::int64_t>{}}, {"keepdim", false}});
}

// mean of all elements. d/dx = g/numel.
Tensor mean(const Tensor& x) {
  SHRINK_CHECK(x.numel() > 0, "mean: expected a non-empty tensor, got shape ", shape_str(x.shape()));
  return div(sum(x), static_cast<float>(x.numel()));
}

}  // namespace shrink
