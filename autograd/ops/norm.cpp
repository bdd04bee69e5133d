// Normalisation and dropout: batch_norm, dropout.
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/batch_norm.h"
#include "autograd/kernels/parallel.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

/// Checks that an optional per-channel tensor is float32 of shape [C].
void check_channel_tensor(const Tensor& t, const char* name, std::int64_t channels) {
  if (!t.defined()) return;
  SHRINK_CHECK(t.dtype() == DType::Float32, "batch_norm: expected ", name, " of dtype float32, got ",
               dtype_name(t.dtype()));
  SHRINK_CHECK_SHAPE(t.dim() == 1 && t.size(0) == channels, "batch_norm: expected ", name, " of shape [", channels,
                     "] (one value per channel of the input), got ", shape_str(t.shape()));
}

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace

// batch_norm: out = (x − mean)/√(var + eps)·weight + bias per channel (dim 1), with the batch's
// statistics in training (running statistics updated in place) and the running ones in eval.
// Backward: the closed form of kernels::batch_norm_backward (training) or the affine map (eval).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean, Tensor running_var,
                  bool training, float momentum, float eps) {
  SHRINK_CHECK(x.dtype() == DType::Float32, "batch_norm: expected a float32 input, got ", dtype_name(x.dtype()));
  SHRINK_CHECK_SHAPE(x.dim() >= 2 && x.dim() <= 4,
                     "batch_norm: expected input of shape [N, C], [N, C, L] or "
                     "[N, C, H, W], got ",
                     shape_str(x.shape()));
  kernels::BatchNormDims d;
  d.n = x.size(0);
  d.c = x.size(1);
  d.s = shape_numel(Shape(x.shape().begin() + 2, x.shape().end()));
  check_channel_tensor(weight, "weight", d.c);
  check_channel_tensor(bias, "bias", d.c);
  check_channel_tensor(running_mean, "running_mean", d.c);
  check_channel_tensor(running_var, "running_var", d.c);
  SHRINK_CHECK(running_mean.defined() == running_var.defined(),
               "batch_norm: expected running_mean and running_var both defined or both undefined, got only ",
               running_mean.defined() ? "running_mean" : "running_var");
  SHRINK_CHECK(training || running_mean.defined(),
               "batch_norm: expected running_mean and running_var in eval mode (training = false), got undefined "
               "tensors. Hint: pass training = true to normalise with the batch statistics");
  SHRINK_CHECK(eps > 0.0f, "batch_norm: expected eps > 0, got ", eps);

  Tensor out = Tensor::empty(x.shape());
  // The per-channel mean stays in double (see kernels::batch_norm_train_forward); the backward
  // shares it.
  auto mean = std::make_shared<std::vector<double>>(static_cast<std::size_t>(d.c));
  Tensor invstd = Tensor::empty({d.c});
  if (training) {
    SHRINK_CHECK(d.per_channel() > 1,
                 "batch_norm: expected more than 1 value per channel when training, got input "
                 "of shape ",
                 shape_str(x.shape()), ". Hint: use a batch of at least 2 samples or call eval()");
    std::vector<double> var(static_cast<std::size_t>(d.c));
    kernels::batch_norm_train_forward(x.data<float>(), d, data_or_null(weight), data_or_null(bias), eps,
                                      out.data<float>(), mean->data(), var.data(), invstd.data<float>());
    if (running_mean.defined()) {
      // In place on the buffers, outside any graph (they are statistics, not parameters); in
      // double like PyTorch, with the unbiased variance.
      NoGradGuard no_grad;
      const double count = static_cast<double>(d.per_channel());
      float* rm = running_mean.data<float>();
      float* rv = running_var.data<float>();
      for (std::int64_t c = 0; c < d.c; ++c) {
        rm[c] = static_cast<float>(momentum * (*mean)[c] + (1.0 - momentum) * rm[c]);
        rv[c] = static_cast<float>(momentum * var[c] * count / (count - 1.0) + (1.0 - momentum) * rv[c]);
      }
    }
  } else {
    const float *rm = running_mean.data<float>(), *rv = running_var.data<float>();
    float* pi = invstd.data<float>();
    for (std::int64_t c = 0; c < d.c; ++c) {
      (*mean)[c] = rm[c];
      pi[c] = static_cast<float>(1.0 / std::sqrt(double(rv[c]) + eps));
    }
    kernels::batch_norm_eval_forward(x.data<float>(), d, mean->data(), pi, data_or_null(weight), data_or_null(bias),
                                     out.data<float>());
  }

  const bool need_x = x.requires_grad(), need_w = weight.defined() && weight.requires_grad(),
             need_b = bias.defined() && bias.requires_grad();
  if (!records(x, weight, bias)) return out;
  return record("batch_norm", out, {x, weight, bias},
                [d, training, need_x, need_w, need_b, x = x.detach(), w = weight.defined() ? weight.detach() : Tensor(),
                 mean, invstd](const Tensor& g) {
                  Tensor gx = need_x ? Tensor::empty(x.shape()) : Tensor();
                  Tensor gw = need_w ? Tensor::empty({d.c}) : Tensor();
                  Tensor gb = need_b ? Tensor::empty({d.c}) : Tensor();
                  kernels::batch_norm_backward(g.data<float>(), x.data<float>(), d, mean->data(), invstd.data<float>(),
                                               data_or_null(w), training, need_x ? gx.data<float>() : nullptr,
                                               need_w ? gw.data<float>() : nullptr,
                                               need_b ? gb.data<float>() : nullptr);
                  return TensorList{gx, gw, gb};
                },
                {{"training", training}, {"momentum", double(momentum)}, {"eps", double(eps)}});
}

