#pragma once
/// \file
/// StateDict: the ordered name -> tensor map that modules, optimizers, HDF5 files and masks
/// exchange. Names are dotted (`features.0.weight`) and keep their insertion order, like
/// PyTorch's OrderedDict state_dict.

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::io {

class StateDict {
 public:
  using Entry = std::pair<std::string, Tensor>;

  /// Adds `name`; throws ValueError if it is already present.
  void insert(const std::string& name, const Tensor& tensor);
  /// Adds or replaces `name` (a replaced entry keeps its position).
  void set(const std::string& name, const Tensor& tensor);
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  /// The tensor named `name`; throws IndexError listing a few present keys when absent.
  const Tensor& at(const std::string& name) const&;
  /// On a temporary (`model.state_dict().at("w")`) the tensor is returned by value: a reference
  /// would point into the destroyed StateDict. Tensor is a shared handle, so this copies no data.
  Tensor at(const std::string& name) const&&;
  /// Removes `name` if present; returns whether it was.
  bool erase(const std::string& name);

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> keys() const;
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace shrink::io
