// Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d (argument checks here, loops in
// kernels/pool.h).
#include "autograd/kernels/pool.h"

#include <sstream>

#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {
using i64 = std::int64_t;

std::string pair_str(const std::array<i64, 2>& v) {
  std::ostringstream os;
  os << "[" << v[0] << ", " << v[1] << "]";
  return os.str();
}

void check_input(const Tensor& x, const char* op) {
  SHRINK_CHECK(x.defined(), op, ": expected a defined input, got an undefined tensor");
  SHRINK_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 input, got ", dtype_name(x.dtype()));
  SHRINK_CHECK_SHAPE(x.dim() == 4, op, ": expected a 4-D input [N, C, H, W], got shape ", shape_str(x.shape()),
                     x.dim() == 3 ? ". Hint: a single image needs a batch dimension: unsqueeze(x, 0)" : "");
}

// Validates max/avg pooling arguments like PyTorch's pool2d_shape_check and returns the geometry.
kernels::PoolGeometry pool_geometry(const Tensor& x, const Pool2dParams& p, const char* op, bool is_max) {
  check_input(x, op);
  SHRINK_CHECK(p.kernel[0] > 0 && p.kernel[1] > 0, op, ": expected kernel > 0, got ", pair_str(p.kernel));
  SHRINK_CHECK(p.stride[0] >= 0 && p.stride[1] >= 0, op, ": expected stride >= 0 (0 = kernel size), got ",
               pair_str(p.stride));
  SHRINK_CHECK(p.padding[0] >= 0 && p.padding[1] >= 0, op, ": expected padding >= 0, got ", pair_str(p.padding));
  if (is_max)
    SHRINK_CHECK(p.dilation[0] > 0 && p.dilation[1] > 0, op, ": expected dilation > 0, got ", pair_str(p.dilation));
  else
    SHRINK_CHECK(p.dilation[0] == 1 && p.dilation[1] == 1, op, ": expected dilation [1, 1] (average pooling has no ",
                 "dilation), got ", pair_str(p.dilation));
  SHRINK_CHECK(p.padding[0] <= p.kernel[0] / 2 && p.padding[1] <= p.kernel[1] / 2, op,
               ": expected padding at most half the kernel (", pair_str({p.kernel[0] / 2, p.kernel[1] / 2}),
               " for kernel ", pair_str(p.kernel), "), got ", pair_str(p.padding));
  kernels::PoolGeometry g;
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.kh = p.kernel[0], g.kw = p.kernel[1];
  g.sh = p.stride[0] == 0 ? p.kernel[0] : p.stride[0];
  g.sw = p.stride[1] == 0 ? p.kernel[1] : p.stride[1];
  g.ph = p.padding[0], g.pw = p.padding[1], g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.count_include_pad = p.count_include_pad;
  g.OH = kernels::pool_output_size(g.H, g.kh, g.sh, g.ph, g.dh, p.ceil_mode);
  g.OW = kernels::pool_output_size(g.W, g.kw, g.sw, g.pw, g.dw, p.ceil_mode);
  SHRINK_CHECK_SHAPE(g.OH > 0 && g.OW > 0, op, ": output size would be 0 or negative: ", g.OH, "x", g.OW, " (input ",
                     shape_str(x.shape()), ", kernel ", pair_str(p.kernel), ", stride ", pair_str({g.sh, g.sw}),
                     ", padding ", pair_str(p.padding), is_max ? ", dilation " + pair_str(p.dilation) : std::string(),
                     ")");
  return g;
}

Attributes pool_attrs(const kernels::PoolGeometry& g, const Pool2dParams& p, bool is_max) {
  Attributes a{{"kernel", std::vector<i64>{g.kh, g.kw}},
               {"stride", std::vector<i64>{g.sh, g.sw}},
               {"padding", std::vector<i64>{g.ph, g.pw}}};
  if (is_max) a.emplace_back("dilation", std::vector<i64>{g.dh, g.dw});
  a.emplace_back("ceil_mode", p.ceil_mode);
  if (!is_max) a.emplace_back("count_include_pad", p.count_include_pad);
  return a;
}

}  // namespace

// max_pool2d: out = max over each window (padding = -inf). d/dx: g routed to the window's first
// maximum (its index is saved by the forward pass).
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  const kernels::PoolGeometry g = pool_geometry(x, p, "max_pool2d", true);
  Tensor indices;
  const bool recording = records(x);
  Tensor out = kernels::max_pool2d_forward(x, g, indices, /*need_indices=*/recording);
  if (!recording) return out;
  return record(
      "max_pool2d", out, {x},
      [indices, g](const Tensor& grad) { return TensorList{kernels::max_pool2d_backward(grad, indices, g)}; },
      pool_attrs(g, p, true));
}

// avg_pool2d: out = window sum / divisor. d/dx: g/divisor added over each window.
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  const kernels::PoolGeometry g = pool_geometry(x, p, "avg_pool2d", false);
  Tensor out = kernels::avg_pool2d_forward(x, g);
  if (!records(x)) return out;
  return record(
      "avg_pool2d", out, {x}, [g](const Tensor& grad) { return TensorList{kernels::avg_pool2d_backward(grad, g)}; },
      pool_attrs(g, p, false));
}

// adaptive_avg_pool2d: window i spans [floor(i·H/oh), ceil((i+1)·H/oh)); out = its mean.
// d/dx: g / window size added over each window.
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> output_size) {
  check_input(x, "adaptive_avg_pool2d");
  SHRINK_CHECK(output_size[0] > 0 && output_size[1] > 0, "adaptive_avg_pool2d: expected output_size > 0, got ",
               pair_str(output_size));
  SHRINK_CHECK_SHAPE(x.size(1) > 0 && x.size(2) > 0 && x.size(3) > 0,
                     "adaptive_avg_pool2d: expected an input with non-zero C, H and W, got shape ",
                     shape_str(x.shape()));
  Tensor out = kernels::adaptive_avg_pool2d_forward(x, output_size[0], output_size[1]);
  const i64 H = x.size(2), W = x.size(3);
  if (!records(x)) return out;
  return record("adaptive_avg_pool2d", out, {x},
                [H, W](const Tensor& grad) { return TensorList{kernels::adaptive_avg_pool2d_backward(grad, H, W)}; },
                {{"output_size", std::vector<i64>{output_size[0], output_size[1]}}});
}

}  // namespace shrink
