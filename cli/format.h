#pragma once
/// \file
/// Number formats the `shrink` subcommands print beside io/text_table.h's grouped() and
/// human_bytes().

#include <cstdarg>
#include <cstdio>
#include <string>

namespace shrink::cli {

/// printf-style formatting into a std::string.
inline std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
  std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

/// 0.4567 -> "45.67%".
inline std::string percent(double fraction) { return format("%.2f%%", 100.0 * fraction); }

}  // namespace shrink::cli
