#pragma once
/// \file
/// Every differentiable op of Shrink, one free function each, with its formula.
///
/// Ops take and return float32 tensors unless stated; binary element-wise ops broadcast like
/// PyTorch. Each op computes its result with a kernel (autograd/kernels/) and records its
/// backward with record() (autograd/node.h). Implementations live in autograd/ops/<family>.cpp.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/kernels/activation.h"
#include "autograd/tensor.h"

namespace shrink {

class Generator;

/// How a loss reduces its per-element values.
enum class Reduction { None, Mean, Sum, BatchMean };

// ---- arithmetic (ops/arithmetic.cpp) ------------------------------------------------------------
/// add: out = a + b. d/da = g, d/db = g (reduced to each input's shape).
Tensor add(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float b);
/// sub: out = a - b. d/da = g, d/db = -g.
Tensor sub(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, float b);
/// mul: out = a * b. d/da = g*b, d/db = g*a.
Tensor mul(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, float b);
/// div: out = a / b. d/da = g/b, d/db = -g*a/b².
Tensor div(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, float b);
/// neg: out = -x.
Tensor neg(const Tensor& x);
/// reciprocal: out = 1/x. d/dx = -g/x².
Tensor reciprocal(const Tensor& x);
/// pow: out = x^p. d/dx = g*p*x^(p-1).
Tensor pow(const Tensor& x, float p);
/// pow: out = a^b (element-wise, broadcasting). d/da = g*b*a^(b-1), d/db = g*a^b*ln(a).
Tensor pow(const Tensor& a, const Tensor& b);

// ---- unary math (ops/unary.cpp) -----------------------------------------------------------------
/// exp: out = e^x. d/dx = g*out.
Tensor exp(const Tensor& x);
/// log: out = ln x. d/dx = g/x.
Tensor log(const Tensor& x);
/// sqrt: out = √x. d/dx = g/(2·out).
Tensor sqrt(const Tensor& x);
/// abs: out = |x|. d/dx = g*sign(x) (0 at 0).
Tensor abs(const Tensor& x);
/// clamp: out = min(max(x, lo), hi) (either bound optional). d/dx = g where lo ≤ x ≤ hi, else 0.
Tensor clamp(const Tensor& x, std::optional<float> lo, std::optional<float> hi);

// ---- activations (ops/activation.cpp) -----------------------------------------------------------
/// relu: out = max(x, 0). d/dx = g where x > 0.
Tensor relu(const Tensor& x);
/// relu6: out = min(max(x, 0), 6). d/dx = g where 0 < x < 6.
Tensor relu6(const Tensor& x);
/// leaky_relu: out = x if x > 0 else slope*x.
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
/// gelu: out = x·Φ(x) (exact, erf) or the tanh approximation when `tanh_approximation`.
Tensor gelu(const Tensor& x, bool tanh_approximation = false);
/// sigmoid: out = 1/(1+e^-x). d/dx = g*out*(1-out).
Tensor sigmoid(const Tensor& x);
/// tanh: out = tanh x. d/dx = g*(1-out²).
Tensor tanh(const Tensor& x);

// ---- reductions (ops/reduction.cpp) -------------------------------------------------------------
/// sum of all elements -> shape [].
Tensor sum(const Tensor& x);
/// sum over `dims` (negative allowed; empty = all), keeping them as size 1 when `keepdim`.
Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
/// mean of all elements -> shape [].
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim = false);
/// max of all elements -> shape []. Gradient goes to the first maximal element.
Tensor max(const Tensor& x);
/// max over `dim` (values). Gradient goes to the first maximal element of each slice.
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// var over `dims` with Bessel's correction (`correction` = 1: unbiased, 0: population).
Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, std::int64_t correction = 1,
           bool keepdim = false);
/// argmax over `dim` (Int64, first maximal index); not differentiable.
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// argmax of the flattened tensor -> Int64 shape [].
Tensor argmax(const Tensor& x);

// ---- linear algebra (ops/linalg.cpp) ------------------------------------------------------------
/// matmul: [n,k]x[k,m] -> [n,m]; [B,n,k]x[B,k,m] -> [B,n,m]; [B,n,k]x[k,m] -> [B,n,m];
/// 1-D operands are treated as a row (left) or column (right) vector and that dim is dropped.
Tensor matmul(const Tensor& a, const Tensor& b);
/// linear: out = x·Wᵀ + b for x [..., in], W [out, in], b [out] (b may be undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- shape (ops/shape.cpp) ----------------------------------------------------------------------
/// reshape to `shape` (one entry may be -1); shares the data, records "reshape".
Tensor reshape(const Tensor& x, const Shape& shape);
/// flatten dims start..end (inclusive) into one.
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1);
/// transpose two dims (copies).
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1);
/// permute dims: out.shape[i] = x.shape[dims[i]] (copies).
Tensor permute(const Tensor& x, const std::vector<std::int64_t>& dims);
/// insert a dim of size 1 at `dim` (in [-(ndim+1), ndim]).
Tensor unsqueeze(const Tensor& x, std::int64_t dim);
/// drop every dim of size 1.
Tensor squeeze(const Tensor& x);
/// drop `dim` if it has size 1 (otherwise unchanged, like PyTorch).
Tensor squeeze(const Tensor& x, std::int64_t dim);
/// elements start..start+length-1 along `dim` (copies).
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length);
/// elements start, start+step, ... < end along `dim` (Python slice rules, negative start/end
/// allowed, clipped to the size; step ≥ 1).
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1);
/// concatenate along `dim`; every other dim must match.
Tensor cat(const TensorList& xs, std::int64_t dim = 0);