// dropout: out = x·mask/(1−p) with mask ~ Bernoulli(1−p) drawn from `gen`; identity in eval or
// for p = 0, zeros for p = 1. d/dx = g·mask/(1−p) (the same mask).
Tensor dropout(const Tensor& x, float p, bool training, Generator* gen) {
  SHRINK_CHECK(p >= 0.0f && p <= 1.0f, "dropout: expected p in [0, 1], got ", p);
  SHRINK_CHECK(x.dtype() == DType::Float32, "dropout: expected a float32 input, got ", dtype_name(x.dtype()));
  if (!training || p == 0.0f) return x;  // PyTorch returns the input itself here too
  const std::int64_t n = x.numel();
  Tensor out = Tensor::empty(x.shape());
  float* po = out.data<float>();
  if (p == 1.0f) {
    std::fill(po, po + n, 0.0f);
    if (!records(x)) return out;
    return record("dropout", out, {x}, [shape = x.shape()](const Tensor&) { return TensorList{zeros(shape)}; },
                  {{"p", double(p)}, {"training", training}});
  }
  // The mask is drawn serially (one generator stream, reproducible from its seed); applying it
  // is a cheap single pass.
  Generator& g = gen ? *gen : default_generator();
  Tensor mask = Tensor::empty(x.shape(), DType::UInt8);
  std::uint8_t* pm = mask.data<std::uint8_t>();
  const float keep = 1.0f - p, scale = 1.0f / keep;
  const float* px = x.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    pm[i] = g.uniform() < keep ? 1 : 0;
    po[i] = pm[i] ? px[i] * scale : 0.0f;
  }
  if (!records(x)) return out;
  return record("dropout", out, {x},
                [mask, scale](const Tensor& grad) {
                  Tensor gx = Tensor::empty(grad.shape());
                  const float* pg = grad.data<float>();
                  const std::uint8_t* pm = mask.data<std::uint8_t>();
                  float* pgx = gx.data<float>();
                  kernels::parallel_for(gx.numel(), 32768, [&](std::int64_t s, std::int64_t e) {
                    for (std::int64_t i = s; i < e; ++i) pgx[i] = pm[i] ? pg[i] * scale : 0.0f;
                  });
                  return TensorList{gx};
                },
                {{"p", double(p)}, {"training", training}});
}

}  // namespace shrink
