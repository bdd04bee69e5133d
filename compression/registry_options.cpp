// The registries' shared checks.
#include "compression/registry_options.h"

namespace shrink::compression::detail {

std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void check_option_keys(const nlohmann::json& options, const std::vector<std::string>& allowed,
                       const std::string& call, const std::string& name) {
  SHRINK_CHECK(options.is_null() || options.is_object(), call, ": expected the options as a JSON object, got ",
               options.dump());
  if (!options.is_object()) return;
  for (const auto& [key, value] : options.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    if (allowed.empty()) throw ValueError(call + ": expected no options (" + name + " has none), got '" + key + "'");
    throw ValueError(call + ": expected an option among (" + listed(allowed) + "), got '" + key + "'");
  }
}

}  // namespace shrink::compression::detail
