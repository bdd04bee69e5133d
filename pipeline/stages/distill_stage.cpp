// The distill overlay, as examples/distill_fmnist.cpp drives a Distiller: during the epochs
// [start_epoch, end_epoch) of the timeline, whatever stage trains uses the Distiller's loss
// instead of the cross-entropy (a config without a soft_label term adds its feature terms to the
// cross-entropy). The teacher is built from its source whenever a process first needs it, so that
// a straight run and a resumed one use the same one: `teacher` (zoo + weights, or a model file),
// or `teacher_stage`, whose model is written as `<stage>.teacher.h5` (a model file: the weights as
// the model computes with them, masks and weight quantization applied; the forward hooks of a
// quantizer are not part of it) when that stage ends, and read back from there.
#include <algorithm>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/distillation/distiller.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "pipeline/stages/run_state.h"
#include "speedup/batchnorm_masks.h"
#include "speedup/graph_module.h"
#include "speedup/model_file.h"

namespace shrink::pipeline::detail {
namespace {

/// Leaves the default generator's stream where it was (building or tracing a model must not
/// shift the shuffles and dropout of the run).
class KeepRng {
 public:
  KeepRng() : saved_(default_generator().state()) {}
  ~KeepRng() { default_generator().set_state(saved_); }
  KeepRng(const KeepRng&) = delete;
  KeepRng& operator=(const KeepRng&) = delete;

 private:
  std::string saved_;
};

std::string snapshot_file(const std::string& stage) { return stage + ".teacher.h5"; }

bool has_soft_label(const compression::DistillConfig& config) {
  return std::any_of(config.losses.begin(), config.losses.end(),
                     [](const auto& l) { return l.kind == compression::DistillLoss::Kind::SoftLabel; });
}

/// The teacher of distill stage `index` from its source (for teacher_stage: the snapshot file,
/// which must have been written by then).
nn::ModulePtr build_teacher(const RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  KeepRng keep;
  if (!stage.teacher_stage.empty()) return io::load_model(state.path(snapshot_file(stage.teacher_stage)));
  if (!stage.teacher.file.empty()) return io::load_model(stage.teacher.file);
  manual_seed(state.spec.training.seed);
  nn::ModulePtr teacher = models::create(stage.teacher.zoo);
  if (!stage.teacher.weights.empty()) nn::load_weights(*teacher, stage.teacher.weights);
  return teacher;
}

}  // namespace

void check_distill_stages(RunState& state) {
  for (std::size_t i = 0; i < state.spec.stages.size(); ++i) {
    const StageSpec& stage = state.stage(i);
    if (stage.type != StageType::Distill) continue;
    // A teacher_stage's snapshot does not exist yet: the model as loaded stands in for it.
    nn::ModulePtr teacher = stage.teacher_stage.empty() ? build_teacher(state, i) : state.model->clone();
    if (stage.teacher_stage.empty()) state.teachers[i] = teacher;
    KeepRng keep;
    at_stage(state.spec.source + ": stages[" + std::to_string(i) + "].distill_config", "distill_config", [&] {
      compression::Distiller(state.model->clone(), teacher, compression::DistillConfig::parse(stage.distill_config))
          .check(zeros({2, 1, 28, 28}));
    });
  }
}

void save_teacher_snapshot(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  const bool wanted = std::any_of(state.spec.stages.begin(), state.spec.stages.end(), [&](const StageSpec& s) {
    return s.type == StageType::Distill && s.teacher_stage == stage.name;
  });
  if (!wanted) return;
  KeepRng keep;
  nn::ModulePtr copy = state.model->clone();
  copy->eval();
  speedup::bake_channel_masks(*copy);
  copy->apply([](const std::string&, nn::Module& m) {
    for (const auto& [name, value] : m.named_parameters(false))
      if (m.is_parametrized(name)) m.remove_parametrizations(name, /*leave_parametrized=*/true);
  });
  const std::string file = snapshot_file(stage.name);
  if (dynamic_cast<const speedup::GraphModule*>(copy.get()))
    io::save_model(*copy, state.path(file));
  else
    io::save_model(*copy, state.example, state.path(file));
  StageRecord& record = state.stage_record(index);
  record.files.push_back(file);
  record.notes.push_back("the model after this stage, the teacher of a distill stage, is " + file);
}

void run_distill_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  const std::string teacher = !stage.teacher_stage.empty() ? "the model after stage " + stage.teacher_stage
                              : !stage.teacher.file.empty() ? stage.teacher.file
                                                             : stage.teacher.zoo + (stage.teacher.weights.empty()
                                                                                        ? " (initial weights)"
                                                                                        : " with " + stage.teacher.weights);
  state.stage_record(index).notes.push_back("epochs " + std::to_string(stage.start_epoch) + " to " +
                                            std::to_string(stage.end_epoch - 1) + " train with the loss of " +
                                            stage.distill_config.dump() + " from the teacher " + teacher);
}

std::unique_ptr<compression::Distiller> epoch_distiller(RunState& state, std::int64_t epoch) {
  for (std::size_t i = 0; i < state.spec.stages.size(); ++i) {
    const StageSpec& stage = state.stage(i);
    if (stage.type != StageType::Distill || epoch < stage.start_epoch || epoch >= stage.end_epoch) continue;
    nn::ModulePtr& teacher = state.teachers[i];
    if (!teacher) teacher = build_teacher(state, i);
    return std::make_unique<compression::Distiller>(state.model, teacher,
                                                    compression::DistillConfig::parse(stage.distill_config));
  }
  return nullptr;
}

Tensor distill_loss(compression::Distiller& distiller, const data::Batch& batch, const Tensor& logits) {
  const Tensor loss = distiller.loss(batch.data, logits, batch.targets);
  return has_soft_label(distiller.config()) ? loss : cross_entropy(logits, batch.targets) + loss;
}

}  // namespace shrink::pipeline::detail
