#pragma once
/// \file
/// Sequential (children "0", "1", ... run in order) and ModuleList (an indexed holder).

#include <initializer_list>

#include "nn/module.h"

namespace shrink::nn {

class Sequential : public Cloneable<Sequential> {
 public:
  Sequential() : Cloneable("Sequential") {}
  Sequential(std::initializer_list<ModulePtr> modules);
  explicit Sequential(const std::vector<ModulePtr>& modules);
  /// Appends a module named by its position.
  void push_back(ModulePtr module);
  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return named_children().size(); }
  /// The i-th module (negative counts from the end).
  ModulePtr operator[](std::int64_t index) const;
};

class ModuleList : public Cloneable<ModuleList> {
 public:
  ModuleList() : Cloneable("ModuleList") {}
  ModuleList(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr module);
  /// A ModuleList only holds modules: the parent's forward iterates over it.
  Tensor forward(const Tensor& x) override;
  std::size_t size() const { return named_children().size(); }
  ModulePtr operator[](std::int64_t index) const;
};

}  // namespace shrink::nn
