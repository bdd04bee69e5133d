#include "io/state_dict_diff.h"

#include <algorithm>
#include <unordered_map>

namespace shrink::io {
namespace {

/// "a, b, c, ... and 7 more" showing at most `max_listed` of `items`.
template <typename Item, typename Format>
std::string capped_list(const std::vector<Item>& items, std::size_t max_listed, Format format) {
  std::string s;
  const std::size_t shown = std::min(items.size(), max_listed);
  for (std::size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + format(items[i]);
  if (items.size() > shown) s += (shown ? ", ... and " : "... and ") + std::to_string(items.size() - shown) + " more";
  return s;
}

std::string spec_str(const Shape& shape, const std::string& dtype) { return shape_str(shape) + " " + dtype; }

}  // namespace

std::string StateDictDiff::message(std::size_t max_listed) const {
  auto name = [](const std::string& key) { return key; };
  std::string msg;
  auto add = [&](const std::string& part) { msg += (msg.empty() ? "" : "; ") + part; };
  if (!missing.empty()) add("missing keys: " + capped_list(missing, max_listed, name));
  if (!unexpected.empty()) add("unexpected keys: " + capped_list(unexpected, max_listed, name));
  if (!mismatched.empty())
    add("shape/dtype mismatch: " + capped_list(mismatched, max_listed, [](const StateDictMismatch& m) {
          return m.key + " (expected " + spec_str(m.expected_shape, m.expected_dtype) + ", got " +
                 spec_str(m.got_shape, m.got_dtype) + ")";
        }));
  return msg;
}

StateDictDiff diff_entries(const std::vector<EntrySpec>& expected, const std::vector<EntrySpec>& got) {
  std::unordered_map<std::string, const EntrySpec*> by_key;
  for (const EntrySpec& g : got) by_key.emplace(g.key, &g);
  std::unordered_map<std::string, bool> expected_keys;
  for (const EntrySpec& e : expected) expected_keys.emplace(e.key, true);
  StateDictDiff diff;
  for (const EntrySpec& e : expected) {
    const auto it = by_key.find(e.key);
    if (it == by_key.end()) {
      diff.missing.push_back(e.key);
    } else if (it->second->shape != e.shape || it->second->dtype != e.dtype) {
      diff.mismatched.push_back({e.key, e.shape, e.dtype, it->second->shape, it->second->dtype});
    }
  }
  for (const EntrySpec& g : got)
    if (!expected_keys.count(g.key)) diff.unexpected.push_back(g.key);
  return diff;
}

std::vector<EntrySpec> entry_specs(const StateDict& state_dict) {
  std::vector<EntrySpec> specs;
  specs.reserve(state_dict.size());
  for (const auto& [key, t] : state_dict)
    specs.push_back({key, t.defined() ? t.shape() : Shape{}, t.defined() ? std::string(dtype_name(t.dtype())) : "undefined"});
  return specs;
}

StateDictDiff diff_state_dicts(const StateDict& expected, const StateDict& got) {
  return diff_entries(entry_specs(expected), entry_specs(got));
}

}  // namespace shrink::io
