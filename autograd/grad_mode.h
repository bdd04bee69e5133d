#pragma once
/// \file
/// Thread-local switches that affect recording: grad mode (NoGradGuard) and the module scope
/// stamped on every recorded Node (pushed by nn::Module::operator()).

#include <cstdint>
#include <string>

namespace shrink {

/// Whether ops record a graph on this thread (true by default).
class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// RAII: turns recording off on this thread for its lifetime (like torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// RAII: turns recording on (inside a NoGradGuard) for its lifetime.
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

/// The dotted name of the module whose forward is running on this thread ("" at top level).
const std::string& current_scope();
/// The id of the module call whose forward is running on this thread (0 at top level). Every
/// call of a module gets a new id, so two calls of one module (a shared block) are told apart.
std::uint64_t current_scope_call();
/// A fresh, process-wide unique module-call id (never 0).
std::uint64_t next_scope_call_id();

/// RAII: enters module scope `name` (a full dotted name) with call id `call` for its lifetime.
class ScopeGuard {
 public:
  explicit ScopeGuard(std::string name, std::uint64_t call = 0);
  ~ScopeGuard();
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;

 private:
  std::string previous_;
  std::uint64_t previous_call_;
};

}  // namespace shrink
