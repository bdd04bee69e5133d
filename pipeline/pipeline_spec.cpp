// PipelineSpec: reading the pipeline file (model, data, training, stage names, the timeline) and
// writing it back; one stage's keys are in stage_spec.cpp.
#include "pipeline/pipeline_spec.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "autograd/error.h"
#include "io/json_reader.h"
#include "nn/models/registry.h"
#include "pipeline/spec_parts.h"

namespace shrink::pipeline {
namespace {

using io::JsonReader;
using io::NumberRange;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::size_t kMaxFileBytes = std::size_t{4} << 20;
constexpr std::size_t kMaxDepth = 64;
constexpr std::size_t kMaxStages = 1000;
constexpr std::int64_t kMaxBatch = 65536;

/// `path` as written, or below `base_dir` when it is relative.
std::string resolve(const std::string& path, const std::string& base_dir) {
  if (base_dir.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).string();
}

/// A path (resolved against `base_dir`) that must name an existing regular file.
std::string existing_file(const JsonReader& r, const std::string& base_dir) {
  const std::string path = resolve(r.string(), base_dir);
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) r.fail("an existing file", json(path).dump() + " (no such file)");
  if (!fs::is_regular_file(status))
    r.fail("a regular file", json(path).dump() + (fs::is_directory(status) ? " (a directory)" : " (not a regular file)"));
  return path;
}

void read_data(const JsonReader& r, const std::string& base_dir, DataSpec& data) {
  r.object({"root", "train_limit", "test_limit", "batch_size", "test_batch_size", "augment"},
           "an object {\"root\": ..., \"batch_size\": ...}");
  if (auto v = r.find("root")) data.root = resolve(v->string(), base_dir);
  if (auto v = r.find("train_limit")) data.train_limit = v->integer(0);
  if (auto v = r.find("test_limit")) data.test_limit = v->integer(0);
  if (auto v = r.find("batch_size")) data.batch_size = v->integer(1, kMaxBatch);
  if (auto v = r.find("test_batch_size")) data.test_batch_size = v->integer(1, kMaxBatch);
  if (auto v = r.find("augment")) data.augment = v->boolean();
}

json data_to_json(const DataSpec& d) {
  return {{"root", d.root},           {"train_limit", d.train_limit},         {"test_limit", d.test_limit},
          {"batch_size", d.batch_size}, {"test_batch_size", d.test_batch_size}, {"augment", d.augment}};
}

/// Stage names: [A-Za-z0-9_.-], at most 64, not starting with '.' (they name output files).
std::string read_name(const JsonReader& r) {
  const std::string name = r.string();
  const bool ok = name.size() <= 64 && name[0] != '.' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                  });
  if (!ok)
    r.fail("a name of at most 64 letters, digits, '_', '-' and '.', not starting with '.' (it names output files)",
           json(name).dump());
  return name;
}

/// Pass 1: every stage's type and name (explicit or default), unique.
std::vector<StageSpec> read_types_and_names(const JsonReader& stages, std::size_t n, const TrainingSpec& training) {
  std::vector<StageSpec> out(n);
  std::map<std::string, int> seen_of_type;
  std::vector<bool> named(n);
  for (std::size_t i = 0; i < n; ++i) {
    const JsonReader r = stages.at(i);
    const std::string type = r.required("type", "one of " + io::join_names(detail::stage_type_names())).one_of(detail::stage_type_names());
    const auto index = std::find(detail::stage_type_names().begin(), detail::stage_type_names().end(), type) -
                       detail::stage_type_names().begin();
    out[i].type = static_cast<StageType>(index);
    out[i].training = training;
    const int k = ++seen_of_type[type];
    named[i] = r.has("name");
    out[i].name = named[i] ? read_name(*r.find("name")) : k == 1 ? type : type + "_" + std::to_string(k);
  }
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < n; ++i) {
    const auto [it, fresh] = first.emplace(out[i].name, i);
    if (fresh) continue;
    const std::string other = "stages[" + std::to_string(it->second) + "]";
    if (named[i])
      stages.at(i).find("name")->fail("a name no other stage has", json(out[i].name).dump() + ", which " + other + " has too");
    stages.at(i).fail("a unique name", "the default name " + json(out[i].name).dump() + ", which " + other +
                                           " has too (Hint: give this stage a \"name\")");
  }
  return out;
}

/// The epochs each stage owns on the timeline, and the distill overlays' ranges.
std::int64_t compute_timeline(const JsonReader& stages, std::vector<StageSpec>& specs) {
  std::int64_t cursor = 0;
  std::vector<std::int64_t> position(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    StageSpec& s = specs[i];
    position[i] = cursor;
    if (s.type == StageType::Distill) continue;
    std::int64_t length = 0;
    if (s.type == StageType::Train || s.type == StageType::Quantize) length = s.epochs;
    if (s.type == StageType::Prune) length = s.pruning_epochs + s.epochs;
    s.start_epoch = cursor;
    s.end_epoch = cursor += length;
  }
  const std::int64_t total = cursor;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    StageSpec& s = specs[i];
    if (s.type != StageType::Distill) continue;
    const JsonReader r = stages.at(i);
    if (position[i] == total)
      r.fail("training epochs after a distill stage (it changes the loss of the stages that train after it)",
             "none (it is at epoch " + std::to_string(total) + ", the end of the timeline)");
    const std::string range = " (epochs " + std::to_string(position[i]) + " to " + std::to_string(total) +
                              " follow this stage on the timeline)";
    if (s.start_epoch < 0) s.start_epoch = position[i];
    if (s.end_epoch < 0) s.end_epoch = total;
    if (s.start_epoch < position[i] || s.start_epoch >= total)
      r.find("start_epoch")->fail("an integer in [" + std::to_string(position[i]) + ", " + std::to_string(total - 1) + "]" + range,
                                  std::to_string(s.start_epoch));
    if (s.end_epoch <= s.start_epoch || s.end_epoch > total)
      r.find("end_epoch")->fail("an integer in [" + std::to_string(s.start_epoch + 1) + ", " + std::to_string(total) + "]" + range,
                                std::to_string(s.end_epoch));
  }
  return total;
}

