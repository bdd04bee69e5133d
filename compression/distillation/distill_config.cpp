#include "compression/distillation/distill_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "autograd/error.h"

namespace shrink::compression {
namespace {

using json = nlohmann::json;

const char* kRoot = "distill config";

std::string type_of(const json& j) { return j.type_name(); }

/// Rejects keys outside `known` (which is listed, sorted, in the message).
void check_keys(const json& entry, const std::string& path, const std::string& loss, const std::set<std::string>& known) {
  for (const auto& [key, value] : entry.items()) {
    if (known.contains(key)) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    throw ValueError(path + ": unknown key '" + key + "' for loss '" + loss + "' (known: " + list + ")");
  }
}

double number(const json& entry, const std::string& path, const std::string& key, double fallback) {
  if (!entry.contains(key)) return fallback;
  const json& v = entry.at(key);
  SHRINK_CHECK(v.is_number(), path, ".", key, ": expected a number, got ", v.dump());
  return v.get<double>();
}

std::string module_name(const json& v, const std::string& path) {
  SHRINK_CHECK(v.is_string() && !v.get<std::string>().empty(), path, ": expected a module name (a non-empty string), got ",
               v.dump());
  return v.get<std::string>();
}

std::array<std::string, 2> two_names(const json& v, const std::string& path) {
  SHRINK_CHECK(v.is_array() && v.size() == 2, path, ": expected two module names [first, second], got ", v.dump());
  return {module_name(v[0], path + "[0]"), module_name(v[1], path + "[1]")};
}

DistillLoss parse_loss(const json& entry, const std::string& path) {
  SHRINK_CHECK(entry.is_object(), path, ": expected a JSON object describing a loss, got ", type_of(entry));
  SHRINK_CHECK(entry.contains("loss"), path, ": expected a key 'loss' (soft_label, l2 or fsp), got none");
  const json& kind = entry.at("loss");
  SHRINK_CHECK(kind.is_string(), path, ".loss: expected soft_label, l2 or fsp, got ", kind.dump());
  const std::string name = kind.get<std::string>();
  DistillLoss loss;
  loss.weight = number(entry, path, "weight", 1.0);
  SHRINK_CHECK(loss.weight >= 0, path, ".weight: expected a number >= 0, got ", loss.weight);
  if (name == "soft_label") {
    loss.kind = DistillLoss::Kind::SoftLabel;
    SoftLabelOptions& o = loss.soft_label;
    if (entry.contains("paddle")) {
      SHRINK_CHECK(entry.at("paddle").is_boolean(), path, ".paddle: expected true or false, got ",
                   entry.at("paddle").dump());
      o.paddle = entry.at("paddle").get<bool>();
    }
    if (o.paddle) {
      check_keys(entry, path, "soft_label\" with \"paddle\": true",
                 {"loss", "weight", "alpha", "paddle", "student_temperature", "teacher_temperature"});
    } else {
      check_keys(entry, path, name, {"loss", "weight", "alpha", "paddle", "temperature"});
    }
    o.alpha = number(entry, path, "alpha", o.alpha);
    SHRINK_CHECK(o.alpha >= 0 && o.alpha <= 1, path, ".alpha: expected a number in [0, 1], got ", o.alpha);
    for (auto [key, field] : {std::pair{"temperature", &o.temperature},
                              std::pair{"student_temperature", &o.student_temperature},
                              std::pair{"teacher_temperature", &o.teacher_temperature}}) {
      *field = number(entry, path, key, *field);
      SHRINK_CHECK(*field > 0, path, ".", key, ": expected a number > 0, got ", *field);
    }
  } else if (name == "l2") {
    loss.kind = DistillLoss::Kind::L2;
    check_keys(entry, path, name, {"loss", "weight", "student", "teacher"});
    for (const char* key : {"student", "teacher"})
      SHRINK_CHECK(entry.contains(key), path, ": expected a key '", key, "' (the ", key,
                   " module whose output is compared), got none");
    loss.student = module_name(entry.at("student"), path + ".student");
    loss.teacher = module_name(entry.at("teacher"), path + ".teacher");
  } else if (name == "fsp") {
    loss.kind = DistillLoss::Kind::Fsp;
    check_keys(entry, path, name, {"loss", "weight", "pairs"});
    SHRINK_CHECK(entry.contains("pairs"), path, ": expected a key 'pairs' (a list of {\"student\": [a, b], "
                 "\"teacher\": [a, b]}), got none");
    const json& pairs = entry.at("pairs");
    SHRINK_CHECK(pairs.is_array() && !pairs.empty(), path, ".pairs: expected a non-empty list of pairs, got ",
                 pairs.dump());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const std::string p = path + ".pairs[" + std::to_string(i) + "]";
      const json& pair = pairs[i];
      SHRINK_CHECK(pair.is_object(), p, ": expected {\"student\": [a, b], \"teacher\": [a, b]}, got ", pair.dump());
      for (const auto& [key, value] : pair.items())
        SHRINK_CHECK(key == "student" || key == "teacher", p, ": unknown key '", key, "' (known: student, teacher)");
      for (const char* key : {"student", "teacher"})
        SHRINK_CHECK(pair.contains(key), p, ": expected a key '", key, "' with two module names, got none");
      loss.pairs.push_back({two_names(pair.at("student"), p + ".student"), two_names(pair.at("teacher"), p + ".teacher")});
    }
  } else {
    throw ValueError(path + ".loss: expected soft_label, l2 or fsp, got '" + name + "'");
  }
  return loss;
}

}  // namespace

