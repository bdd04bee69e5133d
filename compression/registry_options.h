#pragma once
/// \file
/// What the by-name registries (pruning/registry.h, quantization/quantizer_registry.h) share:
/// listing names in messages, checking an options object's keys and finding an entry by name.
/// Internal (a `detail` namespace).

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/error.h"

namespace shrink::compression::detail {

/// "a, b, c".
std::string listed(const std::vector<std::string>& names);

/// Checks that `options` is null or an object whose keys are all in `allowed`: ValueErrors
/// "<call>: expected the options as a JSON object, got ...", "<call>: expected no options
/// (<name> has none), got 'k'" and "<call>: expected an option among (a, b), got 'k'".
void check_option_keys(const nlohmann::json& options, const std::vector<std::string>& allowed,
                       const std::string& call, const std::string& name);

/// The entry called `name` of `entries` (anything with a `name` member), or a ValueError
/// "<call>: expected a <what> (names...), got 'x'".
template <typename E>
const E& find_entry(const std::vector<E>& entries, const std::string& name, const std::string& call,
                    const std::string& what) {
  const auto it = std::find_if(entries.begin(), entries.end(), [&](const E& e) { return e.name == name; });
  if (it == entries.end()) {
    std::vector<std::string> names;
    for (const auto& e : entries) names.push_back(e.name);
    throw ValueError(call + ": expected a " + what + " (" + listed(names) + "), got '" + name + "'");
  }
  return *it;
}

}  // namespace shrink::compression::detail
