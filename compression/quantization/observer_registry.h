#pragma once
/// \file
/// Observers by name: what a config_list's `observer` key selects.
///
/// \code
///   compression::ObserverOptions o;
///   o.scheme = compression::QuantScheme::Symmetric;
///   auto obs = compression::make_observer("moving_average_abs_max", o);
/// \endcode
///
/// Names: "min_max", "moving_average_min_max" (observers.h), "histogram",
/// "histogram_torch113" (PyTorch 1.13's histogram range; observer_histogram.h), "percentile", "mse"
/// (observers_search.h), "abs_max", "channel_wise_abs_max", "range_abs_max",
/// "moving_average_abs_max" (observers_paddle.h). Each observer checks its options as its
/// constructor documents.

#include <memory>
#include <string>
#include <vector>

#include "compression/quantization/observers.h"

namespace shrink::compression {

/// Every name make_observer() knows, in a fixed order.
std::vector<std::string> observer_names();

/// A new observer `name` with `options`. ValueError "make_observer: expected an observer name
/// (<the names>), got '<name>'" for an unknown name.
std::unique_ptr<Observer> make_observer(const std::string& name, const ObserverOptions& options = {});

}  // namespace shrink::compression
