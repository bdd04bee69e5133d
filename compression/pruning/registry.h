#pragma once
/// \file
/// The pruners and the schedules around them by name: what a command line or a pipeline file
/// uses to build one.
///
/// \code
///   auto pruner = compression::make_pruner("level", model, ConfigList::from_file("level_mlp_80.json"),
///                                          {{"balance_block", 4}});   // LevelPruner, 2:4 at 0.5
///   pruner->compress();
/// \endcode
///
/// Names are NNI's algorithm names in lower case: "level", "l1norm", "l2norm", "fpgm"; the
/// data-driven ones as NNI's iterative pruners name them: "slim", "taylorfo", "apoz",
/// "mean_activation"; "movement" and "admm" (option "criterion": "level", "l1norm" or "l2norm").
/// Options are the fields of the pruner's option struct as a JSON object (LevelPrunerOptions ->
/// {"balance_block": 4}); a pruner without an option struct takes none. The schedules "agp",
/// "linear" and "lottery" wrap one of them (make_scheduled_pruner). An unknown name or option key
/// is a ValueError listing the known ones; a value of the wrong type is a ValueError naming it.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compression/config_list.h"
#include "compression/pruning/pruner.h"
#include "compression/pruning/scheduled_pruners.h"
#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"

namespace shrink::compression {

/// Every name make_pruner() knows, in a fixed order.
std::vector<std::string> pruner_names();

/// The option keys pruner `name` accepts (empty when it has none); ValueError for an unknown name.
std::vector<std::string> pruner_options(const std::string& name);

/// A new pruner `name` on `model` with `config` and `options` (a JSON object or null). It is not
/// compressed yet: call compress(). Checks the name and the options; the config_list is checked by
/// compress() as usual.
std::unique_ptr<Pruner> make_pruner(const std::string& name, nn::ModulePtr model, ConfigList config,
                                    const nlohmann::json& options = {});

/// Every schedule name make_scheduled_pruner() knows: "agp", "linear", "lottery" (LotteryTicket).
std::vector<std::string> scheduled_pruner_names();

/// The option keys every schedule accepts: the fields of ScheduleOptions ("total_iteration",
/// "frequency", "start", and "unit": "epoch" or "step").
std::vector<std::string> scheduled_pruner_options();

/// A new schedule `name` around `inner` (a pruner from make_pruner(), not compressed yet), with
/// `options` (a JSON object or null). LotteryTicket rewinds `optimizer` and `scheduler` (either may
/// be null) after each round; the other schedules ignore them. Unknown names and option keys are
/// ValueErrors listing the known ones.
///
/// \code
///   auto agp = compression::make_scheduled_pruner(
///       "agp", compression::make_pruner("level", model, config), {{"total_iteration", 4}});
/// \endcode
std::unique_ptr<ScheduledPruner> make_scheduled_pruner(const std::string& name, std::shared_ptr<Pruner> inner,
                                                       const nlohmann::json& options = {},
                                                       optim::Optimizer* optimizer = nullptr,
                                                       optim::LRScheduler* scheduler = nullptr);

}  // namespace shrink::compression
