// make_pruner and make_scheduled_pruner: tables of names, option keys and constructors.
#include "compression/pruning/registry.h"

#include <algorithm>
#include <cstdint>
#include <functional>

#include "autograd/error.h"
#include "compression/pruning/activation_pruners.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/movement_pruner.h"
#include "compression/pruning/slim_pruner.h"
#include "compression/pruning/scheduled_pruners.h"
#include "compression/pruning/taylor_pruner.h"
#include "compression/pruning/weight_pruners.h"
#include "compression/registry_options.h"

namespace shrink::compression {
namespace {

using nlohmann::json;
using detail::check_option_keys;
using detail::find_entry;
using detail::listed;

/// The options of one make_pruner() call, with their keys already checked.
class Options {
 public:
  /// `call` names the call in messages: "make_pruner(level)".
  Options(std::string call, const json& options) : call_(std::move(call)), options_(options) {}

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

  /// text() that must be one of `allowed`.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) const {
    const std::string value = text(key, fallback);
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
      throw ValueError(where(key) + ": expected one of (" + listed(allowed) + "), got '" + value + "'");
    return value;
  }

  ScheduleOptions schedule_options() const {
    const ScheduleOptions d;
    return {.total_iteration = integer("total_iteration", d.total_iteration),
            .frequency = integer("frequency", d.frequency),
            .start = integer("start", d.start),
            .unit = choice("unit", "epoch", {"epoch", "step"}) == "step" ? ScheduleUnit::Step : ScheduleUnit::Epoch};
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
  std::string where(const std::string& key) const { return call_ + ": option '" + key + "'"; }

  std::string call_;
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
      {"movement",
       {"warm_up_step", "cool_down_beginning_step"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         const MovementPrunerOptions d;
         return std::make_unique<MovementPruner>(
             std::move(m), std::move(c),
             MovementPrunerOptions{.warm_up_step = o.integer("warm_up_step", d.warm_up_step),
                                   .cool_down_beginning_step =
                                       o.integer("cool_down_beginning_step", d.cool_down_beginning_step)});
       }},
      {"admm",
       {"rho", "iterations", "training_epochs", "criterion"},
       [](nn::ModulePtr m, ConfigList c, const Options& o) -> std::unique_ptr<Pruner> {
         const ADMMPrunerOptions d;
         const std::string criterion = o.choice("criterion", "level", {"level", "l1norm", "l2norm"});
         return std::make_unique<ADMMPruner>(
             std::move(m), std::move(c),
             ADMMPrunerOptions{.rho = o.number("rho", d.rho),
                               .iterations = o.integer("iterations", d.iterations),
                               .training_epochs = o.integer("training_epochs", d.training_epochs),
                               .criterion = criterion == "l1norm"   ? ADMMCriterion::L1Norm
                                            : criterion == "l2norm" ? ADMMCriterion::L2Norm
                                                                    : ADMMCriterion::Level});
       }},
  };
  return entries;
}

const std::vector<std::string> kScheduleKeys = {"total_iteration", "frequency", "start", "unit"};

struct ScheduleEntry {
  std::string name;
  std::function<std::unique_ptr<ScheduledPruner>(std::shared_ptr<Pruner>, const Options&, optim::Optimizer*,
                                                 optim::LRScheduler*)>
      make;
};

const std::vector<ScheduleEntry>& schedule_table() {
  static const std::vector<ScheduleEntry> entries = {
      {"agp",
       [](std::shared_ptr<Pruner> inner, const Options& o, optim::Optimizer*,
          optim::LRScheduler*) -> std::unique_ptr<ScheduledPruner> {
         return std::make_unique<AGPPruner>(std::move(inner), o.schedule_options());
       }},
      {"linear",
       [](std::shared_ptr<Pruner> inner, const Options& o, optim::Optimizer*,
          optim::LRScheduler*) -> std::unique_ptr<ScheduledPruner> {
         return std::make_unique<LinearPruner>(std::move(inner), o.schedule_options());
       }},
      {"lottery",
       [](std::shared_ptr<Pruner> inner, const Options& o, optim::Optimizer* optimizer,
          optim::LRScheduler* scheduler) -> std::unique_ptr<ScheduledPruner> {
         return std::make_unique<LotteryTicketPruner>(
             std::move(inner),
             LotteryTicketOptions{
                 .schedule = o.schedule_options(), .optimizer = optimizer, .scheduler = scheduler, .on_reset = {}});
       }},
  };
  return entries;
}

const Entry& entry(const std::string& name) { return find_entry(table(), name, "make_pruner", "pruner name"); }

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
  const std::string call = "make_pruner(" + name + ")";
  check_option_keys(options, e.options, call, name);
  return e.make(std::move(model), std::move(config), Options(call, options));
}

std::vector<std::string> scheduled_pruner_names() {
  std::vector<std::string> names;
  for (const auto& e : schedule_table()) names.push_back(e.name);
  return names;
}

std::vector<std::string> scheduled_pruner_options() { return kScheduleKeys; }

std::unique_ptr<ScheduledPruner> make_scheduled_pruner(const std::string& name, std::shared_ptr<Pruner> inner,
                                                       const nlohmann::json& options, optim::Optimizer* optimizer,
                                                       optim::LRScheduler* scheduler) {
  const ScheduleEntry& e = find_entry(schedule_table(), name, "make_scheduled_pruner", "schedule name");
  const std::string call = "make_scheduled_pruner(" + name + ")";
  check_option_keys(options, kScheduleKeys, call, name);
  return e.make(std::move(inner), Options(call, options), optimizer, scheduler);
}

}  // namespace shrink::compression
