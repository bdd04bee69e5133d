#include "autograd/grad_mode.h"

#include <atomic>
#include <utility>

namespace shrink {
namespace {
thread_local bool grad_enabled = true;
thread_local std::string scope;
thread_local std::uint64_t scope_call = 0;
std::atomic<std::uint64_t> call_ids{0};
}  // namespace

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

const std::string& current_scope() { return scope; }

std::uint64_t current_scope_call() { return scope_call; }
std::uint64_t next_scope_call_id() { return call_ids.fetch_add(1, std::memory_order_relaxed) + 1; }

ScopeGuard::ScopeGuard(std::string name, std::uint64_t call)
    : previous_(std::exchange(scope, std::move(name))), previous_call_(std::exchange(scope_call, call)) {}
ScopeGuard::~ScopeGuard() {
  scope = std::move(previous_);
  scope_call = previous_call_;
}

}  // namespace shrink
