#pragma once
/// \file
/// HookHandle: the removable registration returned by every hook API (tensor gradient hooks,
/// module forward hooks). Removing twice, or after the owner is gone, is a no-op.

#include <functional>
#include <memory>
#include <utility>

namespace shrink {

/// A handle to a registered hook; `remove()` unregisters it. Copies share the registration.
class HookHandle {
 public:
  HookHandle() = default;
  explicit HookHandle(std::function<void()> remover)
      : remover_(std::make_shared<std::function<void()>>(std::move(remover))) {}

  /// Unregisters the hook. Safe to call more than once.
  void remove() {
    if (remover_ && *remover_) {
      auto fn = std::move(*remover_);
      *remover_ = nullptr;
      fn();
    }
  }
  /// True until remove() has been called (on this handle or a copy of it).
  bool active() const { return remover_ && *remover_; }

 private:
  std::shared_ptr<std::function<void()>> remover_;
};

}  // namespace shrink
