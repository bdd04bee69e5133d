// Convolution: conv2d (argument checks here, arithmetic in kernels/conv.h).
#include "autograd/kernels/conv.h"

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

// floor(a / b) for b > 0 (the output-size formula with negative numerators).
i64 floor_div(i64 a, i64 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Validates the arguments like PyTorch's Conv2d and returns the geometry of the call.
kernels::ConvGeometry conv_geometry(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  SHRINK_CHECK(x.defined() && w.defined(), "conv2d: expected defined input and weight tensors, got an undefined ",
               x.defined() ? "weight" : "input");
  SHRINK_CHECK(x.dtype() == DType::Float32, "conv2d: expected a float32 input, got ", dtype_name(x.dtype()));
  SHRINK_CHECK(w.dtype() == DType::Float32, "conv2d: expected a float32 weight, got ", dtype_name(w.dtype()));
  SHRINK_CHECK_SHAPE(x.dim() == 4, "conv2d: expected a 4-D input [N, C, H, W], got shape ", shape_str(x.shape()),
                     x.dim() == 3 ? ". Hint: a single image needs a batch dimension: unsqueeze(x, 0)" : "");
  SHRINK_CHECK_SHAPE(w.dim() == 4,
                     "conv2d: expected a 4-D weight [out_channels, in_channels/groups, kh, kw], got shape ",
                     shape_str(w.shape()));
  SHRINK_CHECK(p.groups > 0, "conv2d: expected groups > 0, got ", p.groups);
  SHRINK_CHECK(p.stride[0] > 0 && p.stride[1] > 0, "conv2d: expected stride > 0, got ", pair_str(p.stride));
  SHRINK_CHECK(p.dilation[0] > 0 && p.dilation[1] > 0, "conv2d: expected dilation > 0, got ", pair_str(p.dilation));
  SHRINK_CHECK(p.padding[0] >= 0 && p.padding[1] >= 0, "conv2d: expected padding >= 0, got ", pair_str(p.padding));
  const i64 G = p.groups;
  SHRINK_CHECK_SHAPE(w.size(0) % G == 0, "conv2d: expected out_channels (weight dim 0) divisible by groups=", G,
                     ", got weight ", shape_str(w.shape()));
  SHRINK_CHECK_SHAPE(x.size(1) % G == 0, "conv2d: expected in_channels (input dim 1) divisible by groups=", G,
                     ", got input ", shape_str(x.shape()));
  SHRINK_CHECK_SHAPE(x.size(1) == w.size(1) * G, "conv2d: expected input with ", w.size(1) * G, " channels (weight ",
                     shape_str(w.shape()), " with groups=", G, "), got input ", shape_str(x.shape()),
                     ". Hint: weight dim 1 is in_channels / groups");
  SHRINK_CHECK_SHAPE(w.size(2) > 0 && w.size(3) > 0, "conv2d: expected a kernel of positive size, got weight ",
                     shape_str(w.shape()));
  if (b.defined()) {
    SHRINK_CHECK(b.dtype() == DType::Float32, "conv2d: expected a float32 bias, got ", dtype_name(b.dtype()));
    SHRINK_CHECK_SHAPE(b.dim() == 1 && b.size(0) == w.size(0), "conv2d: expected bias of shape [", w.size(0),
                       "] (one per output channel of weight ", shape_str(w.shape()), "), got ", shape_str(b.shape()));
  }
  kernels::ConvGeometry g;
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.Co = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.sh = p.stride[0], g.sw = p.stride[1], g.ph = p.padding[0], g.pw = p.padding[1];
  g.dh = p.dilation[0], g.dw = p.dilation[1], g.groups = G;
  const i64 eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;  // dilated kernel extent
  g.OH = floor_div(g.H + 2 * g.ph - eh, g.sh) + 1;
  g.OW = floor_div(g.W + 2 * g.pw - ew, g.sw) + 1;
  SHRINK_CHECK_SHAPE(g.OH > 0 && g.OW > 0, "conv2d: output size would be 0 or negative: ", g.OH, "x", g.OW, " (input ",
                     shape_str(x.shape()), " padded to ", g.H + 2 * g.ph, "x", g.W + 2 * g.pw, ", kernel ", g.kh, "x",
                     g.kw, " with dilation ", pair_str(p.dilation), " spans ", eh, "x", ew,
                     "). Hint: the padded input must be at least as large as the dilated kernel");
  return g;
}

}  // namespace

// conv2d: out[n,co] = b[co] + Σ_{ci in group, i, j} w[co,ci,i,j] · x[n, ci, oh·s - p + i·d, ow·s - p + j·d].
// Backward (kernels::conv2d_backward): dx is the transposed convolution of g with w, dw
// correlates x with g, db sums g over N, H, W.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  const kernels::ConvGeometry g = conv_geometry(x, weight, bias, p);
  Tensor out = kernels::conv2d_forward(x, weight, bias, g);
  if (!records(x, weight, bias)) return out;
  const bool gx = x.requires_grad(), gw = weight.requires_grad(), gb = bias.defined() && bias.requires_grad();
  const bool has_bias = bias.defined();
  // Capture only what the wanted gradients read: x for dw, weight for dx.
  BackwardFn backward = [x = gw ? x.detach() : Tensor(), w = gx ? weight.detach() : Tensor(), g, gx, gw, gb,
                         has_bias](const Tensor& grad) {
    kernels::ConvGrads r = kernels::conv2d_backward(grad, x, w, g, gx, gw, gb);
    TensorList grads{r.dx, r.dw};
    if (has_bias) grads.push_back(r.db);
    return grads;
  };
  Attributes attrs{{"stride", std::vector<i64>{p.stride[0], p.stride[1]}},
                   {"padding", std::vector<i64>{p.padding[0], p.padding[1]}},
                   {"dilation", std::vector<i64>{p.dilation[0], p.dilation[1]}},
                   {"groups", p.groups}};
  return record("conv2d", out, has_bias ? TensorList{x, weight, bias} : TensorList{x, weight}, std::move(backward),
                std::move(attrs));
}

Tensor conv2d_activated(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                        kernels::Activation act) {
  SHRINK_CHECK(act != kernels::Activation::None,
               "conv2d_activated: expected relu or relu6, got none. Hint: call conv2d");
  if (records(x, weight, bias)) {
    const Tensor y = conv2d(x, weight, bias, p);
    return act == kernels::Activation::Relu ? relu(y) : relu6(y);
  }
  return kernels::conv2d_forward(x, weight, bias, conv_geometry(x, weight, bias, p), kernels::ConvAlgo::Auto, act);
}

}  // namespace shrink
