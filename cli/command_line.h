#pragma once
/// \file
/// Command-line parsing shared by the `shrink` tool and the example programs (CLI11), with the
/// exit statuses of a Unix tool: 0 after `--help`, 2 after a usage error. The examples print
/// one line on stderr naming the problem, followed by where to find the usage; `shrink` prints
/// exactly one line (error_line()).

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace shrink::cli {

/// Exit status of a command-line usage error (as getopt-based tools and Python's argparse use).
inline constexpr int kUsageError = 2;

/// Parses argv into `app`. Returns nothing when the program should go on; otherwise the status
/// it should exit with: 0 after printing the help for `--help`, kUsageError after a usage error.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints the help on stdout, returns 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << "\nRun with --help for the usage.\n";
    return kUsageError;
  }
}

/// A check for numeric options: accepts values > 0 (or >= 0 when `allow_zero`), and otherwise
/// says "expected a number > 0, got -1" (CLI11's PositiveNumber would print the range of a double).
inline CLI::Validator positive(bool allow_zero = false) {
  return CLI::Validator(
      [allow_zero](std::string& input) -> std::string {
        double value = 0;
        const bool number = CLI::detail::lexical_cast(input, value);
        if (number && (value > 0 || (allow_zero && value == 0))) return {};
        return std::string("expected a number ") + (allow_zero ? ">= 0" : "> 0") + ", got " + input;
      },
      allow_zero ? "NONNEGATIVE" : "POSITIVE");
}

/// "<who>: <message>" as one line: every line break of `message` (a library message listing
/// several problems) becomes "; ".
inline std::string error_line(const std::string& who, std::string_view message) {
  std::string line = who + ": ";
  for (std::size_t i = 0; i < message.size(); ++i) {
    if (message[i] != '\n') {
      line += message[i];
    } else if (i + 1 < message.size()) {
      line += "; ";
    }
  }
  return line;
}

/// A check for file arguments: the path names an existing regular file (or a link to one), and
/// otherwise says "expected an existing file, got 'x.h5'" (or "got the directory 'x'").
inline CLI::Validator existing_file() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        const CLI::detail::path_type type = CLI::detail::check_path(input.c_str());
        if (type == CLI::detail::path_type::file) return {};
        if (type == CLI::detail::path_type::directory) return "expected a file, got the directory '" + input + "'";
        return "expected an existing file, got '" + input + "'";
      },
      "FILE");
}

/// Reports a usage error found after parsing (e.g. two options that need each other) and
/// returns kUsageError.
inline int usage_error(const CLI::App& app, const std::string& message) {
  std::cerr << app.get_name() << ": " << message << "\nRun with --help for the usage.\n";
  return kUsageError;
}

}  // namespace shrink::cli
