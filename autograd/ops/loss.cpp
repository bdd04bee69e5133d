// Softmax and losses: softmax, log_softmax, cross_entropy, nll_loss, mse_loss, l1_loss, kl_div.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/kernels/parallel.h"
#include "autograd/kernels/softmax.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace shrink {
namespace {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None:
      return "none";
    case Reduction::Mean:
      return "mean";
    case Reduction::Sum:
      return "sum";
    case Reduction::BatchMean:
      return "batchmean";
  }
  return "?";
}

/// Every loss but kl_div accepts None, Mean and Sum only.
void check_reduction(const char* op, Reduction r) {
  SHRINK_CHECK(r != Reduction::BatchMean, op,
               ": expected reduction None, Mean or Sum, got BatchMean. "
               "Hint: BatchMean is only valid for kl_div");
}

/// Σ f(i) for i in [0, n) in double: fixed-size chunks reduced in parallel, then added in chunk
/// order, so the result does not depend on the thread count.
template <typename F>
double chunked_sum(std::int64_t n, F&& f) {
  const std::int64_t chunks = kernels::chunk_count(n);
  std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
  kernels::parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t s = c * kernels::kReduceChunk, e = std::min(n, s + kernels::kReduceChunk);
      double acc = 0;
      for (std::int64_t i = s; i < e; ++i) acc += f(i);
      partial[c] = acc;
    }
  });
  double total = 0;
  for (double v : partial) total += v;
  return total;
}

