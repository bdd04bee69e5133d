#pragma once
/// \file
/// Scheduled pruning (SEMANTICS §2 "Schedules"): AGP (cubic), Linear and LotteryTicket. Each wraps
/// a one-shot pruner (Level, L1Norm, FPGM, ...) and raises its sparsity step by step while the
/// model trains, driven by update_epoch() (epochs) or step() (optimizer steps).
///
/// \code
///   auto level = std::make_shared<compression::LevelPruner>(model, ConfigList::parse(
///       R"([{"op_types": ["default"], "sparsity": 0.8}])"));          // 0.8 is the final s_f
///   compression::AGPPruner agp(level, {.total_iteration = 4, .frequency = 1});
///   agp.compress();                                  // iteration 0: sparsity 0
///   for (std::int64_t epoch = 0; epoch < 6; ++epoch) {
///     agp.update_epoch(epoch);                       // epoch e: iteration min(e, 4)
///     for (...) { loss.backward(); opt.step(); agp.step(); }
///   }
/// \endcode
///
/// The schedule. With n = total_iteration, Δt = frequency and t0 = start, the position t (the
/// epoch given to update_epoch(), or the number of step() calls since compress()) is at iteration
/// `i = clamp(floor((t − t0) / Δt), 0, n)` (0 before t0). Compress() applies iteration 0; each time
/// the iteration grows, every configured sparsity s_f (per layer, or a `total_sparsity` budget) is
/// mapped to the iteration's target and the masks are recomputed:
///   AGP           s_i = s_f · (1 − (1 − i/n)³)   (Zhu & Gupta with s_initial = 0, s_t at t0 + iΔt)
///   Linear        s_i = s_f · i/n
///   LotteryTicket s_i = 1 − (1 − s_f)^(i/n)      (round i keeps (1 − s_f)^(i/n) of the weights)
/// and every schedule reaches s_f exactly at i = n. Units pruned earlier stay pruned (the inner
/// pruner runs with set_keep_pruned(true)): each new target is reached by pruning among the
/// weights still alive, so masks only shrink.
///
/// The inner pruner is taken as a shared_ptr and must not be compressed yet: the schedule
/// compresses it (at iteration 0, so it never prunes at s_f first) and owns its target transform
/// and keep-pruned flag from then on. The schedule alone decides when the masks are recomputed:
/// update_epoch() is not forwarded to the inner pruner (a data-driven one such as
/// TaylorFOWeightPruner ranks, at each schedule point, on the batches collected since compress()
/// or, with `reset_after_update`, since the previous point; its own "first epoch computes the
/// masks" rule does not apply), step() is forwarded after the schedule's.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "compression/pruning/pruner.h"
#include "io/state_dict.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"

namespace shrink::compression {

/// What drives a schedule's position.
enum class ScheduleUnit {
  /// update_epoch(epoch): the position is the epoch given.
  Epoch,
  /// step(): the position is the number of step() calls since compress().
  Step,
};

/// The options every schedule shares (NNI 2.x names where they exist).
struct ScheduleOptions {
  /// n: the number of pruning iterations after iteration 0 (>= 1).
  std::int64_t total_iteration = 10;
  /// Δt: epochs (or steps) between two iterations (>= 1).
  std::int64_t frequency = 1;
  /// t0: the position of iteration 0 (>= 0); nothing is pruned before t0 + Δt.
  std::int64_t start = 0;
  ScheduleUnit unit = ScheduleUnit::Epoch;
};

/// The base of AGPPruner, LinearPruner and LotteryTicketPruner: the Pruner API around a wrapped
/// one-shot pruner. Not copyable; it refers to the inner pruner and its model.
class ScheduledPruner {
 public:
  virtual ~ScheduledPruner();
  ScheduledPruner(const ScheduledPruner&) = delete;
  ScheduledPruner& operator=(const ScheduledPruner&) = delete;

  /// "AGPPruner", ...: the first word of every message.
  const std::string& name() const { return name_; }
  /// The wrapped pruner.
  Pruner& inner() const { return *inner_; }
  nn::Module& model() const { return inner_->model(); }
  const ScheduleOptions& options() const { return options_; }
  bool is_compressed() const { return inner_->is_compressed(); }

  /// Compresses the inner pruner at iteration 0 (sparsity 0 for every schedule) and returns its
  /// masks. StateError when the inner pruner is already compressed.
  io::StateDict compress();
  /// Moves the position to `epoch` in Epoch mode (recomputing the masks when the iteration
  /// grows); in Step mode only checks it. Epochs may repeat or skip but never go back (ValueError).
  void update_epoch(std::int64_t epoch);
  /// Call after every optimizer.step(): in Step mode advances the position by one.
  void step();

