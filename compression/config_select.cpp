// select_layers: a config_list applied to a model for one compressor (rules, matching, warnings).
#include <algorithm>
#include <regex>

#include "autograd/error.h"
#include "autograd/warning.h"
#include "compression/analysis/error_context.h"
#include "compression/config_list.h"

namespace shrink::compression {
namespace {

std::string joined(const std::vector<std::string>& items) { return detail::join_names(items, items.size()); }

bool contains(const std::vector<std::string>& items, const std::string& x) {
  return std::find(items.begin(), items.end(), x) != items.end();
}

std::string where(const ConfigRules& rules, const ConfigDict& d, const std::string& key = "") {
  std::string s = rules.compressor + ": config_list[" + std::to_string(d.index) + "]";
  if (!key.empty()) s += "['" + key + "']";
  return s;
}

/// The compressor-specific checks of one dict: keys, required keys, op types.
void check_against_rules(const ConfigDict& d, const ConfigRules& rules) {
  std::vector<std::string> allowed = {"op_types", "op_names", "op_partial_names", "op_names_re", "exclude"};
  allowed.insert(allowed.end(), rules.keys.begin(), rules.keys.end());
  for (const auto& [key, value] : d.settings.items()) {
    if (contains(rules.keys, key)) continue;
    const auto close = detail::close_names(key, allowed, 1);
    const std::string hint = close.empty() ? "" : " (Hint: did you mean '" + close[0] + "'?)";
    throw ValueError(where(rules, d) + ": unknown key '" + key + "' (allowed keys: " + joined(allowed) + ")" + hint);
  }
  if (d.exclude) return;
  if (!rules.required_one_of.empty()) {
    const bool any = std::any_of(rules.required_one_of.begin(), rules.required_one_of.end(),
                                 [&](const std::string& k) { return d.has(k); });
    SHRINK_CHECK(any, where(rules, d), ": expected one of ", joined(rules.required_one_of),
                 ", got none (an \"exclude\": true dict needs none)");
  }
  if (d.op_types) {
    for (const auto& t : *d.op_types)
      SHRINK_CHECK(t == "default" || contains(rules.op_types, t), where(rules, d, "op_types"), ": ",
                   rules.compressor, " cannot compress '", t, "' (it compresses: ", joined(rules.op_types), ")");
  }
}

/// Whether dict `d` selects module `name` of type `type` (every selector it has must pass).
bool selects(const ConfigDict& d, const std::vector<std::regex>& patterns, const ConfigRules& rules,
             const std::string& name, const std::string& type) {
  if (d.op_types) {
    bool ok = false;
    for (const auto& t : *d.op_types) ok = ok || t == type || (t == "default" && contains(rules.default_op_types, type));
    if (!ok) return false;
  }
  if (d.op_names && !contains(*d.op_names, name)) return false;
  if (d.op_partial_names &&
      std::none_of(d.op_partial_names->begin(), d.op_partial_names->end(),
                   [&](const std::string& p) { return name.find(p) != std::string::npos; }))
    return false;
  if (d.op_names_re &&
      std::none_of(patterns.begin(), patterns.end(), [&](const std::regex& r) { return std::regex_match(name, r); }))
    return false;
  return true;
}

/// Warns about each name selector entry that matches no module name of the model at all.
void warn_unmatched(const ConfigDict& d, const std::vector<std::regex>& patterns,
                    const std::vector<std::pair<std::string, nn::ModulePtr>>& modules) {
  const std::string at = "config_list[" + std::to_string(d.index) + "]";
  if (d.op_names)
    for (const auto& n : *d.op_names)
      if (std::none_of(modules.begin(), modules.end(), [&](const auto& m) { return m.first == n; }))
        warn(at + "['op_names']: '" + n + "' matches no module of the model");
  if (d.op_partial_names)
    for (const auto& p : *d.op_partial_names)
      if (std::none_of(modules.begin(), modules.end(),
                       [&](const auto& m) { return m.first.find(p) != std::string::npos; }))
        warn(at + "['op_partial_names']: '" + p + "' matches no module of the model");
  if (d.op_names_re)
    for (std::size_t i = 0; i < patterns.size(); ++i)
      if (std::none_of(modules.begin(), modules.end(),
                       [&](const auto& m) { return std::regex_match(m.first, patterns[i]); }))
        warn(at + "['op_names_re']: '" + (*d.op_names_re)[i] + "' matches no module of the model");
}

}  // namespace

std::vector<SelectedLayer> select_layers(const nn::Module& model, const ConfigList& config, const ConfigRules& rules) {
  for (const auto& d : config.dicts()) check_against_rules(d, rules);
  std::vector<std::vector<std::regex>> patterns;
  for (const auto& d : config.dicts()) {
    patterns.emplace_back();
    if (d.op_names_re)
      for (const auto& p : *d.op_names_re) patterns.back().emplace_back(p, std::regex::ECMAScript);
  }
  const auto modules = model.named_modules();
  for (std::size_t i = 0; i < config.dicts().size(); ++i) warn_unmatched(config.dicts()[i], patterns[i], modules);

  std::vector<SelectedLayer> out;
  for (const auto& [name, module] : modules) {
    const ConfigDict* last = nullptr;
    for (std::size_t i = 0; i < config.dicts().size(); ++i)
      if (selects(config.dicts()[i], patterns[i], rules, name, module->type_name())) last = &config.dicts()[i];
    if (last == nullptr || last->exclude) continue;
    if (!contains(rules.op_types, module->type_name())) {
      // Named explicitly: the user meant this module, so say it cannot be compressed. Picked by
      // a substring or a pattern: the pattern also covers its activations and pools; skip them.
      SHRINK_CHECK(!(last->op_names && contains(*last->op_names, name)), where(rules, *last, "op_names"), ": '",
                   name, "' is a ", module->type_name(), ", which ", rules.compressor,
                   " cannot compress (it compresses: ", joined(rules.op_types), ")");
      continue;
    }
    out.push_back({name, module->type_name(), module, last});
  }
  SHRINK_CHECK(!out.empty(), rules.compressor,
               ": Nothing is configured to compress, please check your model and config_list (the model's "
               "compressible modules: ",
               [&] {
                 std::vector<std::string> names;
                 for (const auto& [name, module] : modules)
                   if (contains(rules.op_types, module->type_name()))
                     names.push_back(name + " (" + module->type_name() + ")");
                 return detail::join_names(names, 8);
               }(),
               ")");
  return out;
}

}  // namespace shrink::compression
