#pragma once
/// \file
/// Warnings: things the user should know that are not errors (a config_list name that matches no
/// module, a deprecated key...). They go to one handler, by default a line on stderr:
///
///     shrink warning: config_list[0]['op_names']: 'fc9' matches no module of the model
///
/// Programs that log elsewhere (and tests that check a warning) install their own handler.

#include <functional>
#include <string>
#include <vector>

namespace shrink {

/// Receives the text of one warning (no prefix, no newline).
using WarningHandler = std::function<void(const std::string& message)>;

/// Sends `message` to the current handler.
void warn(const std::string& message);

/// Installs `handler` (an empty one restores the stderr default) and returns the previous one.
/// The handler is process-wide; calls to warn() from several threads are serialised.
WarningHandler set_warning_handler(WarningHandler handler);

/// Collects the warnings issued during its lifetime instead of printing them (restores the
/// previous handler when destroyed). For tests and for programs that report warnings later.
class WarningCollector {
 public:
  WarningCollector();
  ~WarningCollector();
  WarningCollector(const WarningCollector&) = delete;
  WarningCollector& operator=(const WarningCollector&) = delete;
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  std::vector<std::string> messages_;
  WarningHandler previous_;
};

}  // namespace shrink
