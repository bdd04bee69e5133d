// RunRecord: its JSON form (run.json), read back with every field checked, saved atomically.
#include "pipeline/run_record.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "io/atomic_write.h"
#include "io/json_reader.h"
#include "pipeline/spec_parts.h"

namespace shrink::pipeline {
namespace {

using io::JsonReader;
using io::NumberRange;
using nlohmann::json;

constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxDepth = 16;
constexpr std::size_t kMaxEntries = 1'000'000;

const NumberRange kFraction = NumberRange::closed(0, 1);
const NumberRange kNonNegative = NumberRange::at_least(0);

json optional_number(const std::optional<double>& x) { return x ? json(*x) : json(); }

/// A number that may be NaN or infinite (a diverged loss): written as null.
json loose_number(double x) { return std::isfinite(x) ? json(x) : json(); }

/// Reads `key` of `r` into `out` with `read` when present.
template <typename T, typename Read>
void maybe(const JsonReader& r, const std::string& key, T& out, Read read) {
  if (auto v = r.find(key)) out = read(*v);
}

std::int64_t count(const JsonReader& r) { return r.integer(0); }

/// null (none) or a number in `range`.
std::optional<double> read_optional(const JsonReader& r, const NumberRange& range) {
  if (r.json().is_null()) return std::nullopt;
  return r.number(range);
}

std::vector<std::string> strings(const JsonReader& r) {
  const std::size_t n = r.list(0, kMaxEntries, "a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(r.at(i).string());
  return out;
}

EpochRecord read_epoch(const JsonReader& r) {
  r.object({"epoch", "train_loss", "train_accuracy", "test_accuracy", "images_per_second", "lr"}, "an epoch object");
  EpochRecord e;
  e.epoch = r.required("epoch", "the epoch on the timeline").integer(0);
  maybe(r, "train_loss", e.train_loss, [](const JsonReader& v) {
    return v.json().is_null() ? std::numeric_limits<double>::quiet_NaN() : v.number();
  });
  maybe(r, "train_accuracy", e.train_accuracy, [](const JsonReader& v) { return v.number(kFraction); });
  maybe(r, "test_accuracy", e.test_accuracy, [](const JsonReader& v) { return v.number(kFraction); });
  maybe(r, "images_per_second", e.images_per_second, [](const JsonReader& v) { return v.number(kNonNegative); });
  maybe(r, "lr", e.lr, [](const JsonReader& v) { return v.number(kNonNegative); });
  return e;
}

LayerRecord read_layer(const JsonReader& r) {
  r.object({"name", "type", "params", "sparsity", "macs"}, "a layer object");
  LayerRecord l;
  l.name = r.required("name", "the dotted module name").string();
  maybe(r, "type", l.type, [](const JsonReader& v) { return v.string(); });
  maybe(r, "params", l.params, count);
  maybe(r, "sparsity", l.sparsity, [](const JsonReader& v) { return v.number(kFraction); });
  maybe(r, "macs", l.macs, count);
  return l;
}

SensitivityRecord read_sensitivity(const JsonReader& r) {
  r.object({"baseline", "ratios", "accuracy"}, "a sensitivity object");
  SensitivityRecord s;
  maybe(r, "baseline", s.baseline, [](const JsonReader& v) { return v.number(kFraction); });
  maybe(r, "ratios", s.ratios, [](const JsonReader& v) { return v.number_list(0, kMaxEntries, kFraction); });
  if (auto acc = r.find("accuracy")) {
    if (!acc->json().is_object()) acc->fail("an object {layer: [accuracy at each ratio]}", io::json_shown(acc->json()));
    for (const auto& [layer, values] : acc->json().items()) {
      const JsonReader v = *acc->find(layer);
      s.accuracy[layer] = v.number_list(s.ratios.size(), s.ratios.size(), kFraction, "a list of accuracies, one per ratio");
    }
  }
  return s;
}

StageRecord read_stage(const JsonReader& r) {
  r.object({"name", "type", "start_epoch", "end_epoch", "done", "accuracy", "params", "macs", "file_bytes",
            "latency_ms", "seconds", "epochs", "layers", "sensitivity", "files", "notes"},
           "a stage object");
  StageRecord s;
  s.name = r.required("name", "the stage's name").string();
  s.type = r.required("type", "the stage's type").one_of(detail::stage_type_names());
  maybe(r, "start_epoch", s.start_epoch, count);
  maybe(r, "end_epoch", s.end_epoch, count);
  if (s.end_epoch < s.start_epoch)
    r.find("end_epoch")->fail("an integer >= start_epoch (" + std::to_string(s.start_epoch) + ")",
                              std::to_string(s.end_epoch));
  maybe(r, "done", s.done, [](const JsonReader& v) { return v.boolean(); });
  maybe(r, "accuracy", s.accuracy, [](const JsonReader& v) { return read_optional(v, kFraction); });
  maybe(r, "params", s.params, count);
  maybe(r, "macs", s.macs, count);
  maybe(r, "file_bytes", s.file_bytes, count);
  maybe(r, "latency_ms", s.latency_ms, [](const JsonReader& v) { return read_optional(v, kNonNegative); });
  maybe(r, "seconds", s.seconds, [](const JsonReader& v) { return v.number(kNonNegative); });
  if (auto v = r.find("epochs"))
    for (std::size_t i = 0, n = v->list(0, kMaxEntries, "a list of epochs"); i < n; ++i) s.epochs.push_back(read_epoch(v->at(i)));
  if (auto v = r.find("layers"))
    for (std::size_t i = 0, n = v->list(0, kMaxEntries, "a list of layers"); i < n; ++i) s.layers.push_back(read_layer(v->at(i)));
  if (auto v = r.find("sensitivity"); v && !v->json().is_null()) s.sensitivity = read_sensitivity(*v);
  maybe(r, "files", s.files, strings);
  maybe(r, "notes", s.notes, strings);
  return s;
}

json stage_json(const StageRecord& s) {
  json epochs = json::array(), layers = json::array();
  for (const EpochRecord& e : s.epochs)
    epochs.push_back({{"epoch", e.epoch}, {"train_loss", loose_number(e.train_loss)}, {"train_accuracy", e.train_accuracy},
                      {"test_accuracy", e.test_accuracy}, {"images_per_second", e.images_per_second}, {"lr", e.lr}});
  for (const LayerRecord& l : s.layers)
    layers.push_back({{"name", l.name}, {"type", l.type}, {"params", l.params}, {"sparsity", l.sparsity}, {"macs", l.macs}});
  json sensitivity;
  if (s.sensitivity)
    sensitivity = {{"baseline", s.sensitivity->baseline}, {"ratios", s.sensitivity->ratios},
                   {"accuracy", s.sensitivity->accuracy}};
  return {{"name", s.name},
          {"type", s.type},
          {"start_epoch", s.start_epoch},
          {"end_epoch", s.end_epoch},
          {"done", s.done},
          {"accuracy", optional_number(s.accuracy)},
          {"params", s.params},
          {"macs", s.macs},
          {"file_bytes", s.file_bytes},
          {"latency_ms", optional_number(s.latency_ms)},
          {"seconds", s.seconds},
          {"epochs", std::move(epochs)},
          {"layers", std::move(layers)},
          {"sensitivity", std::move(sensitivity)},
          {"files", s.files},
          {"notes", s.notes}};
}

}  // namespace

json RunRecord::to_json() const {
  json stage_list = json::array();
  for (const StageRecord& s : stages) stage_list.push_back(stage_json(s));
  return {{"pipeline", pipeline},
          {"model", model},
          {"baseline_accuracy", optional_number(baseline_accuracy)},
          {"baseline_params", baseline_params},
          {"baseline_macs", baseline_macs},
          {"stages", std::move(stage_list)}};
}

RunRecord RunRecord::from_json(const json& value, const std::string& source) {
  const JsonReader r(value, source);
  r.object({"pipeline", "model", "baseline_accuracy", "baseline_params", "baseline_macs", "stages"},
           "a run record object {\"pipeline\": ..., \"stages\": [...]}");
  RunRecord record;
  record.pipeline = r.required("pipeline", "the pipeline file's name").string(true);
  record.model = r.required("model", "the zoo name or model file").string(true);
  maybe(r, "baseline_accuracy", record.baseline_accuracy, [](const JsonReader& v) { return read_optional(v, kFraction); });
  maybe(r, "baseline_params", record.baseline_params, count);
  maybe(r, "baseline_macs", record.baseline_macs, count);
  const JsonReader stages = r.required("stages", "the stages run so far");
  for (std::size_t i = 0, n = stages.list(0, kMaxEntries, "a list of stages"); i < n; ++i)
    record.stages.push_back(read_stage(stages.at(i)));
  return record;
}

void RunRecord::save(const std::string& path) const {
  io::write_text_atomically(path, "RunRecord::save", to_json().dump(2) + "\n");
}

RunRecord RunRecord::load(const std::string& path) {
  const std::string text = io::read_text_file(path, "run record", kMaxFileBytes);
  return from_json(io::parse_json_text(text, path, kMaxDepth), path);
}

}  // namespace shrink::pipeline
