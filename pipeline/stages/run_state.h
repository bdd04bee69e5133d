#pragma once
/// \file
/// The state of one run_pipeline() call that the stages share: the data, the model, the
/// compressors that stay attached from their stage on, the record and the checkpointing.
/// Internal to pipeline/ (a `detail` namespace).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/tensor.h"
#include "compression/distillation/distiller.h"
#include "compression/pruning/pruner.h"
#include "compression/pruning/scheduled_pruners.h"
#include "compression/quantization/quantizer.h"
#include "io/checkpoint.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "io/data/transforms.h"
#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_record.h"
#include "pipeline/runner.h"
#include "speedup/batchnorm_masks.h"

namespace shrink::pipeline::detail {

/// Where a resumed run continues: read from the checkpoint before the stages run.
struct ResumePoint {
  io::Checkpoint checkpoint;
  std::size_t stage = 0;            ///< the stage the checkpoint was taken in
  std::int64_t stage_epochs = 0;    ///< epochs of that stage completed
  bool stage_done = false;          ///< the stage finished
};

/// Thrown (and caught by run_pipeline) when RunOptions::stop_after_epochs is reached.
struct StopRequested {};

/// A pruner alone or inside a schedule, behind one interface.
struct LivePruner {
  std::size_t stage = 0;  ///< the prune stage that made it
  std::shared_ptr<compression::Pruner> pruner;
  std::unique_ptr<compression::ScheduledPruner> schedule;
  /// When a speedup stage follows: the BatchNorm2d after the pruned convs, masked alike.
  std::optional<speedup::BatchNormMasks> bn_masks;
  void compress();
  void update_epoch(std::int64_t epoch);
  void step();
  io::StateDict state_dict() const;
  void load_state_dict(const io::StateDict& state);
};

struct RunState {
  RunState(const PipelineSpec& spec_, const RunOptions& options_, std::ostream& out_, Tensor example_)
      : spec(spec_), options(options_), out(out_), dir(options_.output_dir), example(std::move(example_)) {}

  const PipelineSpec& spec;
  const RunOptions& options;
  std::ostream& out;
  std::filesystem::path dir;
  Tensor example;  ///< zeros [1, 1, 28, 28]

  std::shared_ptr<const data::Dataset> train_set, test_set;
  std::unique_ptr<data::DataLoader> train_loader, test_loader;
  std::shared_ptr<const data::Transform> normalize;  ///< the test loader's transform

  nn::ModulePtr model;
  /// The model file the current architecture was loaded from after a speedup ("" before any).
  std::string architecture;
  std::optional<LivePruner> pruner;
  std::unique_ptr<compression::Quantizer> quantizer;
  std::size_t quantizer_stage = 0;
  /// The teachers of the distill stages (by stage index), built when first needed.
  std::map<std::size_t, nn::ModulePtr> teachers;

  RunRecord record;
  std::int64_t epochs_done = 0;  ///< completed epochs of the timeline in this process and before
  std::optional<ResumePoint> resume;