  /// The current iteration i (0 ... total_iteration).
  std::int64_t iteration() const { return iteration_; }
  /// The current position t (epoch or step count).
  std::int64_t position() const { return position_; }
  /// The iteration at position `t`.
  std::int64_t iteration_at(std::int64_t t) const;
  /// The sparsity this schedule asks of a layer configured at `final_sparsity` at iteration `i`.
  virtual double sparsity_at(double final_sparsity, std::int64_t i) const = 0;

  /// Forwarded to the inner pruner.
  io::StateDict get_masks() const { return inner_->get_masks(); }
  void load_masks(const io::StateDict& masks) { inner_->load_masks(masks); }
  void load_masks(const std::string& path) { inner_->load_masks(path); }
  void export_model(const std::string& model_path, const std::string& mask_path) const {
    inner_->export_model(model_path, mask_path);
  }
  /// Bakes the masks in (Pruner::unwrap); the schedule is done afterwards.
  void unwrap();

  /// The inner pruner's state plus the schedule's ("schedule:position", "schedule:iteration",
  /// "schedule:last_epoch", int64 scalars) and what a subclass keeps (LotteryTicket: θ₀).
  virtual io::StateDict state_dict() const;
  /// Restores state_dict() into a schedule compressed on the same model and configuration.
  /// ValueError naming the key when a schedule entry is missing or out of range.
  virtual void load_state_dict(const io::StateDict& state);

 protected:
  /// Throws ValueError when `inner` is null, is a MovementPruner or ADMMPruner (they schedule
  /// themselves), or the options make no sense.
  ScheduledPruner(std::string name, std::shared_ptr<Pruner> inner, ScheduleOptions options);

  /// After the inner pruner is compressed (LotteryTicket saves θ₀ here).
  virtual void on_compress() {}
  /// After the masks of a new iteration are computed (LotteryTicket resets the weights here).
  virtual void on_iteration() {}
  /// Throws StateError "<name>.<what>: call compress() first" unless compressed.
  void require_compressed(const std::string& what) const;

 private:
  /// Moves to position `t`; recomputes the masks when the iteration grows.
  void advance_to(std::int64_t t);

  std::string name_;
  std::shared_ptr<Pruner> inner_;
  ScheduleOptions options_;
  std::int64_t position_ = 0;
  std::int64_t iteration_ = 0;
  std::int64_t last_epoch_ = -1;
  bool unwrapped_ = false;
};

/// Automated Gradual Pruning (Zhu & Gupta 2017): s_i = s_f · (1 − (1 − i/n)³): fast pruning early,
/// slower as the network has fewer weights left.
class AGPPruner : public ScheduledPruner {
 public:
  AGPPruner(std::shared_ptr<Pruner> inner, ScheduleOptions options);
  double sparsity_at(double final_sparsity, std::int64_t i) const override;
};

/// Linear schedule: s_i = s_f · i/n.
class LinearPruner : public ScheduledPruner {
 public:
  LinearPruner(std::shared_ptr<Pruner> inner, ScheduleOptions options);
  double sparsity_at(double final_sparsity, std::int64_t i) const override;
};

struct LotteryTicketOptions {
  /// Each iteration is one round: train, prune, rewind.
  ScheduleOptions schedule;
  /// Reset to its state at compress() after each round (momentum buffers, Adam moments and step
  /// counts; hyper-parameters stay). Not owned; may be null.
  optim::Optimizer* optimizer = nullptr;
  /// Set back to its epoch at compress() after each round (which restores its learning rates).
  /// Not owned; may be null.
  optim::LRScheduler* scheduler = nullptr;
  /// Called after each reset, for anything else to rewind (a custom optimizer, a data loader...).
  std::function<void()> on_reset;
};

/// LotteryTicket (Frankle & Carbin 2019, NNI's LotteryTicketPruner): round i of n keeps
/// (1 − s_f)^(i/n) of the weights, pruned by the inner pruner's criterion on the trained weights;
/// then every parameter and buffer of the model is reset to θ₀, its value at compress() (the
/// pruned weights to 0: the raw weight is θ₀·mask), and the optimizer state and LR schedule are
/// rewound. θ₀ is kept in state_dict() ("theta0:<key>"), as is the optimizer's state at
/// compress() ("optimizer0:<key>") and the scheduler's epoch ("scheduler0:last_epoch").
class LotteryTicketPruner : public ScheduledPruner {
 public:
  LotteryTicketPruner(std::shared_ptr<Pruner> inner, LotteryTicketOptions options);
  double sparsity_at(double final_sparsity, std::int64_t i) const override;

  /// The model's state at compress() (without the mask buffers).
  const io::StateDict& initial_state() const { return theta0_; }

  io::StateDict state_dict() const override;
  void load_state_dict(const io::StateDict& state) override;

 protected:
  void on_compress() override;
  void on_iteration() override;

 private:
  LotteryTicketOptions lt_options_;
  io::StateDict theta0_;
  io::StateDict optimizer0_;
  std::int64_t scheduler0_ = 0;
};

}  // namespace shrink::compression
