#include "io/state_dict.h"

namespace shrink::io {

void StateDict::insert(const std::string& name, const Tensor& tensor) {
  SHRINK_CHECK(!contains(name), "StateDict::insert: expected a new key, got duplicate '", name, "'");
  index_.emplace(name, entries_.size());
  entries_.emplace_back(name, tensor);
}

void StateDict::set(const std::string& name, const Tensor& tensor) {
  auto it = index_.find(name);
  if (it == index_.end()) {
    insert(name, tensor);
  } else {
    entries_[it->second].second = tensor;
  }
}

const Tensor& StateDict::at(const std::string& name) const& {
  auto it = index_.find(name);
  if (it == index_.end()) {
    std::string some;
    for (std::size_t i = 0; i < entries_.size() && i < 5; ++i) some += (i ? ", " : "") + entries_[i].first;
    if (entries_.size() > 5) some += ", ...";
    throw IndexError("StateDict: no key '" + name + "' (" + std::to_string(entries_.size()) + " keys: " + some + ")");
  }
  return entries_[it->second].second;
}

Tensor StateDict::at(const std::string& name) const&& { return static_cast<const StateDict&>(*this).at(name); }

bool StateDict::erase(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return false;
  const std::size_t pos = it->second;
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(pos));
  index_.erase(it);
  for (auto& [key, idx] : index_)
    if (idx > pos) --idx;
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> k;
  k.reserve(entries_.size());
  for (const auto& e : entries_) k.push_back(e.first);
  return k;
}

}  // namespace shrink::io
