// AGP, Linear and LotteryTicket: a schedule of targets around a one-shot pruner.
#include "compression/pruning/scheduled_pruners.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/movement_pruner.h"
#include "compression/pruning/pruning_checkpoint.h"

namespace shrink::compression {
namespace {

constexpr const char* kPosition = "schedule:position";
constexpr const char* kIteration = "schedule:iteration";
constexpr const char* kLastEpoch = "schedule:last_epoch";

/// True for the keys a schedule adds to its inner pruner's state.
bool schedule_key(const std::string& key) {
  for (const char* prefix : {"schedule:", "theta0:", "optimizer0:", "scheduler0:"})
    if (key.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

ScheduledPruner::ScheduledPruner(std::string name, std::shared_ptr<Pruner> inner, ScheduleOptions options)
    : name_(std::move(name)), inner_(std::move(inner)), options_(options) {
  SHRINK_CHECK(inner_ != nullptr, name_, ": expected a pruner to schedule, got null");
  // These two set their own targets (Movement's step schedule, ADMM's iterations): a schedule would fight them.
  const bool own_schedule = dynamic_cast<MovementPruner*>(inner_.get()) || dynamic_cast<ADMMPruner*>(inner_.get());
  SHRINK_CHECK(!own_schedule, name_, ": expected a one-shot pruner to schedule, got a ", inner_->name(),
               " (Hint: it has its own schedule; use it alone)");
  SHRINK_CHECK(options_.total_iteration >= 1, name_, ": expected total_iteration >= 1, got ", options_.total_iteration);
  SHRINK_CHECK(options_.frequency >= 1, name_, ": expected frequency >= 1 (epochs or steps between iterations), got ",
               options_.frequency);
  SHRINK_CHECK(options_.start >= 0, name_, ": expected start >= 0, got ", options_.start);
}

ScheduledPruner::~ScheduledPruner() = default;

void ScheduledPruner::require_compressed(const std::string& what) const {
  SHRINK_CHECK_T(StateError, !unwrapped_, name_, ".", what, ": the pruner was unwrapped; build a new pruner");
  SHRINK_CHECK_T(StateError, inner_->is_compressed(), name_, ".", what, ": call compress() first");
}

std::int64_t ScheduledPruner::iteration_at(std::int64_t t) const {
  if (t < options_.start) return 0;
  return std::min(options_.total_iteration, (t - options_.start) / options_.frequency);
}

io::StateDict ScheduledPruner::compress() {
  SHRINK_CHECK_T(StateError, !unwrapped_, name_, ".compress: the pruner was unwrapped; build a new pruner");
  SHRINK_CHECK_T(StateError, !inner_->is_compressed(), name_, ".compress: expected a ", inner_->name(),
                 " that is not compressed yet, got a compressed one (Hint: the schedule compresses it; "
                 "call compress() on the schedule only)");
  position_ = 0;
  iteration_ = iteration_at(0);
  last_epoch_ = -1;
  inner_->set_keep_pruned(true);
  inner_->set_target_transform([this](double configured) { return sparsity_at(configured, iteration_); });
  io::StateDict masks = inner_->compress();
  on_compress();
  return masks;
}

void ScheduledPruner::advance_to(std::int64_t t) {
  position_ = t;
  const std::int64_t i = iteration_at(t);
  if (i <= iteration_) return;
  iteration_ = i;
  inner_->update_masks();
  on_iteration();
}

void ScheduledPruner::update_epoch(std::int64_t epoch) {
  require_compressed("update_epoch");
  SHRINK_CHECK(epoch >= 0, name_, ".update_epoch: expected an epoch >= 0, got ", epoch);
  SHRINK_CHECK(epoch >= last_epoch_, name_, ".update_epoch: expected an epoch >= ", last_epoch_,
               " (the last one given), got ", epoch,
               " (Hint: epochs never go back; to restart a run, build a new "
               "pruner or load a checkpoint)");
  last_epoch_ = epoch;
  if (options_.unit == ScheduleUnit::Epoch) advance_to(epoch);
}

void ScheduledPruner::unwrap() {
  require_compressed("unwrap");
  inner_->unwrap();
  unwrapped_ = true;
}

void ScheduledPruner::step() {
  require_compressed("step");
  if (options_.unit == ScheduleUnit::Step) advance_to(position_ + 1);
  inner_->step();
}

io::StateDict ScheduledPruner::state_dict() const {
  require_compressed("state_dict");
  io::StateDict out = inner_->state_dict();
  out.insert(kPosition, scalar_tensor(static_cast<double>(position_), DType::Int64));
  out.insert(kIteration, scalar_tensor(static_cast<double>(iteration_), DType::Int64));
  out.insert(kLastEpoch, scalar_tensor(static_cast<double>(last_epoch_), DType::Int64));
  return out;
}

void ScheduledPruner::load_state_dict(const io::StateDict& state) {
  require_compressed("load_state_dict");
  const std::string where = name_ + ".load_state_dict";
  const std::int64_t position = read_count(state, kPosition, 0, where);
  const std::int64_t iteration = read_count(state, kIteration, 0, where);
  const std::int64_t last_epoch = read_count(state, kLastEpoch, -1, where);
  SHRINK_CHECK(iteration == iteration_at(position), where, ": expected '", kIteration, "' = ", iteration_at(position),
               " at position ", position, " with this schedule's options, got ", iteration,
               " (Hint: resume with the options of the saved run)");
  io::StateDict inner_state;
  for (const auto& [key, value] : state)
    if (!schedule_key(key)) inner_state.insert(key, value);
  inner_->load_state_dict(inner_state);
  position_ = position;
  iteration_ = iteration;
  last_epoch_ = last_epoch;
}

AGPPruner::AGPPruner(std::shared_ptr<Pruner> inner, ScheduleOptions options)
    : ScheduledPruner("AGPPruner", std::move(inner), options) {}

double AGPPruner::sparsity_at(double final_sparsity, std::int64_t i) const {
  if (i >= options().total_iteration) return final_sparsity;
  const double left = 1.0 - static_cast<double>(i) / static_cast<double>(options().total_iteration);
  return final_sparsity * (1.0 - left * left * left);
}

LinearPruner::LinearPruner(std::shared_ptr<Pruner> inner, ScheduleOptions options)
    : ScheduledPruner("LinearPruner", std::move(inner), options) {}

double LinearPruner::sparsity_at(double final_sparsity, std::int64_t i) const {
  if (i >= options().total_iteration) return final_sparsity;
  return final_sparsity * static_cast<double>(i) / static_cast<double>(options().total_iteration);
}

LotteryTicketPruner::LotteryTicketPruner(std::shared_ptr<Pruner> inner, LotteryTicketOptions options)
    : ScheduledPruner("LotteryTicketPruner", std::move(inner), options.schedule), lt_options_(std::move(options)) {}

double LotteryTicketPruner::sparsity_at(double final_sparsity, std::int64_t i) const {
  if (i >= options().total_iteration) return final_sparsity;  // exact, where 1 − (1 − s) may round
  return 1.0 - std::pow(1.0 - final_sparsity, static_cast<double>(i) / static_cast<double>(options().total_iteration));
}

void LotteryTicketPruner::on_compress() {
  theta0_ = io::StateDict();
  const io::StateDict masks = get_masks();
  for (const auto& [key, value] : model().state_dict()) {
    const bool mask_buffer = key.size() > 5 && key.ends_with("_mask") && masks.contains(key.substr(0, key.size() - 5));
    if (!mask_buffer) theta0_.insert(key, value.clone());
  }
  optimizer0_ = lt_options_.optimizer ? lt_options_.optimizer->state_dict().tensors : io::StateDict();
  scheduler0_ = lt_options_.scheduler ? lt_options_.scheduler->last_epoch() : 0;
}

void LotteryTicketPruner::on_iteration() {
  model().load_state_dict(theta0_, /*strict=*/false);
  {
    // The raw weight becomes θ₀·mask: the pruned weights are gone for good (keep-pruned).
    NoGradGuard no_grad;
    const io::StateDict params = model().state_dict();
    for (const auto& [key, mask] : get_masks()) {
      Tensor raw = params.at(key);
      raw.mul_(mask);
    }
  }
  if (auto* opt = lt_options_.optimizer) opt->load_state_dict({optimizer0_, opt->state_dict().groups});
  if (auto* sched = lt_options_.scheduler) sched->set_last_epoch(scheduler0_);
  if (lt_options_.on_reset) lt_options_.on_reset();
}

io::StateDict LotteryTicketPruner::state_dict() const {
  io::StateDict out = ScheduledPruner::state_dict();
  for (const auto& [key, value] : theta0_) out.insert("theta0:" + key, value);
  for (const auto& [key, value] : optimizer0_) out.insert("optimizer0:" + key, value);
  out.insert("scheduler0:last_epoch", scalar_tensor(static_cast<double>(scheduler0_), DType::Int64));
  return out;
}

void LotteryTicketPruner::load_state_dict(const io::StateDict& state) {
  const std::string where = name() + ".load_state_dict";
  const io::StateDict theta0 = with_prefix(state, "theta0:");
  check_entries(theta0_, theta0, "θ₀ ('theta0:' entries)", where);
  const std::int64_t scheduler0 = read_count(state, "scheduler0:last_epoch", 0, where);
  ScheduledPruner::load_state_dict(state);
  theta0_ = io::StateDict();
  for (const auto& [key, value] : theta0) theta0_.insert(key, value.clone());
  optimizer0_ = io::StateDict();
  for (const auto& [key, value] : with_prefix(state, "optimizer0:")) optimizer0_.insert(key, value.clone());
  scheduler0_ = scheduler0;
}

}  // namespace shrink::compression
