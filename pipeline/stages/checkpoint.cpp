// The run's checkpoint: io::Checkpoint with the model, the live compressors' state under
// "pruner." and "quantizer.", the rng, the optimizer of a stage in progress, and in `extra` the
// pipeline (to refuse another one's checkpoint), the position and the record so far.
#include <filesystem>

#include "autograd/error.h"
#include "nn/checkpoint.h"
#include "pipeline/stages/run_state.h"

namespace shrink::pipeline::detail {
namespace {

const char* kPruner = "pruner.";
const char* kQuantizer = "quantizer.";

/// The pipeline as the checkpoint stores it: its JSON without the file name (a renamed file is
/// the same pipeline).
nlohmann::json identity(const PipelineSpec& spec) {
  nlohmann::json j = spec.to_json();
  if (j.is_object()) j.erase("source");
  return j;
}

}  // namespace

void save_run_checkpoint(RunState& state, std::size_t stage, std::int64_t stage_epochs, bool stage_done,
                         const optim::Optimizer* optimizer, const optim::LRScheduler* scheduler) {
  io::Checkpoint c = nn::make_checkpoint(*state.model, stage_done ? nullptr : optimizer,
                                         stage_done ? nullptr : scheduler, state.epochs_done);
  nlohmann::json compressor = nlohmann::json::object();
  if (state.pruner) {
    compressor["pruner_stage"] = state.pruner->stage;
    for (const auto& [key, value] : state.pruner->state_dict()) c.compressor_tensors.insert(kPruner + key, value);
  }
  if (state.quantizer) {
    compressor["quantizer_stage"] = state.quantizer_stage;
    for (const auto& [key, value] : state.quantizer->state_dict()) c.compressor_tensors.insert(kQuantizer + key, value);
  }
  c.compressor = compressor;
  c.extra = {{"pipeline", identity(state.spec)},
             {"source", state.spec.source},
             {"stage", stage},
             {"stage_epochs", stage_epochs},
             {"stage_done", stage_done},
             {"architecture", state.architecture},
             {"record", state.record.to_json()}};
  io::save_checkpoint(c, state.path(kCheckpointFile));
  state.record.save(state.path("run.json"));
}

ResumePoint read_run_checkpoint(const PipelineSpec& spec, const std::string& output_dir) {
  const std::string path = (std::filesystem::path(output_dir) / kCheckpointFile).string();
  SHRINK_CHECK_STATE(std::filesystem::exists(path), "run_pipeline: resume: expected a checkpoint '", path,
                     "' from an earlier run, got none (hint: run without resume to start)");
  ResumePoint p{.checkpoint = io::load_checkpoint(path)};
  const nlohmann::json& extra = p.checkpoint.extra;
  SHRINK_CHECK_STATE(extra.is_object() && extra.contains("pipeline") && extra.contains("stage"),
                     "run_pipeline: resume: expected '", path, "' to be a pipeline run's checkpoint, got one without "
                     "the pipeline (written by another program?)");
  if (extra.at("pipeline") != identity(spec)) {
    const std::string other = extra.value("source", std::string("?"));
    throw StateError("run_pipeline: resume: expected a checkpoint of pipeline '" + spec.source + "', got '" + path +
                     "' written by pipeline '" + other +
                     "' (different stages or settings; hint: use another output directory, or resume with the "
                     "pipeline that wrote it)");
  }
  p.stage = extra.at("stage").get<std::size_t>();
  p.stage_epochs = extra.at("stage_epochs").get<std::int64_t>();
  p.stage_done = extra.at("stage_done").get<bool>();
  SHRINK_CHECK_STATE(p.stage < spec.stages.size(), "run_pipeline: resume: '", path, "': expected a stage index below ",
                     spec.stages.size(), ", got ", p.stage);
  return p;
}

std::int64_t restore_run_checkpoint(RunState& state, optim::Optimizer* optimizer, optim::LRScheduler* scheduler) {
  SHRINK_ASSERT(state.resume.has_value(), "restore_run_checkpoint without a resume point");
  const io::Checkpoint& c = state.resume->checkpoint;
  const std::string where = "run_pipeline: resume: '" + state.path(kCheckpointFile) + "'";
  state.epochs_done = nn::restore_checkpoint(c, *state.model, optimizer, scheduler, &default_generator(), where);
  io::StateDict pruner_state, quantizer_state;
  for (const auto& [key, value] : c.compressor_tensors) {
    if (key.starts_with(kPruner)) pruner_state.insert(key.substr(std::string(kPruner).size()), value);
    if (key.starts_with(kQuantizer)) quantizer_state.insert(key.substr(std::string(kQuantizer).size()), value);
  }
  if (state.pruner) state.pruner->load_state_dict(pruner_state);
  if (state.quantizer) state.quantizer->load_state_dict(quantizer_state);
  state.record = RunRecord::from_json(c.extra.at("record"));
  const std::int64_t stage_epochs = state.resume->stage_epochs;
  state.resume.reset();  // restored once
  return stage_epochs;
}

}  // namespace shrink::pipeline::detail
