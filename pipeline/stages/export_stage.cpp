// The export stage: into the output directory, `<stage>.weights.h5` (the weights the model
// computes with: masks applied, also those of masked BatchNorms, fake-quantized weights),
// `<stage>.masks.h5` (a live pruner's masks), `<stage>.calibration.json` and `<stage>.int8.h5` (a live quantizer's calibration config
// and int8 file) — the compressors' own export_model() — and `<stage>.model.h5`, a model file
// (speedup/model_file.h) of the current architecture holding those weights, loadable without the
// model's code. `exports` picks among them (default: all that apply).
#include <algorithm>
#include <filesystem>

#include "autograd/ops.h"
#include "io/state_dict_file.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "pipeline/stages/run_state.h"
#include "speedup/model_file.h"

namespace shrink::pipeline::detail {
namespace {

bool wanted(const StageSpec& stage, const std::string& what) {
  return stage.exports.empty() || std::find(stage.exports.begin(), stage.exports.end(), what) != stage.exports.end();
}

/// A fresh copy of the current architecture without compressors: the speedup's model file, the
/// pipeline's model file or the zoo model.
nn::ModulePtr clean_architecture(const RunState& state) {
  if (!state.architecture.empty()) return io::load_model(state.path(state.architecture));
  if (!state.spec.model.file.empty()) return io::load_model(state.spec.model.file);
  return models::create(state.spec.model.zoo);
}

/// A pruner's export with masked BatchNorms (speedup::BatchNormMasks): their weight and bias as
/// the model computes with them, without the "channel_mask" buffers.
void apply_batchnorm_masks(const std::string& path) {
  const std::string suffix = "channel_mask";
  io::StateDict in = io::load_state_dict(path), out;
  for (const auto& [key, value] : in) {
    if (key.ends_with(suffix)) continue;
    const std::string mask = key.substr(0, key.rfind('.') + 1) + suffix;
    const bool masked = (key.ends_with(".weight") || key.ends_with(".bias")) && in.contains(mask);
    out.insert(key, masked ? mul(value, in.at(mask)) : value);
  }
  io::save_state_dict(out, path);
}

}  // namespace

void run_export_stage(RunState& state, std::size_t index) {
  const StageSpec& stage = state.stage(index);
  StageRecord& record = state.stage_record(index);
  const std::string weights = stage.name + ".weights.h5", masks = stage.name + ".masks.h5",
                    calibration = stage.name + ".calibration.json", int8 = stage.name + ".int8.h5",
                    model = stage.name + ".model.h5";
  std::vector<std::string> written;
  const bool need_weights = wanted(stage, "weights") || wanted(stage, "model");
  if (state.quantizer) {
    if (need_weights || wanted(stage, "calibration") || wanted(stage, "int8")) {
      state.quantizer->export_model(state.path(weights), state.path(calibration),
                                    wanted(stage, "int8") ? state.path(int8) : "");
      written.insert(written.end(), {weights, calibration});
      if (wanted(stage, "int8")) written.push_back(int8);
    }
  } else if (state.pruner) {
    if (need_weights || wanted(stage, "masks")) {
      state.pruner->pruner->export_model(state.path(weights), state.path(masks));
      if (state.pruner->bn_masks) apply_batchnorm_masks(state.path(weights));
      written.insert(written.end(), {weights, masks});
    }
  } else if (need_weights) {
    nn::save_weights(*state.model, state.path(weights));
    written.push_back(weights);
  }
  if (wanted(stage, "model")) {
    nn::ModulePtr copy = clean_architecture(state);
    // A pruner under a quantizer: its export carries the mask buffers, which a plain model has not.
    const io::StateDict own = copy->state_dict();
    io::StateDict exported;
    for (const auto& [key, value] : io::load_state_dict(state.path(weights)))
      if (own.contains(key) || !key.ends_with("_mask")) exported.insert(key, value);
    copy->load_state_dict(exported);
    io::save_model(*copy, state.example, state.path(model));
    written.push_back(model);
  }
  // Files a compressor's export writes together but the stage did not ask for.
  for (const auto& [what, file] : std::vector<std::pair<std::string, std::string>>{
           {"weights", weights}, {"masks", masks}, {"calibration", calibration}}) {
    if (wanted(stage, what)) continue;
    std::filesystem::remove(state.path(file));
    written.erase(std::remove(written.begin(), written.end(), file), written.end());
  }
  for (const auto& f : written) {
    record.files.push_back(f);
    record.file_bytes += file_bytes(state, f);
  }
  state.out << stage.name << ": wrote";
  for (const auto& f : written) state.out << " " << f;
  state.out << "\n";
}

}  // namespace shrink::pipeline::detail
