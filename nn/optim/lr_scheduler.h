#pragma once
/// \file
/// Learning-rate schedulers (PyTorch's closed forms): StepLR, MultiStepLR, CosineAnnealingLR and
/// a linear warm-up wrapper. Call `step()` once per epoch after the optimizer's epoch.

#include <cstdint>
#include <memory>
#include <vector>

#include "nn/optim/optimizer.h"

namespace shrink::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  /// Advances one epoch and writes the new learning rates into the optimizer.
  void step();
  /// Epochs stepped so far (PyTorch's last_epoch).
  std::int64_t last_epoch() const { return epoch_; }
  /// The learning rate of each group for the current epoch.
  std::vector<double> get_lr() const;
  /// Sets the epoch counter (for resuming from a checkpoint) and applies its learning rates.
  void set_last_epoch(std::int64_t epoch);
  /// The closed form: the learning rate of a group whose initial rate is `base_lr`, at `epoch`.
  virtual double lr_at(double base_lr, std::int64_t epoch) const = 0;

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  void apply();

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t epoch_ = 0;
};

/// lr = base · γ^⌊epoch/step_size⌋.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1);

 public:
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// lr = base · γ^(number of milestones ≤ epoch).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1);

 public:
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::vector<std::int64_t> milestones_;
  double gamma_;
};

/// lr = η_min + (base − η_min)·(1 + cos(π·epoch/T_max))/2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min = 0);

 public:
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up from start_factor·base to base over `warmup_epochs`, then `after` (optional)
/// continues with its epoch counted from the end of the warm-up.
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(Optimizer& optimizer, std::int64_t warmup_epochs, double start_factor = 1.0 / 3.0,
               std::shared_ptr<LRScheduler> after = nullptr);

 public:
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::int64_t warmup_epochs_;
  double start_factor_;
  std::shared_ptr<LRScheduler> after_;
};

}  // namespace shrink::optim
