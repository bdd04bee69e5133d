#pragma once
/// \file
/// Observers: running statistics of the tensors a quantizer sees, turned into scale and zero
/// point (SEMANTICS §1, "Observers"). Min-max and moving-average min-max, per tensor or per
/// channel, match PyTorch's MinMaxObserver, MovingAverageMinMaxObserver and their PerChannel
/// variants bit for bit; NNI QAT's activation EMA (t ← 0.99·t + 0.01·cur, seeded by the first
/// batch) is the moving average with constant 0.01.

#include <memory>
#include <string>

#include "autograd/tensor.h"
#include "compression/quantization/qparams.h"
#include "io/state_dict.h"

namespace shrink::compression {

/// What every observer is built with.
struct ObserverOptions {
  QuantRange range;                           ///< the integer grid (default int8)
  QuantScheme scheme = QuantScheme::Affine;   ///< affine or symmetric
  std::int64_t axis = -1;                     ///< −1: per tensor; ≥ 0: per channel along axis
  float averaging_constant = 0.01f;           ///< moving averages only
  float moving_rate = 0.9f;                   ///< moving_average_abs_max: r in state ← r·state + 1
  std::int64_t window_size = 10000;           ///< range_abs_max: batches in the sliding window
  double percentile = 99.99;                  ///< percentile: clip at the p-th / (100 − p)-th percentile
  std::int64_t mse_grid = 100;                ///< mse: candidate clipping ratios α = k / mse_grid, k = 1..mse_grid
  std::int64_t bins = 2048;                   ///< histogram: bins of the running histogram
};

class Observer {
 public:
  explicit Observer(ObserverOptions options) : options_(options) {}
  virtual ~Observer() = default;

  /// Updates the statistics with `x` (read without recording; x is not changed).
  virtual void observe(const Tensor& x) = 0;
  /// Scale and zero point of what was observed so far (scale 1, zp 0 before any batch).
  virtual QParams qparams() const = 0;
  /// The name a config_list uses ("min_max", "moving_average_min_max", ...).
  virtual std::string name() const = 0;
  /// True before the first observe() (qparams() are then the placeholder scale 1, zp 0).
  virtual bool empty() const = 0;
  /// The statistics as tensors, for checkpoints (every observer documents its entries).
  virtual io::StateDict state() const = 0;
  /// Restores what state() saved. Validates every entry before anything changes: ValueError
  /// "<name>.load_state: expected ..." for missing or extra keys, wrong dtypes or shapes.
  virtual void load_state(const io::StateDict& state) = 0;
  const ObserverOptions& options() const { return options_; }

 protected:
  ObserverOptions options_;
};

/// Running min and max: per tensor [1], or per channel [C] (reduced over every dim but `axis`).
class MinMaxObserver : public Observer {
 public:
  explicit MinMaxObserver(ObserverOptions options = {});
  void observe(const Tensor& x) override;
  QParams qparams() const override;
  std::string name() const override { return "min_max"; }
  bool empty() const override;
  /// {"min_val", "max_val"}: float32 [1] per tensor, [C] per channel ([0] before any batch).
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;
  /// The tracked minimum / maximum ([1] or [C]; +inf / −inf before any batch, [0] per channel).
  const Tensor& min_val() const { return min_; }
  const Tensor& max_val() const { return max_; }

 protected:
  /// The current batch's min and max, reduced as the options say.
  std::pair<Tensor, Tensor> batch_range(const Tensor& x) const;
  Tensor min_, max_;
};

/// The first batch sets min and max; later ones move them: m ← m + c·(cur − m) (float32).
class MovingAverageMinMaxObserver : public MinMaxObserver {
 public:
  explicit MovingAverageMinMaxObserver(ObserverOptions options = {});
  void observe(const Tensor& x) override;
  std::string name() const override { return "moving_average_min_max"; }
};

}  // namespace shrink::compression
