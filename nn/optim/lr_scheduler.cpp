#include "nn/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace shrink::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.num_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

std::vector<double> LRScheduler::get_lr() const {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(lr_at(base, epoch_));
  return lrs;
}

void LRScheduler::apply() {
  const auto lrs = get_lr();
  for (std::size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
}

void LRScheduler::step() {
  ++epoch_;
  apply();
}

void LRScheduler::set_last_epoch(std::int64_t epoch) {
  SHRINK_CHECK(epoch >= 0, "LRScheduler::set_last_epoch: expected epoch >= 0, got ", epoch);
  epoch_ = epoch;
  apply();
}

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  SHRINK_CHECK(step_size > 0, "StepLR: expected step_size > 0, got ", step_size);
}
double StepLR::lr_at(double base_lr, std::int64_t epoch) const {
  return base_lr * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  SHRINK_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
               "MultiStepLR: expected milestones in increasing order");
}
double MultiStepLR::lr_at(double base_lr, std::int64_t epoch) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lr * std::pow(gamma_, static_cast<double>(passed));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  SHRINK_CHECK(t_max > 0, "CosineAnnealingLR: expected T_max > 0, got ", t_max);
}
double CosineAnnealingLR::lr_at(double base_lr, std::int64_t epoch) const {
  return eta_min_ + (base_lr - eta_min_) *
                        (1 + std::cos(std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_))) / 2;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, std::int64_t warmup_epochs, double start_factor,
                           std::shared_ptr<LRScheduler> after)
    : LRScheduler(optimizer), warmup_epochs_(warmup_epochs), start_factor_(start_factor), after_(std::move(after)) {
  SHRINK_CHECK(warmup_epochs > 0, "LinearWarmup: expected warmup_epochs > 0, got ", warmup_epochs);
  SHRINK_CHECK(start_factor > 0 && start_factor <= 1, "LinearWarmup: expected start_factor in (0, 1], got ",
               start_factor);
  apply();  // the first epoch already runs at the warm-up rate
}
double LinearWarmup::lr_at(double base_lr, std::int64_t epoch) const {
  if (epoch < warmup_epochs_)
    return base_lr * (start_factor_ + (1.0 - start_factor_) * static_cast<double>(epoch) / warmup_epochs_);
  return after_ ? after_->lr_at(base_lr, epoch - warmup_epochs_) : base_lr;
}

}  // namespace shrink::optim