PipelineSpec parse_in(const json& j, const std::string& source, const std::string& base_dir) {
  const JsonReader root(j, source);
  root.object({"model", "data", "training", "stages"}, "a pipeline object {\"model\": ..., \"stages\": [...]}");
  PipelineSpec spec;
  spec.source = source;
  spec.model = detail::read_model(root.required("model", "{\"zoo\": name} or {\"file\": path}"), base_dir);
  if (auto v = root.find("data")) read_data(*v, base_dir, spec.data);
  if (auto v = root.find("training")) detail::read_training(*v, spec.training);
  const JsonReader stages = root.required("stages", "the list of stages");
  const std::size_t n = stages.list(1, kMaxStages, "a list of stages");
  spec.stages = read_types_and_names(stages, n, spec.training);
  std::vector<std::string> earlier;
  for (std::size_t i = 0; i < n; ++i) {
    detail::read_stage(stages.at(i), base_dir, earlier, spec.stages[i]);
    earlier.push_back(spec.stages[i].name);
  }
  spec.total_epochs = compute_timeline(stages, spec.stages);
  return spec;
}

}  // namespace

namespace detail {

ModelSpec read_model(const JsonReader& r, const std::string& base_dir) {
  r.object({"zoo", "file", "weights"}, "an object {\"zoo\": name} or {\"file\": path}");
  const bool zoo = r.has("zoo"), file = r.has("file");
  if (zoo == file)
    r.fail("exactly one of 'zoo' (a model zoo name) and 'file' (a Shrink model file)", zoo ? "both" : "neither");
  ModelSpec model;
  if (zoo) model.zoo = r.find("zoo")->one_of(models::names());
  if (file) {
    model.file = existing_file(*r.find("file"), base_dir);
    if (auto v = r.find("weights")) v->fail("no weights with a model file (it holds its own)", io::json_shown(v->json()));
  }
  if (auto v = r.find("weights")) model.weights = existing_file(*v, base_dir);
  return model;
}

void read_training(const JsonReader& r, TrainingSpec& t) {
  r.object({"optimizer", "lr", "momentum", "weight_decay", "lr_schedule", "seed"},
           "an object {\"optimizer\": ..., \"lr\": ...}");
  if (auto v = r.find("optimizer")) t.optimizer = v->one_of({"sgd", "adam", "rmsprop"});
  if (auto v = r.find("lr")) t.lr = v->number(NumberRange::above(0));
  if (auto v = r.find("momentum")) t.momentum = v->number(NumberRange::half_open(0, 1));
  if (auto v = r.find("weight_decay")) t.weight_decay = v->number(NumberRange::at_least(0));
  if (auto v = r.find("lr_schedule")) t.lr_schedule = v->one_of({"cosine", "constant"});
  if (auto v = r.find("seed")) t.seed = v->unsigned_integer();
}

json model_to_json(const ModelSpec& m) {
  json j = json::object();
  if (!m.zoo.empty()) j["zoo"] = m.zoo;
  if (!m.file.empty()) j["file"] = m.file;
  if (!m.weights.empty()) j["weights"] = m.weights;
  return j;
}

json training_to_json(const TrainingSpec& t) {
  return {{"optimizer", t.optimizer},       {"lr", t.lr}, {"momentum", t.momentum}, {"weight_decay", t.weight_decay},
          {"lr_schedule", t.lr_schedule}, {"seed", t.seed}};
}

}  // namespace detail

PipelineSpec PipelineSpec::parse(const json& value, const std::string& source) { return parse_in(value, source, ""); }

PipelineSpec PipelineSpec::parse_text(const std::string& text, const std::string& source) {
  return parse_in(io::parse_json_text(text, source, kMaxDepth), source, "");
}

PipelineSpec PipelineSpec::from_file(const std::string& path) {
  const std::string text = io::read_text_file(path, "pipeline file", kMaxFileBytes);
  return parse_in(io::parse_json_text(text, path, kMaxDepth), path, fs::path(path).parent_path().string());
}

json PipelineSpec::to_json() const {
  json stage_list = json::array();
  for (const StageSpec& s : stages) stage_list.push_back(detail::stage_to_json(s));
  return {{"model", detail::model_to_json(model)},
          {"data", data_to_json(data)},
          {"training", detail::training_to_json(training)},
          {"stages", std::move(stage_list)}};
}

}  // namespace shrink::pipeline
