#include "autograd/grad_mode.h"

#include <utility>

namespace shrink {
namespace {
thread_local bool grad_enabled = true;
thread_local std::string scope;
}  // namespace

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }

const std::string& current_scope() { return scope; }

ScopeGuard::ScopeGuard(std::string name) : previous_(std::exchange(scope, std::move(name))) {}
ScopeGuard::~ScopeGuard() { scope = std::move(previous_); }

}  // namespace shrink
