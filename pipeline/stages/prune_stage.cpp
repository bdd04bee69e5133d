// The prune stage, as examples/prune_fmnist.cpp drives a pruner: the optimizer is built before
// compress() (masks are parametrizations of the same parameters); slim first trains
// `pruning_epochs` with its regulariser, the data-driven pruners collect their statistics during
// `pruning_epochs` of training before their masks are computed; then `epochs` of fine-tuning
// with the pruner's update_epoch() and step() (and ADMM's penalty). Channel pruners are
// dependency-aware unless the stage says otherwise. The pruner stays attached afterwards: later
// stages train with its masks until a speedup removes the pruned channels. When a speedup stage
// follows, the BatchNorm2d after each pruned conv is masked on the same channels
// (speedup::BatchNormMasks, kept in step with the pruner's masks; the stage's notes say so), so
// that the speedup is exact.
#include <algorithm>

#include "autograd/warning.h"
#include "compression/config_list.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/registry.h"
#include "compression/pruning/slim_pruner.h"
#include "compression/pruning/statistics.h"
#include "pipeline/stages/run_state.h"
#include "speedup/channel_groups.h"
#include "speedup/trace.h"

namespace shrink::pipeline::detail {

void LivePruner::compress() { schedule ? (void)schedule->compress() : (void)pruner->compress(); }
void LivePruner::update_epoch(std::int64_t epoch) {
  schedule ? schedule->update_epoch(epoch) : pruner->update_epoch(epoch);
  if (bn_masks) bn_masks->sync();
}
void LivePruner::step() {
  schedule ? schedule->step() : pruner->step();
  if (bn_masks) bn_masks->sync();
}
io::StateDict LivePruner::state_dict() const { return schedule ? schedule->state_dict() : pruner->state_dict(); }
void LivePruner::load_state_dict(const io::StateDict& state) {
  schedule ? schedule->load_state_dict(state) : pruner->load_state_dict(state);
}

LivePruner make_stage_pruner(const RunState& state, const StageSpec& stage, nn::ModulePtr model,
                             optim::Optimizer* optimizer, optim::LRScheduler* scheduler) {
  LivePruner live;
  live.pruner = compression::make_pruner(stage.pruner, model, compression::ConfigList::parse(stage.config_list.dump()),
                                         stage.pruner_options);
  if (stage.dependency_aware && live.pruner->granularity() == compression::MaskGranularity::OutputChannel)
    live.pruner->set_dependency_groups(speedup::dependency_groups(speedup::trace(*model, state.example), *model));
  if (!stage.schedule.empty())
    live.schedule = compression::make_scheduled_pruner(stage.schedule, live.pruner, stage.schedule_options, optimizer,
                                                       scheduler);
  return live;
}

namespace {

/// After compress(): when a speedup stage follows, masks the BatchNorm2d after the pruned convs on
/// the same channels (speedup::BatchNormMasks), so that the speedup computes what the masked
/// model does; the stage's notes say so.
void mask_batchnorms(RunState& state, std::size_t index) {
  const auto& stages = state.spec.stages;
  if (std::none_of(stages.begin() + static_cast<std::ptrdiff_t>(index), stages.end(),
                   [](const StageSpec& s) { return s.type == StageType::Speedup; }))
    return;
  state.pruner->bn_masks.emplace(*state.model, state.example, *state.pruner->pruner);
  // A replay (resume) comes before the record is restored: it holds the note already.
  if (state.pruner->bn_masks->size() == 0 || state.record.stages.size() <= index) return;
  state.stage_record(index).notes.push_back(
      "masked the " + std::to_string(state.pruner->bn_masks->size()) +
      " BatchNorm2d after pruned Conv2d on the same channels, for the exact speedup that follows");
}

void compress(RunState& state, std::size_t index) {
  state.pruner->compress();
  mask_batchnorms(state, index);
}

}  // namespace

void replay_prune_stage(RunState& state, std::size_t index) {
  state.pruner = make_stage_pruner(state, state.stage(index), state.model, nullptr, nullptr);
  state.pruner->stage = index;
  WarningCollector shown_before;  // the original run showed the config_list's warnings
  compress(state, index);
}

void run_prune_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  if (state.pruner) state.pruner.reset();  // never reached: the plan allows one live pruner (see runner.cpp)
  std::vector<optim::ParamGroup> groups{{state.model->named_parameters(), {}}};
  auto optimizer = make_optimizer(stage.training, std::move(groups));
  const std::int64_t total = stage.pruning_epochs + stage.epochs;
  auto scheduler = make_scheduler(stage.training, *optimizer, total);
  state.pruner = make_stage_pruner(state, stage, state.model, optimizer.get(), scheduler.get());
  state.pruner->stage = index;
  compression::Pruner* pruner = state.pruner->pruner.get();
  auto* slim = dynamic_cast<compression::SlimPruner*>(pruner);
  auto* data_pruner = dynamic_cast<compression::DataDrivenPruner*>(pruner);

  // Slim is compressed after its regulariser epochs: a checkpoint at or before their end holds no masks.
  const std::int64_t resumed = state.resume ? state.resume->stage_epochs : 0;
  const bool compressed_at_start = slim == nullptr || resumed > stage.pruning_epochs;
  if (compressed_at_start) {
    WarningCollector shown_by_dry_run;
    compress(state, index);
  }
  const std::int64_t first = state.resume ? restore_run_checkpoint(state, optimizer.get(), scheduler.get()) : 0;

  // Phase 1: epochs before the masks are final.
  if (first < stage.pruning_epochs) {
    StepHooks hooks;
    if (slim) hooks.extra_loss = [slim] { return slim->regularization(); };
    run_epochs(state, index, first, stage.pruning_epochs, *optimizer, scheduler.get(), hooks, "pruning");
  }
  if (first <= stage.pruning_epochs) {
    if (!compressed_at_start) {
      WarningCollector shown_by_dry_run;
      compress(state, index);
    } else if (data_pruner && !state.pruner->schedule) {
      pruner->update_masks();  // from the statistics of the pruning epochs
      if (state.pruner->bn_masks) state.pruner->bn_masks->sync();
    }
  }
  // One-shot: nothing more to collect (fine-tuning and evaluation would add batches).
  if (data_pruner && !state.pruner->schedule) data_pruner->set_collecting(false);
  // Phase 2: fine-tuning with the masks.
  auto* admm = dynamic_cast<compression::ADMMPruner*>(pruner);
  StepHooks hooks{.extra_loss = {}, .after_step = [&] { state.pruner->step(); }};
  if (admm) hooks.extra_loss = [admm] { return admm->penalty(); };
  run_epochs(state, index, std::max(first, stage.pruning_epochs), total, *optimizer, scheduler.get(), hooks,
             "fine-tune", [&](std::int64_t i) { state.pruner->update_epoch(i - stage.pruning_epochs); });
}

}  // namespace shrink::pipeline::detail