/// Normalises `dim` for softmax; a 0-dim tensor behaves as one element along dim 0 or -1.
void softmax_layout(const Tensor& x, std::int64_t& dim, std::int64_t& outer, std::int64_t& size, std::int64_t& inner,
                    const char* op) {
  SHRINK_CHECK(x.dtype() == DType::Float32, op, ": expected a float32 tensor, got ", dtype_name(x.dtype()));
  dim = normalize_dim(dim, std::max<std::int64_t>(x.dim(), 1), op);
  outer = 1;
  inner = 1;
  size = x.dim() == 0 ? 1 : x.size(dim);
  for (std::int64_t d = 0; d < dim && d < x.dim(); ++d) outer *= x.size(d);
  for (std::int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
}

Tensor softmax_impl(const Tensor& x, std::int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  std::int64_t outer, size, inner;
  softmax_layout(x, dim, outer, size, inner, op);
  Tensor out = Tensor::empty(x.shape());
  kernels::softmax_forward(x.data<float>(), outer, size, inner, log, out.data<float>());
  if (!records(x)) return out;
  return record(op, out, {x},
                [y = out.detach(), outer, size, inner, log](const Tensor& g) {
                  Tensor gx = Tensor::empty(y.shape());
                  kernels::softmax_backward(g.data<float>(), y.data<float>(), outer, size, inner, log,
                                            gx.data<float>());
                  return TensorList{gx};
                },
                {{"dim", dim}});
}

/// Validates logits-like [N, C] float32 input and Int64 targets [N] with values in [0, C).
void check_class_targets(const char* op, const char* input_name, const Tensor& input, const Tensor& target) {
  SHRINK_CHECK(input.dtype() == DType::Float32, op, ": expected float32 ", input_name, ", got ",
               dtype_name(input.dtype()));
  SHRINK_CHECK_SHAPE(input.dim() == 2, op, ": expected ", input_name, " of shape [N, C], got ",
                     shape_str(input.shape()));
  SHRINK_CHECK(target.dtype() == DType::Int64, op, ": expected int64 targets, got ", dtype_name(target.dtype()),
               ". Hint: targets must be int64 class indices (convert with .to(DType::Int64))");
  const std::int64_t n = input.size(0), c = input.size(1);
  SHRINK_CHECK_SHAPE(target.shape() == Shape{n}, op, ": expected target of shape [", n,
                     "] (one class index per row of ", input_name, " ", shape_str(input.shape()), "), got ",
                     shape_str(target.shape()));
  const std::int64_t* t = target.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    SHRINK_CHECK_INDEX(t[i] >= 0 && t[i] < c, op, ": expected target values in [0, ", c, "), got ", t[i], " at sample ",
                       i);
}

/// Per-sample losses [N] -> the reduced result; the divisor of Mean is N.
Tensor reduce_rows(const Tensor& rows, Reduction reduction) {
  if (reduction == Reduction::None) return rows;
  const float* p = rows.data<float>();
  const double total = chunked_sum(rows.numel(), [p](std::int64_t i) { return double(p[i]); });
  return scalar_tensor(reduction == Reduction::Mean ? total / static_cast<double>(rows.numel()) : total);
}

/// The gradient scale shared by every row of a reduced loss: g/N for Mean, g for Sum.
float row_scale(const Tensor& g, Reduction reduction, std::int64_t n) {
  const float gs = g.item<float>();
  return reduction == Reduction::Mean ? gs / static_cast<float>(n) : gs;
}

/// A loss whose elements are value(a_i, b_i) for two same-shape float32 tensors. dvalue_da and
/// dvalue_db give the elementwise derivatives. The reduced losses divide the sum by `divisor`.
template <typename Value, typename DA, typename DB>
Tensor pointwise_loss(const char* op, const Tensor& a, const Tensor& b, Reduction reduction, double divisor,
                      Attributes attrs, Value value, DA dvalue_da, DB dvalue_db) {
  const std::int64_t n = a.numel();
  const float *pa = a.data<float>(), *pb = b.data<float>();
  Tensor out;
  if (reduction == Reduction::None) {
    out = Tensor::empty(a.shape());
    float* po = out.data<float>();
    kernels::parallel_for(n, 32768, [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) po[i] = static_cast<float>(value(pa[i], pb[i]));
    });
  } else {
    out = scalar_tensor(chunked_sum(n, [&](std::int64_t i) { return value(pa[i], pb[i]); }) / divisor);
  }
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  attrs.insert(attrs.begin(), {"reduction", std::string(reduction_name(reduction))});
  return record(
      op, out, {a, b},
      [a = a.detach(), b = b.detach(), reduction, divisor, need_a, need_b, dvalue_da, dvalue_db](const Tensor& g) {
        const std::int64_t n = a.numel();
        const float *pa = a.data<float>(), *pb = b.data<float>(), *pg = g.data<float>();
        const bool per_element = reduction == Reduction::None;
        const float gs = per_element ? 0.0f : static_cast<float>(pg[0] / divisor);
        Tensor ga = need_a ? Tensor::empty(a.shape()) : Tensor(), gb = need_b ? Tensor::empty(b.shape()) : Tensor();
        float* pga = need_a ? ga.data<float>() : nullptr;
        float* pgb = need_b ? gb.data<float>() : nullptr;
        kernels::parallel_for(n, 32768, [&](std::int64_t s, std::int64_t e) {
          for (std::int64_t i = s; i < e; ++i) {
            const float r = per_element ? pg[i] : gs;
            if (pga) pga[i] = r * static_cast<float>(dvalue_da(pa[i], pb[i]));
            if (pgb) pgb[i] = r * static_cast<float>(dvalue_db(pa[i], pb[i]));
          }
        });
        return TensorList{ga, gb};
      },
      std::move(attrs));
}

/// Same-shape float32 input and target for the pointwise losses.
void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  SHRINK_CHECK(input.dtype() == DType::Float32 && target.dtype() == DType::Float32, op,
               ": expected float32 input and target, got ", dtype_name(input.dtype()), " and ",
               dtype_name(target.dtype()));
  SHRINK_CHECK_SHAPE(input.shape() == target.shape(), op, ": expected input and target of the same shape, got ",
                     shape_str(input.shape()), " and ", shape_str(target.shape()),
                     ". Hint: reshape one of them; broadcasting [N] against [N, 1] would compare every pair");
}