  std::string path(const std::string& file) const { return (dir / file).string(); }
  const StageSpec& stage(std::size_t index) const { return spec.stages[index]; }
  StageRecord& stage_record(std::size_t index) { return record.stages[index]; }
};

/// Runs `check`, prefixing the message of a ValueError or ShapeError it throws with `where` (the
/// pipeline file and the stage's JSON path, e.g. "demo.json: stages[1]"): "<where>.<message>"
/// when the message starts with `key` (a JSON key of the stage, e.g. "config_list"),
/// "<where>: <message>" otherwise.
template <typename F>
void at_stage(const std::string& where, const std::string& key, F&& check) {
  const auto prefixed = [&](const std::string& what) {
    return where + (what.starts_with(key) ? "." : ": ") + what;
  };
  try {
    check();
  } catch (const ShapeError& e) {
    throw ShapeError(prefixed(e.what()));
  } catch (const ValueError& e) {
    throw ValueError(prefixed(e.what()));
  }
}

// ---- training (training.cpp) -------------------------------------------------------------------

/// Additions to a training step (examples::StepHooks).
struct StepHooks {
  std::function<Tensor()> extra_loss;
  std::function<void()> after_step;
};

/// The optimizer of `stage`'s recipe on `groups` (sgd, adam or rmsprop).
std::unique_ptr<optim::Optimizer> make_optimizer(const TrainingSpec& training, std::vector<optim::ParamGroup> groups);
/// Cosine to 0 over `epochs`, or null for "constant".
std::unique_ptr<optim::LRScheduler> make_scheduler(const TrainingSpec& training, optim::Optimizer& optimizer,
                                                   std::int64_t epochs);

/// One epoch of global epoch `epoch` (shuffle seed training.seed + epoch); returns its record.
EpochRecord train_one_epoch(RunState& state, std::size_t stage, std::int64_t epoch, optim::Optimizer& optimizer,
                            const StepHooks& hooks, const std::string& label);
/// Top-1 of the model on the test set (or on `loader`'s images).
double evaluate(RunState& state, const std::string& label);
double evaluate(RunState& state, data::DataLoader& loader, const std::string& label);
/// The first `n` samples of `set` (all when n <= 0 or n >= its size).
std::shared_ptr<const data::Dataset> first_samples(std::shared_ptr<const data::Dataset> set, std::int64_t n);

/// Runs epochs [first, count) of `stage` (stage-relative; global epoch = start + i), each
/// followed by `after_epoch` (may be empty), a test evaluation, the record and a checkpoint.
/// `before_epoch` (may be empty) runs first in every epoch.
void run_epochs(RunState& state, std::size_t stage, std::int64_t first, std::int64_t count,
                optim::Optimizer& optimizer, optim::LRScheduler* scheduler, const StepHooks& hooks,
                const std::string& label, const std::function<void(std::int64_t)>& before_epoch = {});

// ---- checkpoints (checkpoint.cpp) --------------------------------------------------------------

/// The checkpoint file in the output directory.
inline constexpr const char* kCheckpointFile = "checkpoint.h5";

/// Writes the checkpoint (model, compressors, rng, record; `optimizer`/`scheduler` when mid-stage)
/// and run.json, atomically.
void save_run_checkpoint(RunState& state, std::size_t stage, std::int64_t stage_epochs, bool stage_done,
                         const optim::Optimizer* optimizer, const optim::LRScheduler* scheduler);
/// Reads the checkpoint of output_dir: StateError when there is none or it belongs to another
/// pipeline.
ResumePoint read_run_checkpoint(const PipelineSpec& spec, const std::string& output_dir);
/// Restores the model, the live compressors and the rng (and `optimizer`, `scheduler` when
/// given) from state.resume; returns the stage epochs completed.
std::int64_t restore_run_checkpoint(RunState& state, optim::Optimizer* optimizer, optim::LRScheduler* scheduler);

// ---- measuring (measure.cpp) -------------------------------------------------------------------

/// Fills accuracy (unless `evaluate_model` is false), params, MACs, layers and latency.
void measure(RunState& state, StageRecord& record, bool evaluate_model = true);
/// The size of `file` in the output directory (0 when absent).
std::int64_t file_bytes(const RunState& state, const std::string& file);

// ---- the stages (<type>_stage.cpp) -------------------------------------------------------------

/// Runs stage `index` from where state.resume says (or from its beginning).
void run_train_stage(RunState& state, std::size_t index);
void run_prune_stage(RunState& state, std::size_t index);
void run_quantize_stage(RunState& state, std::size_t index);
void run_speedup_stage(RunState& state, std::size_t index);
void run_export_stage(RunState& state, std::size_t index);
void run_sensitivity_stage(RunState& state, std::size_t index);
/// The layers a sensitivity stage analyses on state.model: every Conv2d and Linear but a last
/// Linear; ValueError prefixed with `where` when there are none.
std::vector<std::string> sensitivity_layers(const RunState& state, const std::string& where);

/// Rebuilds what a finished stage left attached (a pruner, a quantizer, a speedup's model)
/// without training, for a resumed run; the checkpoint then restores their state.
void replay_prune_stage(RunState& state, std::size_t index);
void replay_quantize_stage(RunState& state, std::size_t index);
void replay_speedup_stage(RunState& state, std::size_t index);

// ---- the distill overlay (distill_stage.cpp) ------------------------------------------------------

/// Builds each distill stage's Distiller once on a copy of the model (its teacher from `teacher`,
/// or the model itself standing in for a teacher_stage's), so that a missing teacher file or a
/// config that does not fit fails before any epoch; keeps the teachers built.
void check_distill_stages(RunState& state);
/// When a distill stage names stage `index` as its teacher_stage: writes the model as it is now to
/// `<stage>.teacher.h5` and lists it in the stage's record.
void save_teacher_snapshot(RunState& state, std::size_t index);
/// The record of a distill stage at its place in the list (the overlay itself acts in training).
void run_distill_stage(RunState& state, std::size_t index);
/// The Distiller of the distill stage whose epochs hold global epoch `epoch`, on state.model, or
/// null when none does. It hooks the model: keep it for that epoch's training only.
std::unique_ptr<compression::Distiller> epoch_distiller(RunState& state, std::int64_t epoch);
/// The training loss of a batch under `distiller`: its loss, plus the cross-entropy when its
/// config has no soft_label term (which holds the hard-label share itself).
Tensor distill_loss(compression::Distiller& distiller, const data::Batch& batch, const Tensor& logits);

/// The pruner / quantizer of a stage on `model` (not compressed), as the stage builds it.
LivePruner make_stage_pruner(const RunState& state, const StageSpec& stage, nn::ModulePtr model,
                             optim::Optimizer* optimizer, optim::LRScheduler* scheduler);
std::unique_ptr<compression::Quantizer> make_stage_quantizer(const RunState& state, const StageSpec& stage,
                                                             nn::ModulePtr model);

}  // namespace shrink::pipeline::detail
