// Warnings: one process-wide handler, stderr by default.
#include "autograd/warning.h"

#include <cstdio>
#include <mutex>

namespace shrink {
namespace {

std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}

WarningHandler& current_handler() {
  static WarningHandler handler;
  return handler;
}

}  // namespace

void warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(handler_mutex());
  if (current_handler()) {
    current_handler()(message);
  } else {
    std::fprintf(stderr, "shrink warning: %s\n", message.c_str());
  }
}

WarningHandler set_warning_handler(WarningHandler handler) {
  std::lock_guard<std::mutex> lock(handler_mutex());
  WarningHandler previous = std::move(current_handler());
  current_handler() = std::move(handler);
  return previous;
}

WarningCollector::WarningCollector()
    : previous_(set_warning_handler([this](const std::string& m) { messages_.push_back(m); })) {}

WarningCollector::~WarningCollector() { set_warning_handler(std::move(previous_)); }

}  // namespace shrink
