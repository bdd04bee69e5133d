#pragma once
/// \file
/// Sequential (children "0", "1", ... run in order) and ModuleList (an indexed holder).

#include <concepts>
#include <initializer_list>
#include <type_traits>

#include "nn/module.h"
#include "nn/modules/functional.h"

namespace shrink::nn {

/// What Sequential accepts: a module, or a function Tensor(const Tensor&) (wrapped in a
/// Functional module).
class SequentialItem {
 public:
  template <typename M>
    requires std::derived_from<M, Module>
  SequentialItem(std::shared_ptr<M> module) : module_(std::move(module)) {}  // NOLINT: implicit on purpose
  template <typename F>
    requires std::is_invocable_r_v<Tensor, F&, const Tensor&>
  SequentialItem(F fn) : module_(std::make_shared<Functional>(Functional::Function(std::move(fn)))) {}  // NOLINT
  const ModulePtr& module() const { return module_; }

 private:
  ModulePtr module_;
};

class Sequential : public Cloneable<Sequential> {
 public:
  Sequential() : Cloneable("Sequential") {}
  Sequential(std::initializer_list<SequentialItem> items);
  explicit Sequential(const std::vector<ModulePtr>& modules);
  /// Appends a module (or a function, wrapped in Functional) named by its position.
  void push_back(const SequentialItem& item);
  std::size_t size() const { return named_children().size(); }
  /// The i-th module (negative counts from the end).
  ModulePtr operator[](std::int64_t index) const;
 protected:
  Tensor forward(const Tensor& x) override;
};

class ModuleList : public Cloneable<ModuleList> {
 public:
  ModuleList() : Cloneable("ModuleList") {}
  ModuleList(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr module);
  /// A ModuleList only holds modules: the parent's forward iterates over it.
  std::size_t size() const { return named_children().size(); }
  ModulePtr operator[](std::int64_t index) const;
 protected:
  Tensor forward(const Tensor& x) override;
};

}  // namespace shrink::nn