// ---- indexing (ops/indexing.cpp) ----------------------------------------------------------------
/// index_select: out = x gathered along `dim` at the Int64 1-D `index` (repeats allowed; the
/// gradient scatter-adds).
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index);
/// where: out = cond ? a : b (cond UInt8 0/1 or float nonzero; all three broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// masked_fill: out = mask ? value : x (mask UInt8 or float, broadcast to x).
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

// ---- convolution and pooling (ops/conv.cpp, ops/pool.cpp) ---------------------------------------
/// Settings of conv2d (PyTorch's Conv2d arguments).
struct Conv2dParams {
  std::array<std::int64_t, 2> stride{1, 1};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};
  std::int64_t groups = 1;
};
/// conv2d: x [N,Cin,H,W], weight [Cout,Cin/groups,kh,kw], bias [Cout] or undefined.
/// Records attributes stride, padding, dilation, groups.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), const Conv2dParams& p = {});
/// act(conv2d(x, weight, bias, p)) for act relu or relu6, the same floats as the two ops. When
/// no input requires grad (inference), the conv applies the activation as it writes each sample
/// (no second pass over the output); otherwise it records the two ops, conv2d then relu/relu6.
Tensor conv2d_activated(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                        kernels::Activation act);

/// Settings of max/avg pooling (stride 0 = kernel size, like PyTorch's default).
struct Pool2dParams {
  std::array<std::int64_t, 2> kernel{2, 2};
  std::array<std::int64_t, 2> stride{0, 0};
  std::array<std::int64_t, 2> padding{0, 0};
  std::array<std::int64_t, 2> dilation{1, 1};  ///< max pooling only
  bool ceil_mode = false;
  bool count_include_pad = true;  ///< avg pooling only
};
/// max_pool2d over [N,C,H,W] (padding counts as -inf). Gradient to the first max of a window.
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
/// avg_pool2d over [N,C,H,W].
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
/// adaptive_avg_pool2d: [N,C,H,W] -> [N,C,oh,ow] with PyTorch's start/end index rule.
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<std::int64_t, 2> output_size);

// ---- normalisation, dropout (ops/norm.cpp) ------------------------------------------------------
/// batch_norm over [N,C], [N,C,L] or [N,C,H,W]. In training it normalises with the batch's
/// biased variance and updates running_mean/var in place (unbiased variance, `momentum`) when
/// they are defined; in eval it uses them. weight/bias may be undefined (affine off).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, float momentum = 0.1f, float eps = 1e-5f);
/// dropout: in training, zero each element with probability p and scale the rest by 1/(1-p);
/// identity otherwise.
Tensor dropout(const Tensor& x, float p, bool training, Generator* gen = nullptr);

// ---- softmax and losses (ops/loss.cpp) ----------------------------------------------------------
/// softmax along `dim` (max-subtracted).
Tensor softmax(const Tensor& x, std::int64_t dim);
/// log_softmax along `dim`.
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// cross_entropy (PyTorch 1.13's F.cross_entropy, without class weights or ignore_index), with
/// either kind of target:
/// - class indices: logits [N,C], Int64 target [N] in [0,C); loss_i = −log_softmax(z)[i, t_i];
/// - class probabilities: float32 target of the shape of logits, [N,C] or [N,C,d...];
///   loss[n, d...] = −Σ_c t[n,c,d...]·log_softmax(z)[n,c,d...]; Mean divides the sum by N·Πd
///   (like PyTorch, not by the sum of the targets); the target gets a gradient too.
/// Label smoothing ε mixes either target with the uniform distribution: t·(1 − ε) + ε/C.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     float label_smoothing = 0.0f);
/// nll_loss: log-probabilities [N,C], Int64 targets [N]: -logp[i, t_i].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
/// mse_loss: (a-b)² reduced.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// l1_loss: |a-b| reduced.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// kl_div (PyTorch's F.kl_div): input holds log-probabilities, target probabilities (or
/// log-probabilities when `log_target`); pointwise target·(log target − input); BatchMean
/// divides the sum by N.
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::BatchMean,
              bool log_target = false);

}  // namespace shrink