const char* loss_kind_name(DistillLoss::Kind kind) {
  switch (kind) {
    case DistillLoss::Kind::SoftLabel: return "soft_label";
    case DistillLoss::Kind::L2: return "l2";
    case DistillLoss::Kind::Fsp: return "fsp";
  }
  return "?";
}

DistillConfig DistillConfig::parse(const json& j) {
  SHRINK_CHECK(j.is_array() && !j.empty(), kRoot, ": expected a non-empty JSON list of losses, got ",
               j.is_array() ? "an empty list" : type_of(j));
  DistillConfig config;
  int soft_labels = 0;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string path = std::string(kRoot) + "[" + std::to_string(i) + "]";
    config.losses.push_back(parse_loss(j[i], path));
    if (config.losses.back().kind == DistillLoss::Kind::SoftLabel)
      SHRINK_CHECK(++soft_labels == 1, path, ".loss: expected at most one soft_label loss, got a second one");
  }
  return config;
}

DistillConfig DistillConfig::parse(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw ValueError(std::string(kRoot) + ": malformed JSON (" + e.what() + ")");
  }
  return parse(j);
}

DistillConfig DistillConfig::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(path + ": cannot open the distill config for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IOError(path + ": read error");
  try {
    return parse(text.str());
  } catch (const ValueError& e) {
    throw ValueError(path + ": " + e.what());
  }
}

json DistillConfig::to_json() const {
  json out = json::array();
  for (const DistillLoss& l : losses) {
    json o = {{"loss", loss_kind_name(l.kind)}, {"weight", l.weight}};
    switch (l.kind) {
      case DistillLoss::Kind::SoftLabel:
        o["alpha"] = l.soft_label.alpha;
        if (l.soft_label.paddle) {
          o["paddle"] = true;
          o["student_temperature"] = l.soft_label.student_temperature;
          o["teacher_temperature"] = l.soft_label.teacher_temperature;
        } else {
          o["temperature"] = l.soft_label.temperature;
        }
        break;
      case DistillLoss::Kind::L2:
        o["student"] = l.student;
        o["teacher"] = l.teacher;
        break;
      case DistillLoss::Kind::Fsp:
        o["pairs"] = json::array();
        for (const FspModules& p : l.pairs) o["pairs"].push_back({{"student", p.student}, {"teacher", p.teacher}});
        break;
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace shrink::compression
