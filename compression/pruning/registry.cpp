// make_pruner: one table of names, option keys and constructors.
#include "compression/pruning/registry.h"

#include <algorithm>
#include <cstdint>
#include <functional>

#include "autograd/error.h"
#include "compression/pruning/activation_pruners.h"
#include "compression/pruning/slim_pruner.h"
#include "compression/pruning/taylor_pruner.h"
#include "compression/pruning/weight_pruners.h"

namespace shrink::compression {
namespace {

using nlohmann::json;

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// The options of one make_pruner() call, with their keys already checked.
class Options {
 public:
  Options(std::string pruner, const json& options) : pruner_(std::move(pruner)), options_(options) {}

  std::int64_t integer(const std::string& key, std::int64_t fallback) const {
    if (!options_.contains(key)) return fallback;
    const json& v = options_.at(key);
    SHRINK_CHECK(v.is_number_integer() || v.is_number_unsigned(), where(key), ": expected an integer, got ", v.dump());
    return v.get<std::int64_t>();
  }

  double number(const std::string& key, double fallback) const {
    if (!options_.contains(key)) return fallback;
    const json& v = options_.at(key);
    SHRINK_CHECK(v.is_number(), where(key), ": expected a number, got ", v.dump());
    return v.get<double>();
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!options_.contains(key)) return fallback;
    const json& v = options_.at(key);
    SHRINK_CHECK(v.is_boolean(), where(key), ": expected true or false, got ", v.dump());
    return v.get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    if (!options_.contains(key)) return fallback;
    const json& v = options_.at(key);
    SHRINK_CHECK(v.is_string(), where(key), ": expected a string, got ", v.dump());
    return v.get<std::string>();
  }

  DataPrunerOptions data_options() const {
    return {.max_batches = integer("max_batches", 0), .reset_after_update = boolean("reset_after_update", false)};
  }

  ActivationPrunerOptions activation_options() const {
    return {.activation = text("activation", "relu"),
            .max_batches = integer("max_batches", 0),
            .reset_after_update = boolean("reset_after_update", false)};
  }

 private:
  std::string where(const std::string& key) const { return "make_pruner(" + pruner_ + "): option '" + key + "'"; }

  std::string pruner_;
  const json& options_;
};

struct Entry {
  std::string name;
  /// The option keys, as the fields of the pruner's option struct.
  std::vector<std::string> options;
  std::function<std::unique_ptr<Pruner>(nn::ModulePtr, ConfigList, const Options&)> make;
};

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {"level",
       {"balance_block"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         return std::make_unique<LevelPruner>(std::move(m), std::move(c),
                                              LevelPrunerOptions{.balance_block = o.integer("balance_block", 0)});
       }},
      {"l1norm",
       {},
       [](nn::ModulePtr m, ConfigList c, const Options&) -> std::unique_ptr<Pruner> {
         return std::make_unique<L1NormPruner>(std::move(m), std::move(c));
       }},
      {"l2norm",
       {},
       [](nn::ModulePtr m, ConfigList c, const Options&) -> std::unique_ptr<Pruner> {
         return std::make_unique<L2NormPruner>(std::move(m), std::move(c));
       }},
      {"fpgm",
       {},
       [](nn::ModulePtr m, ConfigList c, const Options&) -> std::unique_ptr<Pruner> {
         return std::make_unique<FPGMPruner>(std::move(m), std::move(c));
       }},
      {"slim",
       {"scale"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         return std::make_unique<SlimPruner>(std::move(m), std::move(c), SlimPrunerOptions{.scale = o.number("scale", 1e-4)});
       }},
      {"taylorfo",
       {"max_batches", "reset_after_update"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         return std::make_unique<TaylorFOWeightPruner>(std::move(m), std::move(c), o.data_options());
       }},
      {"apoz",
       {"activation", "max_batches", "reset_after_update"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         return std::make_unique<ActivationAPoZRankPruner>(std::move(m), std::move(c), o.activation_options());
       }},
      {"mean_activation",
       {"activation", "max_batches", "reset_after_update"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         return std::make_unique<ActivationMeanRankPruner>(std::move(m), std::move(c), o.activation_options());
       }},
  };
  return entries;
}

const Entry& entry(const std::string& name) {
  const auto& entries = table();
  const auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.name == name; });
  if (it == entries.end())
    throw ValueError("make_pruner: expected a pruner name (" + listed(pruner_names()) + "), got '" + name + "'");
  return *it;
}

}  // namespace

std::vector<std::string> pruner_names() {
  std::vector<std::string> names;
  for (const auto& e : table()) names.push_back(e.name);
  return names;
}

std::vector<std::string> pruner_options(const std::string& name) { return entry(name).options; }

std::unique_ptr<Pruner> make_pruner(const std::string& name, nn::ModulePtr model, ConfigList config,
                                    const nlohmann::json& options) {
  const Entry& e = entry(name);
  const std::string where = "make_pruner(" + name + ")";
  SHRINK_CHECK(options.is_null() || options.is_object(), where, ": expected the options as a JSON object, got ",
               options.dump());
  if (options.is_object()) {
    for (const auto& [key, value] : options.items()) {
      if (std::find(e.options.begin(), e.options.end(), key) != e.options.end()) continue;
      if (e.options.empty()) throw ValueError(where + ": expected no options (" + name + " has none), got '" + key + "'");
      throw ValueError(where + ": expected an option among (" + listed(e.options) + "), got '" + key + "'");
    }
  }
  return e.make(std::move(model), std::move(config), Options(name, options));
}

}  // namespace shrink::compression
