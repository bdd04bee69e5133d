#include "io/checkpoint_meta.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace shrink::io {
namespace {

using nlohmann::json;

/// The top-level fields of meta.
const char* const kMetaFields[] = {"epoch", "optimizer", "scheduler", "rng", "compressor", "extra"};

/// Checks one field of meta and names it in errors.
class MetaReader {
 public:
  explicit MetaReader(std::string prefix) : prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& expected, const std::string& got) const {
    throw IOError(prefix_ + "expected " + field + " to be " + expected + ", got " + got);
  }
  [[noreturn]] void fail(const std::string& field, const std::string& expected, const json& got) const {
    fail(field, expected, std::string(got.type_name()));
  }

  /// An integer in [min, INT64_MAX] (JSON integers beyond int64 are parsed as unsigned).
  std::int64_t integer(const json& j, const std::string& field, std::int64_t min) const {
    const std::string expected = "an integer >= " + std::to_string(min);
    if (!j.is_number_integer()) fail(field, expected, j);
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      fail(field, expected, std::to_string(j.get<std::uint64_t>()));
    const std::int64_t v = j.get<std::int64_t>();
    if (v < min) fail(field, expected, std::to_string(v));
    return v;
  }

  /// A finite number >= 0.
  void non_negative(const json& j, const std::string& field) const {
    if (!j.is_number()) fail(field, "a finite number >= 0", j);
    const double v = j.get<double>();
    if (!std::isfinite(v) || v < 0) fail(field, "a finite number >= 0", json(v).dump());
  }

 private:
  std::string prefix_;
};

void read_groups(const json& groups, const MetaReader& r) {
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string field = "'optimizer.groups[" + std::to_string(g) + "]";
    const json& group = groups[g];
    if (!group.is_object()) r.fail(field + "'", "an object", group);
    if (!group.contains("params") || !group["params"].is_array())
      r.fail(field + ".params'", "an array of parameter names", group.value("params", json()));
    for (const json& name : group["params"])
      if (!name.is_string()) r.fail(field + ".params'", "an array of parameter names", "a " + std::string(name.type_name()));
    for (const auto& [key, value] : group.items())
      if (key != "params") r.non_negative(value, field + "." + key + "'");
  }
}

}  // namespace

std::size_t json_nesting_depth(const std::string& text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char ch : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

json checkpoint_meta(const Checkpoint& c) {
  json meta = json::object();
  meta["epoch"] = c.epoch;
  meta["optimizer"] = c.optimizer_groups ? json{{"groups", *c.optimizer_groups}} : json();
  meta["scheduler"] = c.scheduler_last_epoch ? json{{"last_epoch", *c.scheduler_last_epoch}} : json();
  meta["rng"] = json::object();
  for (const auto& [name, state] : c.rng) meta["rng"][name] = state;
  meta["compressor"] = c.compressor;
  meta["extra"] = c.extra;
  return meta;
}

void parse_checkpoint_meta(const std::string& text, const std::string& prefix, Checkpoint& c) {
  const MetaReader r(prefix);
  if (const std::size_t depth = json_nesting_depth(text, kMaxMetaDepth); depth > kMaxMetaDepth)
    throw IOError(prefix + "expected JSON nested at most " + std::to_string(kMaxMetaDepth) + " levels deep, got more");
  json meta;
  try {
    meta = json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for numbers beyond double range such as 1e400.
    throw IOError(prefix + "expected JSON, got a parse error (" + e.what() + ")");
  }
  if (!meta.is_object()) r.fail("the meta", "an object", meta);
  for (const auto& [key, value] : meta.items())
    if (std::find(std::begin(kMetaFields), std::end(kMetaFields), key) == std::end(kMetaFields))
      throw IOError(prefix + "expected only the fields epoch, optimizer, scheduler, rng, compressor, extra, got '" +
                    key + "'");
  if (!meta.contains("epoch") || !meta["epoch"].is_number_integer())
    r.fail("'epoch'", "an integer", meta.value("epoch", json()));
  c.epoch = r.integer(meta["epoch"], "'epoch'", 0);

  const json optimizer = meta.value("optimizer", json());
  if (!optimizer.is_null()) {
    if (!optimizer.is_object() || !optimizer.contains("groups") || !optimizer["groups"].is_array())
      r.fail("'optimizer'", "null or an object with an array 'groups'",
             optimizer.is_object() ? optimizer.value("groups", json()) : optimizer);
    read_groups(optimizer["groups"], r);
    c.optimizer_groups = optimizer["groups"];
  }
  const json scheduler = meta.value("scheduler", json());
  if (!scheduler.is_null()) {
    if (!scheduler.is_object() || !scheduler.contains("last_epoch") || !scheduler["last_epoch"].is_number_integer())
      r.fail("'scheduler'", "null or an object with an integer 'last_epoch'",
             scheduler.is_object() ? scheduler.value("last_epoch", json()) : scheduler);
    c.scheduler_last_epoch = r.integer(scheduler["last_epoch"], "'scheduler.last_epoch'", 0);
  }
  const json rng = meta.value("rng", json::object());
  if (!rng.is_object()) r.fail("'rng'", "an object of strings", rng);
  for (const auto& [name, state] : rng.items()) {
    if (!state.is_string()) r.fail("'rng." + name + "'", "a string", state);
    c.rng[name] = state.get<std::string>();
  }
  c.compressor = meta.value("compressor", json());
  c.extra = meta.value("extra", json());
}

}  // namespace shrink::io
