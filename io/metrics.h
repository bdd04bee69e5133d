#pragma once
/// \file
/// Training-loop metrics: top-k accuracy from logits, a running mean, and a progress display.
///
/// \code
///   io::Progress progress(loader.size(), {.description = "epoch 3"});
///   io::RunningMean train_acc;
///   for (const data::Batch& b : loader) {
///     Tensor logits = model(b.data);
///     ...
///     train_acc.update(io::accuracy(logits, b.targets), b.targets.size(0));
///     progress.step(b.targets.size(0), loss.item());
///   }
///   progress.finish({{"acc", train_acc.mean()}});
/// \endcode

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::io {

/// Rows of `logits` [N, C] (float32) whose target (int64 [N], in [0, C)) is among the k largest
/// logits. Ties rank the lower class index first (PyTorch's argmax picks the first maximum) and
/// NaN ranks above every number (as in torch.topk).
std::int64_t correct_topk(const Tensor& logits, const Tensor& targets, std::int64_t k = 1);
/// correct_topk / N (0 for N = 0).
double accuracy(const Tensor& logits, const Tensor& targets, std::int64_t k = 1);
/// The accuracy for each k in `ks`, in one pass over the logits.
std::vector<double> topk_accuracy(const Tensor& logits, const Tensor& targets, const std::vector<std::int64_t>& ks);

/// A weighted running mean (e.g. of per-batch losses weighted by batch size).
class RunningMean {
 public:
  /// Adds `value` as the mean of `weight` samples (ValueError when weight < 0).
  void update(double value, double weight = 1.0);
  /// The mean so far (NaN before the first update).
  double mean() const;
  /// The total weight so far.
  double count() const { return weight_; }
  void reset() { sum_ = weight_ = 0.0; }

 private:
  double sum_ = 0.0;
  double weight_ = 0.0;
};

struct ProgressOptions {
  /// Printed first, e.g. "epoch 3/15".
  std::string description;
  /// Where to print; null means std::cout.
  std::ostream* out = nullptr;
  /// A redrawn bar (true) or one plain line at finish() (false). Default: whether `out` is
  /// std::cout and stdout is a terminal.
  std::optional<bool> interactive;
  /// Characters of the bar.
  int bar_width = 25;
  /// Seconds between redraws of the bar (the last step always redraws).
  double redraw_interval = 0.1;
  /// Time source in seconds (tests inject one); default: std::chrono::steady_clock.
  std::function<double()> clock;
};

/// Progress of a loop of `total` steps: on a terminal a bar with percentage, elapsed time, ETA,
/// images/s and the mean loss, redrawn in place; otherwise one plain line per loop at finish().
class Progress {
 public:
  explicit Progress(std::int64_t total, ProgressOptions options = {});
  /// Prints the final line if finish() was not called.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// One finished step that processed `samples` images with loss `loss` (NaN: none).
  void step(std::int64_t samples, double loss = std::numeric_limits<double>::quiet_NaN());
  /// Prints the final state, followed by `extra` values (e.g. {"acc", 0.91}), and a newline.
  /// Later calls do nothing.
  void finish(const std::vector<std::pair<std::string, double>>& extra = {});

  std::int64_t steps() const { return done_; }
  std::int64_t samples() const { return samples_; }
  /// Mean loss over the steps so far, weighted by their samples (NaN without losses).
  double mean_loss() const { return loss_.mean(); }
  /// The line as it would be printed now (without "\r" / newline).
  std::string line(const std::vector<std::pair<std::string, double>>& extra = {}) const;

 private:
  double now() const;
  void draw(const std::vector<std::pair<std::string, double>>& extra);

  std::int64_t total_;
  ProgressOptions options_;
  std::ostream* out_;
  bool interactive_;
  double start_;
  double last_draw_ = -1e300;
  std::size_t last_width_ = 0;
  std::int64_t done_ = 0;
  std::int64_t samples_ = 0;
  RunningMean loss_;
  bool finished_ = false;
};

/// "mm:ss", or "h:mm:ss" from one hour on.
std::string format_duration(double seconds);

}  // namespace shrink::io
