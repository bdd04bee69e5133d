#pragma once
/// \file
/// PaddleSlim's observers (SEMANTICS §1, "PaddleSlim"): `abs_max`, `channel_wise_abs_max`,
/// `range_abs_max` and `moving_average_abs_max`. Each tracks a clipping threshold s (per tensor,
/// or per channel for channel_wise_abs_max); all are symmetric and signed with zero point 0 and
/// bin_cnt = 2^(b−1) − 1, so they need ObserverOptions with scheme Symmetric and a full signed
/// b-bit range [−2^(b−1), 2^(b−1) − 1].
///
/// Two ways to use the threshold:
/// - fake_quantize(x): PaddleSlim's own fake quantize-dequantize (fake_quant_paddle.h), bit for
///   bit what Paddle computes;
/// - qparams(): scale = max(s / bin_cnt, 2^−23), zero point 0, on the options' range — what an
///   int8 export stores. fake_quantize() of fake_quant.h with these qparams can differ from
///   Paddle's in the last bit (see fake_quant_paddle.h for why and how often).
///
/// Freezing at inference (range_abs_max, moving_average_abs_max) is the caller's: stop calling
/// observe() in eval mode. abs_max and channel_wise_abs_max take the current tensor's max|x| on
/// every observe(), as Paddle does.

#include <cstdint>
#include <deque>

#include "compression/quantization/observers.h"

namespace shrink::compression {

/// What the four have in common: the threshold(s), the Paddle fake quantization, the qparams.
class AbsMaxObserverBase : public Observer {
 public:
  QParams qparams() const override;
  /// The clipping thresholds s: [1] per tensor, [C] per channel; [0] before any batch.
  const Tensor& thresholds() const { return threshold_; }
  /// 2^(b−1) − 1 for the options' b-bit range.
  std::int64_t bin_cnt() const { return options_.range.qmax; }
  /// Paddle's fake quantize-dequantize of `x` with the current thresholds (fake_quantize_abs_max
  /// or, per channel, fake_quantize_channel_wise_abs_max). ValueError before any batch.
  Tensor fake_quantize(const Tensor& x) const;
  bool empty() const override { return threshold_.numel() == 0; }

 protected:
  /// Checks the options (symmetric, full signed range, axis as `per_channel` requires).
  AbsMaxObserverBase(ObserverOptions options, bool per_channel, const char* name);
  Tensor threshold_ = zeros({0});
};

/// `abs_max`: s = max|x| of the latest tensor. State {"threshold"}: float32 [1] ([0] before any batch).
class AbsMaxObserver : public AbsMaxObserverBase {
 public:
  explicit AbsMaxObserver(ObserverOptions options);
  void observe(const Tensor& x) override;
  std::string name() const override { return "abs_max"; }
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;
};

/// `channel_wise_abs_max`: s_c = max|x_c| of the latest tensor per slice along options.axis (≥ 0;
/// weights: 0). State {"threshold"}: float32 [C] ([0] before any batch).
class ChannelWiseAbsMaxObserver : public AbsMaxObserverBase {
 public:
  explicit ChannelWiseAbsMaxObserver(ObserverOptions options);
  void observe(const Tensor& x) override;
  std::string name() const override { return "channel_wise_abs_max"; }
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;
};

/// `range_abs_max`: s = the largest per-batch max|x| among the last options.window_size batches
/// (the exact sliding-window maximum; Paddle's kernel rescans its window only when the value that
/// leaves it is within 10⁻⁶ of the maximum, which gives the same result).
/// State {"window"}: float32 [k], the k ≤ window_size latest per-batch maxima, oldest first.
class RangeAbsMaxObserver : public AbsMaxObserverBase {
 public:
  explicit RangeAbsMaxObserver(ObserverOptions options);
  void observe(const Tensor& x) override;
  std::string name() const override { return "range_abs_max"; }
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;

 private:
  void update_threshold();
  std::deque<float> window_;
};

/// `moving_average_abs_max`: per batch, state ← r·state + 1, accum ← r·accum + max|x|,
/// s = accum / state (float32; r = options.moving_rate, 0.9 by default; state and accum start
/// at 0, so the first batch gives s = max|x|: a bias-corrected EMA).
/// State {"state", "accum"}: float32 [1] each.
class MovingAverageAbsMaxObserver : public AbsMaxObserverBase {
 public:
  explicit MovingAverageAbsMaxObserver(ObserverOptions options);
  void observe(const Tensor& x) override;
  std::string name() const override { return "moving_average_abs_max"; }
  io::StateDict state() const override;
  void load_state(const io::StateDict& state) override;

 private:
  float state_ = 0.0f, accum_ = 0.0f;
};

}  // namespace shrink::compression
