// The speedup stage, as examples/getting_started.cpp does it: take the live pruner's masks,
// with those of the BatchNorms masked alike (the prune stage's speedup::BatchNormMasks),
// unwrap it and shrink the model (speedup::ModelSpeedup), then save the shrunk model as
// `<stage>.model.h5` (io::save_model) and continue with the GraphModule loaded back from that
// file — the same model a resumed run loads, so that both train the same module.
#include "autograd/error.h"
#include "pipeline/stages/run_state.h"
#include "speedup/model_file.h"
#include "speedup/model_speedup.h"

namespace shrink::pipeline::detail {
namespace {

std::string model_file(const StageSpec& stage) { return stage.name + ".model.h5"; }

}  // namespace

void replay_speedup_stage(RunState& state, std::size_t index) {
  state.pruner.reset();
  state.architecture = model_file(state.stage(index));
  state.model = io::load_model(state.path(state.architecture));
}

void run_speedup_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  StageRecord& record = state.stage_record(index);
  io::StateDict masks;
  if (state.pruner) {
    masks = state.pruner->pruner->get_masks();
    if (state.pruner->bn_masks)
      for (const auto& [name, mask] : state.pruner->bn_masks->finish()) masks.insert(name, mask);
    state.pruner->pruner->unwrap();
    state.pruner.reset();
  }
  speedup::SpeedupOptions options;
  options.resolve = stage.speedup_mode == "intersection" ? speedup::Resolve::Intersection : speedup::Resolve::Union;
  options.round_to = stage.round_to;
  const speedup::SpeedupReport report = speedup::ModelSpeedup(*state.model, state.example, masks, options).speedup_model();
  for (const auto& f : report.inexact) record.notes.push_back("inexact constant fold into " + f.layer + ": " + f.reason);
  for (const auto& w : report.warnings) record.notes.push_back(w);
  const std::string file = model_file(stage);
  io::save_model(*state.model, state.example, state.path(file));
  state.architecture = file;
  state.model = io::load_model(state.path(file));
  record.files.push_back(file);
  record.file_bytes = file_bytes(state, file);
  state.out << stage.name << ": params " << report.params_before << " -> " << report.params_after << ", MACs "
            << report.macs_before << " -> " << report.macs_after << " per image; model file " << file << "\n";
}

}  // namespace shrink::pipeline::detail
