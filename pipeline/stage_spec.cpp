// One stage of a pipeline file: its keys by type, their checks, and its JSON form.
#include <algorithm>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "compression/config_list.h"
#include "compression/distillation/distill_config.h"
#include "compression/pruning/registry.h"
#include "compression/quantization/quantizer_registry.h"
#include "pipeline/spec_parts.h"

namespace shrink::pipeline::detail {
namespace {

using io::JsonReader;
using io::NumberRange;
using nlohmann::json;

const std::vector<std::string> kExports = {"model", "weights", "masks", "calibration", "int8"};
const std::vector<double> kDefaultRatios = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
constexpr std::int64_t kMaxCalibrationBatches = 1'000'000;

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// Every key of `r` must belong to a stage of `type`. A key of another type's stages is named as
/// such; anything else is an unknown key (JsonReader::object).
void check_stage_keys(const JsonReader& r, StageType type) {
  const std::vector<std::string>& allowed = stage_keys(type);
  const std::string type_name = stage_type_name(type);
  for (const auto& [key, value] : r.json().items()) {
    if (contains(allowed, key)) continue;
    std::vector<std::string> owners;
    for (std::size_t t = 0; t < stage_type_names().size(); ++t)
      if (contains(stage_keys(static_cast<StageType>(t)), key)) owners.push_back(stage_type_names()[t]);
    if (owners.empty()) continue;
    std::string owner_list;
    for (std::size_t i = 0; i < owners.size(); ++i)
      owner_list += (i == 0 ? "" : i + 1 == owners.size() ? " and " : ", ") + owners[i];
    JsonReader(value, r.source(), r.path_of(key))
        .fail("a key of a " + type_name + " stage (" + io::join_names(allowed) + ")", "a key of " + owner_list + " stages");
  }
  r.object(allowed, "a stage object {\"type\": ..., ...}");
}

/// An options object (null = the defaults) whose keys are in `allowed`; `owner` names what takes
/// them in the message when it takes none ("the l1norm pruner").
json read_options(const JsonReader& r, const std::vector<std::string>& allowed, const std::string& owner) {
  if (r.json().is_null()) return json();
  if (allowed.empty()) {
    if (!r.json().is_object()) r.fail("null or {} (" + owner + " takes no options)", io::json_shown(r.json()));
    if (!r.json().empty()) r.fail("no options (" + owner + " takes none)", io::json_shown(r.json()));
  }
  r.object(allowed, "an object of options");
  return r.json();
}

/// compression::ConfigList's checks, its messages put below this stage's path.
json read_config_list(const JsonReader& stage) {
  const JsonReader r = stage.required("config_list", "which layers, with which settings: [{\"op_types\": [...], ...}]");
  try {
    compression::ConfigList::from_json(r.json());
  } catch (const ValueError& e) {
    // Its messages start with "config_list" (its own name for the list).
    throw ValueError(stage.where() + "." + e.what());
  }
  return r.json();
}

/// compression::DistillConfig's checks (its messages start with "distill config"), normalised.
json read_distill_config(const JsonReader& stage) {
  const JsonReader r = stage.required("distill_config", "a list of losses: [{\"loss\": \"soft_label\", ...}]");
  try {
    return compression::DistillConfig::parse(r.json()).to_json();
  } catch (const ValueError& e) {
    const std::string what = e.what();
    const std::string prefix = "distill config";
    throw ValueError(r.where() + (what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : ": " + what));
  }
}

/// qat's fold_bn: true / false, or the [conv, bn] name pairs.
void check_fold_bn(const JsonReader& r) {
  if (r.json().is_boolean()) return;
  const char* expected = "true, false or a list of [conv, bn] name pairs";
  if (!r.json().is_array()) r.fail(expected, io::json_shown(r.json()));
  for (std::size_t i = 0; i < r.json().size(); ++i) {
    const JsonReader pair = r.at(i);
    pair.list(2, 2, "a [conv, bn] name pair");
    pair.at(0).string();
    pair.at(1).string();
  }
}

std::int64_t read_epochs(const JsonReader& r, std::int64_t min, std::int64_t fallback) {
  const auto v = r.find("epochs");
  return v ? v->integer(min, kMaxEpochs) : fallback;
}

void read_prune(const JsonReader& r, StageSpec& s) {
  s.pruner = r.required("pruner", "a pruner name").one_of(compression::pruner_names());
  if (auto v = r.find("pruner_options"))
    s.pruner_options = read_options(*v, compression::pruner_options(s.pruner), "the " + s.pruner + " pruner");
  s.config_list = read_config_list(r);
  if (auto v = r.find("schedule")) s.schedule = v->one_of(compression::scheduled_pruner_names());
  if (auto v = r.find("schedule_options")) {
    if (s.schedule.empty()) v->fail("schedule_options only with a \"schedule\"", "them without one");
    s.schedule_options = read_options(*v, compression::scheduled_pruner_options(), "the " + s.schedule + " schedule");
  }
  if (auto v = r.find("pruning_epochs")) s.pruning_epochs = v->integer(0, kMaxEpochs);
  if (auto v = r.find("dependency_aware")) s.dependency_aware = v->boolean();
  s.epochs = read_epochs(r, 0, 0);
}

void read_quantize(const JsonReader& r, StageSpec& s) {
  s.quantizer = r.required("quantizer", "a quantizer name").one_of(compression::quantizer_names());
  if (auto v = r.find("quantizer_options")) {
    s.quantizer_options = read_options(*v, compression::quantizer_options(s.quantizer), "the " + s.quantizer + " quantizer");
    if (auto fold = v->find("fold_bn")) check_fold_bn(*fold);
  }
  s.config_list = read_config_list(r);
  const bool ptq = s.quantizer == "ptq";
  if (ptq) {
    s.calibration_batches =
        r.required("calibration_batches", "the training batches ptq observes, > 0").integer(1, kMaxCalibrationBatches);
    const auto epochs = r.find("epochs");
    if (epochs && !(epochs->json().is_number_integer() && epochs->json() == 0))
      epochs->fail("0 for ptq (it observes calibration_batches, it does not train)", io::json_shown(epochs->json()));
  } else {
    if (auto v = r.find("calibration_batches"))
      v->fail("calibration_batches only for ptq (" + s.quantizer + " does not calibrate)", io::json_shown(v->json()));
    s.epochs = read_epochs(r, 0, 0);
  }
}

void read_distill(const JsonReader& r, const std::string& base_dir, const std::vector<std::string>& earlier,
                  StageSpec& s) {
  s.distill_config = read_distill_config(r);
  const bool teacher = r.has("teacher"), teacher_stage = r.has("teacher_stage");
  if (teacher == teacher_stage)
    r.fail("exactly one of 'teacher' (a model: {\"zoo\": name, \"weights\": path} or {\"file\": path}) and "
           "'teacher_stage' (the name of an earlier stage)",
           teacher ? "both" : "neither");
  if (teacher) {
    s.teacher = read_model(*r.find("teacher"), base_dir);
  } else {
    const JsonReader v = *r.find("teacher_stage");
    s.teacher_stage = v.string();
    if (!contains(earlier, s.teacher_stage))
      v.fail("the name of an earlier stage (" +
                 (earlier.empty() ? std::string("none: this is the first stage") : io::join_names(earlier)) + ")",
             "\"" + s.teacher_stage + "\"");
  }
  // Checked against the timeline by PipelineSpec::parse; -1 = the default.
  s.start_epoch = s.end_epoch = -1;
  if (auto v = r.find("start_epoch")) s.start_epoch = v->integer(0);
  if (auto v = r.find("end_epoch")) s.end_epoch = v->integer(0);
}

void read_sensitivity(const JsonReader& r, StageSpec& s) {
  s.ratios = kDefaultRatios;
  if (auto v = r.find("ratios")) {
    s.ratios = v->number_list(1, 99, NumberRange::open(0, 1));
    for (std::size_t i = 1; i < s.ratios.size(); ++i)
      if (s.ratios[i] <= s.ratios[i - 1])
        v->at(i).fail("ratios in ascending order, each once", v->at(i).json().dump() + " after " + v->at(i - 1).json().dump());
  }
  if (auto v = r.find("sensitivity_images")) s.sensitivity_images = v->integer(0);
}

}  // namespace

const std::vector<std::string>& stage_type_names() {
  static const std::vector<std::string> names = {"train", "prune", "quantize", "distill", "speedup", "export", "sensitivity"};
  return names;
}

const std::vector<std::string>& stage_keys(StageType type) {
  static const std::vector<std::vector<std::string>> keys = {
      {"type", "name", "epochs", "training"},
      {"type", "name", "pruner", "pruner_options", "config_list", "schedule", "schedule_options", "pruning_epochs",
       "dependency_aware", "epochs", "training"},
      {"type", "name", "quantizer", "quantizer_options", "config_list", "calibration_batches", "epochs", "training"},
      {"type", "name", "teacher", "teacher_stage", "distill_config", "start_epoch", "end_epoch"},
      {"type", "name", "speedup_mode", "round_to"},
      {"type", "name", "exports"},
      {"type", "name", "ratios", "sensitivity_images"},
  };
  return keys[static_cast<std::size_t>(type)];
}

void read_stage(const JsonReader& r, const std::string& base_dir, const std::vector<std::string>& earlier,
                StageSpec& s) {
  check_stage_keys(r, s.type);
  if (auto v = r.find("training")) read_training(*v, s.training);
  switch (s.type) {
    case StageType::Train:
      s.epochs = r.required("epochs", "the training epochs, > 0").integer(1, kMaxEpochs);
      break;
    case StageType::Prune: read_prune(r, s); break;
    case StageType::Quantize: read_quantize(r, s); break;
    case StageType::Distill: read_distill(r, base_dir, earlier, s); break;
    case StageType::Speedup:
      if (auto v = r.find("speedup_mode")) s.speedup_mode = v->one_of({"union", "intersection"});
      if (auto v = r.find("round_to")) s.round_to = v->integer(1, 4096);
      break;
    case StageType::Export:
      if (auto v = r.find("exports")) s.exports = v->string_list(1, kExports.size(), kExports);
      break;
    case StageType::Sensitivity: read_sensitivity(r, s); break;
  }
}

json stage_to_json(const StageSpec& s) {
  json j = {{"type", stage_type_name(s.type)}, {"name", s.name}};
  switch (s.type) {
    case StageType::Train:
      j["epochs"] = s.epochs;
      j["training"] = training_to_json(s.training);
      break;
    case StageType::Prune:
      j["pruner"] = s.pruner;
      if (!s.pruner_options.is_null()) j["pruner_options"] = s.pruner_options;
      j["config_list"] = s.config_list;
      if (!s.schedule.empty()) {
        j["schedule"] = s.schedule;
        if (!s.schedule_options.is_null()) j["schedule_options"] = s.schedule_options;
      }
      j["pruning_epochs"] = s.pruning_epochs;
      j["dependency_aware"] = s.dependency_aware;
      j["epochs"] = s.epochs;
      j["training"] = training_to_json(s.training);
      break;
    case StageType::Quantize:
      j["quantizer"] = s.quantizer;
      if (!s.quantizer_options.is_null()) j["quantizer_options"] = s.quantizer_options;
      j["config_list"] = s.config_list;
      if (s.quantizer == "ptq") j["calibration_batches"] = s.calibration_batches;
      j["epochs"] = s.epochs;
      j["training"] = training_to_json(s.training);
      break;
    case StageType::Distill:
      if (s.teacher_stage.empty()) j["teacher"] = model_to_json(s.teacher);
      else j["teacher_stage"] = s.teacher_stage;
      j["distill_config"] = s.distill_config;
      j["start_epoch"] = s.start_epoch;
      j["end_epoch"] = s.end_epoch;
      break;
    case StageType::Speedup:
      j["speedup_mode"] = s.speedup_mode;
      j["round_to"] = s.round_to;
      break;
    case StageType::Export:
      if (!s.exports.empty()) j["exports"] = s.exports;
      break;
    case StageType::Sensitivity:
      j["ratios"] = s.ratios;
      j["sensitivity_images"] = s.sensitivity_images;
      break;
  }
  return j;
}

}  // namespace shrink::pipeline::detail