/// cross_entropy against class probabilities: `target` has the shape of `logits` [N, C, d...]
/// (PyTorch 1.13's cross_entropy with a float target). t' = t·(1 − ε) + ε/C (smoothing, computed
/// like PyTorch: both scalars rounded to float), loss[n, d...] = −Σ_c t'·log_softmax(z) over C;
/// Mean divides by N·Πd (not by Σ t'). d/dz = scale·(softmax(z)·Σ_c t' − t'),
/// d/dt = −scale·(1 − ε)·log_softmax(z).
Tensor cross_entropy_probabilities(const Tensor& logits, const Tensor& target, Reduction reduction,
                                   float label_smoothing) {
  const char* op = "cross_entropy";
  SHRINK_CHECK(logits.dtype() == DType::Float32, op, ": expected float32 logits, got ", dtype_name(logits.dtype()));
  SHRINK_CHECK_SHAPE(logits.dim() >= 2, op, ": expected logits of shape [N, C] or [N, C, d...], got ",
                     shape_str(logits.shape()));
  SHRINK_CHECK_SHAPE(target.shape() == logits.shape(), op,
                     ": expected a float32 target of class probabilities with the shape of logits ",
                     shape_str(logits.shape()), ", got ", shape_str(target.shape()),
                     ". Hint: class-index targets must be int64 (convert with .to(DType::Int64))");
  const std::int64_t n = logits.size(0), c = logits.size(1);
  std::int64_t inner = 1;
  Shape row_shape{n};
  for (std::int64_t d = 2; d < logits.dim(); ++d) {
    inner *= logits.size(d);
    row_shape.push_back(logits.size(d));
  }
  Tensor logp = Tensor::empty(logits.shape());
  kernels::softmax_forward(logits.data<float>(), n, c, inner, true, logp.data<float>());
  const bool smooth = label_smoothing > 0;
  const auto keep = static_cast<float>(1.0 - double(label_smoothing));
  const auto spread = static_cast<float>(double(label_smoothing) / static_cast<double>(c));
  auto smoothed = [smooth, keep, spread](float t) { return smooth ? t * keep + spread : t; };

  // Rows of C·inner elements in parallel, about 16K elements per task.
  const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(c * inner, 1));
  Tensor rows = Tensor::empty(row_shape);
  {
    const float *lp = logp.data<float>(), *t = target.data<float>();
    float* pr = rows.data<float>();
    kernels::parallel_for(n, grain, [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i)
        for (std::int64_t k = 0; k < inner; ++k) {
          double acc = 0;
          for (std::int64_t j = 0; j < c; ++j) {
            const std::int64_t at = (i * c + j) * inner + k;
            acc += double(smoothed(t[at])) * lp[at];
          }
          pr[i * inner + k] = static_cast<float>(-acc);
        }
    });
  }
  Tensor out = reduce_rows(rows, reduction);
  const bool need_target = target.requires_grad();
  return record(
      op, out, {logits, target},
      [logp, target = target.detach(), reduction, smoothed, keep, n, c, inner, grain, need_target](const Tensor& g) {
        const bool per_row = reduction == Reduction::None;
        const float scale = per_row ? 0.0f : row_scale(g, reduction, n * inner);
        const float *lp = logp.data<float>(), *t = target.data<float>(), *pg = g.data<float>();
        Tensor gz = Tensor::empty(logp.shape()), gt = need_target ? Tensor::empty(logp.shape()) : Tensor();
        float* pgz = gz.data<float>();
        float* pgt = need_target ? gt.data<float>() : nullptr;
        kernels::parallel_for(n, grain, [&](std::int64_t i0, std::int64_t i1) {
          for (std::int64_t i = i0; i < i1; ++i)
            for (std::int64_t k = 0; k < inner; ++k) {
              const float sc = per_row ? pg[i * inner + k] : scale;
              double total = 0;
              for (std::int64_t j = 0; j < c; ++j) total += smoothed(t[(i * c + j) * inner + k]);
              for (std::int64_t j = 0; j < c; ++j) {
                const std::int64_t at = (i * c + j) * inner + k;
                pgz[at] = static_cast<float>(sc * (std::exp(double(lp[at])) * total - smoothed(t[at])));
                if (pgt) pgt[at] = -sc * keep * lp[at];
              }
            }
        });
        return TensorList{gz, gt};
      },
      {{"reduction", std::string(reduction_name(reduction))},
       {"label_smoothing", double(label_smoothing)},
       {"target", std::string("probabilities")}});
}

}  // namespace

