#pragma once
/// \file
/// The pieces of PipelineSpec's reader and writer shared by pipeline_spec.cpp (the file, model,
/// data, training, timeline) and stage_spec.cpp (one stage). Internal (a `detail` namespace).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/json_reader.h"
#include "pipeline/pipeline_spec.h"

namespace shrink::pipeline::detail {

/// Epochs a single stage may own (a bound against hostile files; far above any real run).
inline constexpr std::int64_t kMaxEpochs = 100'000;

/// Reads a ModelSpec object ({"zoo": name, "weights": path} or {"file": path}); relative paths are
/// resolved against `base_dir` ("" = the working directory) and must name existing regular files.
ModelSpec read_model(const io::JsonReader& r, const std::string& base_dir);
/// Applies the keys of a training object to `training`.
void read_training(const io::JsonReader& r, TrainingSpec& training);

nlohmann::json model_to_json(const ModelSpec& model);
nlohmann::json training_to_json(const TrainingSpec& training);

/// Reads stage `r` (already known to be an object with a valid "type") into `stage`, whose type,
/// name and training (the pipeline's) are already set. `earlier` are the names of the stages
/// before it (for teacher_stage). Does not compute the timeline: a distill stage's start_epoch and
/// end_epoch are left at -1 when the file does not set them.
void read_stage(const io::JsonReader& r, const std::string& base_dir, const std::vector<std::string>& earlier,
                StageSpec& stage);
/// The stage's JSON form (type, name and the keys of its type, with defaults filled in).
nlohmann::json stage_to_json(const StageSpec& stage);

/// The stage types by name, in StageType order.
const std::vector<std::string>& stage_type_names();
/// The keys a stage of `type` accepts (type and name included).
const std::vector<std::string>& stage_keys(StageType type);

}  // namespace shrink::pipeline::detail
