// shrink inspect, JSON files: pipeline, run record, sensitivity cache, graph, calibration config, config_list.
#include <string>
#include <vector>

#include "autograd/error.h"
#include "cli/format.h"
#include "cli/inspect.h"
#include "compression/config_list.h"
#include "io/json_reader.h"
#include "io/text_table.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_record.h"
#include "pipeline/summary_table.h"
#include "speedup/graph.h"

namespace shrink::cli {
namespace {

using io::Align;
using nlohmann::json;

/// "a, b, c" of a list of strings.
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string inspect_pipeline(const std::string& path) {
  const pipeline::PipelineSpec spec = pipeline::PipelineSpec::from_file(path);
  std::string out = format("%s: pipeline (%zu stages, %lld epochs in all)\n", path.c_str(), spec.stages.size(),
                           static_cast<long long>(spec.total_epochs));
  out += "model: " + (spec.model.zoo.empty() ? "model file " + spec.model.file : spec.model.zoo) +
         (spec.model.weights.empty() ? "" : " with weights " + spec.model.weights) + "\n";
  out += format("data: %s, %s training and %s test images, batch %lld%s\n", spec.data.root.c_str(),
                spec.data.train_limit ? io::grouped(spec.data.train_limit).c_str() : "all",
                spec.data.test_limit ? io::grouped(spec.data.test_limit).c_str() : "all",
                static_cast<long long>(spec.data.batch_size), spec.data.augment ? ", augmented" : "");
  out += format("training: %s lr %g, %s schedule, seed %llu\n", spec.training.optimizer.c_str(), spec.training.lr,
                spec.training.lr_schedule.c_str(), static_cast<unsigned long long>(spec.training.seed));
  std::vector<std::vector<std::string>> rows = {{"stage", "type", "epochs", "timeline", "what"}};
  for (const auto& s : spec.stages) {
    std::string what;
    switch (s.type) {
      case pipeline::StageType::Prune: what = s.pruner + (s.schedule.empty() ? "" : " + " + s.schedule); break;
      case pipeline::StageType::Quantize: what = s.quantizer; break;
      case pipeline::StageType::Distill:
        what = "from " + (s.teacher_stage.empty() ? (s.teacher.zoo.empty() ? s.teacher.file : s.teacher.zoo)
                                                  : "stage " + s.teacher_stage);
        break;
      case pipeline::StageType::Speedup: what = s.speedup_mode + format(", round_to %lld", static_cast<long long>(s.round_to)); break;
      case pipeline::StageType::Export: what = s.exports.empty() ? "all that apply" : joined(s.exports); break;
      default: break;
    }
    const bool timed = s.end_epoch > s.start_epoch;
    rows.push_back({s.name, pipeline::stage_type_name(s.type), timed ? std::to_string(s.end_epoch - s.start_epoch) : "-",
                    timed ? format("[%lld, %lld)", static_cast<long long>(s.start_epoch), static_cast<long long>(s.end_epoch))
                          : "-",
                    what});
  }
  return out + io::text_table(rows, {Align::Left, Align::Left, Align::Right, Align::Left, Align::Left});
}

std::string inspect_sensitivity(const std::string& path, const json& j) {
  const auto layers = j.at("layers").get<std::vector<std::string>>();
  const auto ratios = j.at("ratios").get<std::vector<double>>();
  std::vector<std::vector<std::string>> rows = {{"layer"}};
  std::vector<Align> align = {Align::Left};
  for (const double r : ratios) {
    rows[0].push_back(format("%g", r));
    align.push_back(Align::Right);
  }
  std::size_t measured = 0;
  for (const auto& layer : layers) {
    std::vector<std::string> row = {layer};
    const json& metrics = j.at("metrics").at(layer);
    for (std::size_t k = 0; k < ratios.size(); ++k) {
      const json& m = metrics.at(k);
      row.push_back(m.is_null() ? "-" : percent(m.get<double>()));
      measured += !m.is_null();
    }
    rows.push_back(row);
  }
  const json& baseline = j.at("baseline");
  return format("%s: sensitivity cache (%zu layers x %zu ratios, %zu measured; unpruned %s)\n"
                "metric when one layer alone is pruned at each ratio ('-': not measured yet):\n",
                path.c_str(), layers.size(), ratios.size(), measured,
                baseline.is_null() ? "not measured" : percent(baseline.get<double>()).c_str()) +
         io::text_table(rows, align);
}

std::string inspect_graph(const std::string& path, const json& j) {
  const speedup::Graph graph = speedup::graph_from_json(j);
  return format("%s: graph (%zu nodes, output %%%d)\n", path.c_str(), graph.nodes.size(), graph.output) +
         graph.to_string();
}

/// A calibration value: bits, scheme and dtype, scale and zero point (or their ranges).
std::string calibration_cell(const json& entry, const std::string& type) {
  if (!entry.contains(type + "_bits")) return "-";
  std::string cell = entry.at(type + "_bits").dump() + " bits";
  if (entry.contains(type + "_quant_scheme"))
    cell += " " + entry.at(type + "_quant_scheme").get<std::string>() + " " + entry.at(type + "_quant_dtype").get<std::string>();
  if (entry.contains(type + "_scale")) {
    const json& scale = entry.at(type + "_scale");
    cell += scale.is_array() ? format(", %zu scales", scale.size()) : format(", scale %.4g", scale.get<double>());
  }
  return cell;
}

std::string inspect_calibration(const std::string& path, const json& j) {
  std::vector<std::vector<std::string>> rows = {{"layer", "weight", "input", "output"}};
  for (const auto& [layer, entry] : j.items())
    rows.push_back({layer, calibration_cell(entry, "weight"), calibration_cell(entry, "input"),
                    calibration_cell(entry, "output")});
  return format("%s: calibration config (%zu layers)\n", path.c_str(), j.size()) + io::text_table(rows, {});
}

std::string inspect_config_list(const std::string& path, const json& j) {
  const compression::ConfigList list = compression::ConfigList::from_json(j, path);
  std::vector<std::vector<std::string>> rows = {{"#", "selects", "settings"}};
  for (const auto& d : list.dicts()) {
    std::vector<std::string> selects;
    auto add = [&](const char* key, const std::optional<std::vector<std::string>>& names) {
      if (names) selects.push_back(std::string(key) + " " + joined(*names));
    };
    add("op_types", d.op_types);
    add("op_names", d.op_names);
    add("op_partial_names", d.op_partial_names);
    add("op_names_re", d.op_names_re);
    rows.push_back({std::to_string(d.index), (d.exclude ? "exclude " : "") + joined(selects), d.settings.dump()});
  }
  return format("%s: config_list (%zu entries)\n", path.c_str(), list.dicts().size()) + io::text_table(rows, {});
}

bool is_calibration(const json& j) {
  if (!j.is_object() || j.empty()) return false;
  for (const auto& [layer, entry] : j.items()) {
    if (!entry.is_object()) return false;
    bool bits = false;
    for (const auto& [key, value] : entry.items()) bits |= key.size() > 5 && key.ends_with("_bits");
    if (!bits) return false;
  }
  return true;
}

}  // namespace

std::string inspect_json(const std::string& path, const json& j) {
  const std::string expected =
      "'" + path +
      "': expected a Shrink JSON file (pipeline, run record, sensitivity cache, graph, calibration config or config_list)";
  try {
    if (j.is_array()) return inspect_config_list(path, j);
    if (j.is_object() && j.contains("stages") && j.contains("pipeline"))
      return path + ": run record of " + j.at("pipeline").dump() + "\n" +
             pipeline::summary_table(pipeline::RunRecord::from_json(j));
    if (j.is_object() && j.contains("stages")) return inspect_pipeline(path);
    if (j.is_object() && j.value("format", json()) == "shrink.sensitivity") return inspect_sensitivity(path, j);
    if (j.is_object() && j.contains("nodes") && j.contains("output")) return inspect_graph(path, j);
    if (is_calibration(j)) return inspect_calibration(path, j);
  } catch (const json::exception& e) {
    throw ValueError(expected + ", got a malformed one: " + e.what());
  }
  std::vector<std::string> keys;
  if (j.is_object())
    for (const auto& [key, value] : j.items()) keys.push_back(key);
  throw ValueError(expected + ", got " +
                   (j.is_object() ? (keys.empty() ? std::string("an empty object") : "an object with keys " + joined(keys))
                                  : std::string(io::json_kind(j))));
}

}  // namespace shrink::cli