// softmax: exp(x − max)/Σexp(x − max) along dim. d/dx = y·(g − Σ g·y).
Tensor softmax(const Tensor& x, std::int64_t dim) { return softmax_impl(x, dim, false); }

// log_softmax: x − max − log Σexp(x − max) along dim. d/dx = g − softmax·Σ g.
Tensor log_softmax(const Tensor& x, std::int64_t dim) { return softmax_impl(x, dim, true); }

// cross_entropy: (1 − ε)·(−log p[t]) + ε/C·Σ_c(−log p[c]) per sample (PyTorch's label smoothing),
// fused with the log-softmax. d/dz = scale·(softmax − (1 − ε)·onehot(t) − ε/C).
// A float32 target holds class probabilities instead (cross_entropy_probabilities above).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction, float label_smoothing) {
  check_reduction("cross_entropy", reduction);
  SHRINK_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f,
               "cross_entropy: expected label_smoothing in [0, 1], got ", label_smoothing);
  SHRINK_CHECK(target.dtype() == DType::Int64 || target.dtype() == DType::Float32,
               "cross_entropy: expected an int64 target of class indices or a float32 target of class "
               "probabilities, got ", dtype_name(target.dtype()));
  if (target.dtype() == DType::Float32) return cross_entropy_probabilities(logits, target, reduction, label_smoothing);
  check_class_targets("cross_entropy", "logits", logits, target);
  const std::int64_t n = logits.size(0), c = logits.size(1);
  Tensor rows = Tensor::empty({n}), row_max = Tensor::empty({n}), row_logsum = Tensor::empty({n});
  kernels::cross_entropy_forward(logits.data<float>(), target.data<std::int64_t>(), n, c, label_smoothing,
                                 rows.data<float>(), row_max.data<float>(), row_logsum.data<float>());
  Tensor out = reduce_rows(rows, reduction);
  if (!records(logits, target)) return out;
  return record("cross_entropy", out, {logits, target},
                [z = logits.detach(), target = target.detach(), row_max, row_logsum, reduction, label_smoothing, n,
                 c](const Tensor& g) {
                  // Per-row scales g[i] for None; one scale g/N or g for Mean and Sum.
                  const bool per_row = reduction == Reduction::None;
                  const float scale = per_row ? 0.0f : row_scale(g, reduction, n);
                  Tensor gz = Tensor::empty(z.shape());
                  kernels::cross_entropy_backward(z.data<float>(), target.data<std::int64_t>(), row_max.data<float>(),
                                                  row_logsum.data<float>(), n, c, label_smoothing,
                                                  per_row ? g.data<float>() : nullptr, scale, gz.data<float>());
                  return TensorList{gz, Tensor()};
                },
                {{"reduction", std::string(reduction_name(reduction))}, {"label_smoothing", double(label_smoothing)}});
}

