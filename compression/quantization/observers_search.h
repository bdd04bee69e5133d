#pragma once
/// \file
/// Observers that pick a clipped range per batch instead of the full min/max (SEMANTICS §1,
/// "Observers"): the percentile observer and the MSE search. Both work per tensor or per channel
/// (options.axis), keep the running mean over batches of the range each batch chose
/// (m ← m + (v − m)/n in float32, the first batch sets it), and turn it into qparams with
/// calculate_qparams() on the options' range and scheme. With a single calibration batch the
/// range is exactly that batch's choice.

#include <cstdint>
#include <utility>
#include <vector>

#include "compression/quantization/observers.h"

namespace shrink::compression {

/// The running mean of per-batch ranges that both observers share.
/// State {"min_val", "max_val"} (float32 [1], or [C] per channel; [0] before any batch) and
/// {"batches"} (int64, the number of batches averaged).
class RangeSearchObserver : public Observer {
 public:
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  bool empty() const override { return batches_ == 0; }
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;
  /// The averaged range ([1] or [C]; [0] before any batch).
  const Tensor& min_val() const { return min_; }
  const Tensor& max_val() const { return max_; }

 protected:
  explicit RangeSearchObserver(ObserverOptions options, const char* name);
  /// The range this batch chooses for one channel's values (never empty).
  virtual std::pair<float, float> choose(const std::vector<float>& values) const = 0;

 private:
  Tensor min_ = zeros({0}), max_ = zeros({0});
  std::int64_t batches_ = 0;
};

/// `percentile`: per batch, min = the (100 − p)-th and max = the p-th percentile of the values
/// (p = options.percentile in [50, 100]; 100 gives the plain min and max). Interpolation is
/// linear between the two nearest ranks, numpy's and torch.quantile's default: with the n
/// values sorted v₀ ≤ … ≤ vₙ₋₁, rank r = q/100 · (n − 1), value = v⌊r⌋ + (r − ⌊r⌋)·(v⌊r⌋₊₁ − v⌊r⌋),
/// computed in double and rounded to float32.
class PercentileObserver : public RangeSearchObserver {
 public:
  explicit PercentileObserver(ObserverOptions options);
  std::string name() const override { return "percentile"; }

 protected:
  std::pair<float, float> choose(const std::vector<float>& values) const override;
};

/// `mse`: per batch, the range widened to include 0, (min_neg, max_pos), is shrunk to
/// (α·min_neg, α·max_pos) for α = k / G, k = G, G − 1, …, 1 (G = options.mse_grid, 100 by
/// default: α from 1 down to 0.01 in steps of 0.01, computed as float(k) / float(G)); each
/// candidate's qparams come from calculate_qparams() and its error is Σ (x − fake_quantize(x))²
/// (fake_quant.h, summed in double). The candidate with the least error wins; on a tie the
/// larger α (less clipping) is kept.
class MseObserver : public RangeSearchObserver {
 public:
  explicit MseObserver(ObserverOptions options);
  std::string name() const override { return "mse"; }

 protected:
  std::pair<float, float> choose(const std::vector<float>& values) const override;
};

}  // namespace shrink::compression
