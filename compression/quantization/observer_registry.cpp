// The observer registry: one factory per name.
#include "compression/quantization/observer_registry.h"

#include <functional>
#include <utility>

#include "autograd/error.h"
#include "compression/quantization/observer_histogram.h"
#include "compression/quantization/observers_paddle.h"
#include "compression/quantization/observers_search.h"

namespace shrink::compression {
namespace {

using Factory = std::function<std::unique_ptr<Observer>(const ObserverOptions&)>;

template <typename T>
Factory factory() {
  return [](const ObserverOptions& o) -> std::unique_ptr<Observer> { return std::make_unique<T>(o); };
}

const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = {
      {"min_max", factory<MinMaxObserver>()},
      {"moving_average_min_max", factory<MovingAverageMinMaxObserver>()},
      {"histogram", factory<HistogramObserver>()},
      {"histogram_torch113",
       [](const ObserverOptions& o) -> std::unique_ptr<Observer> {
         return std::make_unique<HistogramObserver>(o, HistogramRange::Truncated);
       }},
      {"percentile", factory<PercentileObserver>()},
      {"mse", factory<MseObserver>()},
      {"abs_max", factory<AbsMaxObserver>()},
      {"channel_wise_abs_max", factory<ChannelWiseAbsMaxObserver>()},
      {"range_abs_max", factory<RangeAbsMaxObserver>()},
      {"moving_average_abs_max", factory<MovingAverageAbsMaxObserver>()},
  };
  return entries;
}

}  // namespace

std::vector<std::string> observer_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Observer> make_observer(const std::string& name, const ObserverOptions& options) {
  for (const auto& [known, make] : registry())
    if (known == name) return make(options);
  std::string listed;
  for (const auto& n : observer_names()) listed += (listed.empty() ? "" : ", ") + n;
  throw ValueError("make_observer: expected an observer name (" + listed + "), got '" + name + "'");
}

}  // namespace shrink::compression