// nll_loss: −logp[i, t_i] per sample. d/dlogp[i, t_i] = −scale_i, 0 elsewhere.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  check_reduction("nll_loss", reduction);
  check_class_targets("nll_loss", "log_probs", log_probs, target);
  const std::int64_t n = log_probs.size(0), c = log_probs.size(1);
  Tensor rows = Tensor::empty({n});
  const float* lp = log_probs.data<float>();
  const std::int64_t* t = target.data<std::int64_t>();
  float* pr = rows.data<float>();
  for (std::int64_t i = 0; i < n; ++i) pr[i] = -lp[i * c + t[i]];
  Tensor out = reduce_rows(rows, reduction);
  if (!records(log_probs, target)) return out;
  return record("nll_loss", out, {log_probs, target},
                [target = target.detach(), reduction, n, c](const Tensor& g) {
                  const bool per_row = reduction == Reduction::None;
                  const float scale = per_row ? 0.0f : row_scale(g, reduction, n);
                  const float* pgo = g.data<float>();
                  Tensor gl = zeros({n, c});
                  float* pg = gl.data<float>();
                  const std::int64_t* t = target.data<std::int64_t>();
                  for (std::int64_t i = 0; i < n; ++i) pg[i * c + t[i]] = -(per_row ? pgo[i] : scale);
                  return TensorList{gl, Tensor()};
                },
                {{"reduction", std::string(reduction_name(reduction))}});
}

// mse_loss: (a − b)² reduced. d/da = 2(a − b)·scale, d/db = −d/da.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_reduction("mse_loss", reduction);
  check_pair("mse_loss", input, target);
  return pointwise_loss(
      "mse_loss", input, target, reduction, reduction == Reduction::Mean ? double(input.numel()) : 1.0, {},
      [](float a, float b) {
        const double d = double(a) - b;
        return d * d;
      },
      [](float a, float b) { return 2.0 * (double(a) - b); }, [](float a, float b) { return -2.0 * (double(a) - b); });
}

// l1_loss: |a − b| reduced. d/da = sign(a − b)·scale (0 where a = b), d/db = −d/da.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_reduction("l1_loss", reduction);
  check_pair("l1_loss", input, target);
  auto sign = [](float a, float b) { return a > b ? 1.0 : (a < b ? -1.0 : 0.0); };
  return pointwise_loss(
      "l1_loss", input, target, reduction, reduction == Reduction::Mean ? double(input.numel()) : 1.0, {},
      [](float a, float b) { return std::abs(double(a) - b); }, sign, [sign](float a, float b) { return -sign(a, b); });
}

// kl_div (PyTorch's F.kl_div): t·(log t − x) pointwise (0 where t = 0, NaN where t < 0, as
// PyTorch's xlogy), or e^t·(t − x) with log_target. Mean divides by the element count,
// BatchMean by the batch size (dim 0).
// d/dx = −t (or −e^t); d/dt = log t + 1 − x (NaN at t = 0, as PyTorch) or e^t·(t − x + 1).
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  check_pair("kl_div", input, target);
  double divisor = 1.0;
  if (reduction == Reduction::Mean) divisor = static_cast<double>(input.numel());
  if (reduction == Reduction::BatchMean && input.dim() > 0) divisor = static_cast<double>(input.size(0));
  Attributes attrs{{"log_target", log_target}};
  if (log_target) {
    return pointwise_loss(
        "kl_div", input, target, reduction, divisor, std::move(attrs),
        [](float x, float t) { return std::exp(double(t)) * (double(t) - x); },
        [](float, float t) { return -std::exp(double(t)); },
        [](float x, float t) { return std::exp(double(t)) * (double(t) - x + 1.0); });
  }
  return pointwise_loss(
      "kl_div", input, target, reduction, divisor, std::move(attrs),
      [](float x, float t) { return t == 0 ? -double(t) * x : double(t) * (std::log(double(t)) - x); },
      [](float, float t) { return -double(t); },
      // At t = 0 PyTorch's xlogy backward gives 0/0 = NaN for the target gradient; so do we.
      [](float x, float t) {
        return t == 0 ? std::numeric_limits<double>::quiet_NaN() : std::log(double(t)) + 1.0 - x;
      });
}

}  // namespace shrink
