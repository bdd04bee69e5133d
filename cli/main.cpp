// shrink: the command-line tool of Shrink — train, evaluate, inspect, benchmark, analyse and
// shrink models of the zoo on Fashion-MNIST (docs: README.md, "The shrink tool").
//
//   shrink train --model naive --epochs 10 --out naive.h5
//   shrink eval --model naive --weights naive.h5
//   shrink inspect naive.h5
//
// Exit status: 0 on success (and after --help), 2 on bad input (a usage error, a missing or
// corrupt file, an unknown model, a value the library refuses) with one line
// "shrink <command>: <message>" on stderr, 1 on an internal error.
#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "cli/command_line.h"
#include "cli/commands.h"

using namespace shrink;

int main(int argc, char** argv) {
  CLI::App app{"Shrink: train, compress, inspect and benchmark neural networks on the CPU.", "shrink"};
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  const std::vector<cli::Command> commands = {cli::add_inspect_command(app), cli::add_train_command(app),
                                              cli::add_eval_command(app),    cli::add_bench_command(app),
                                              cli::add_speedup_command(app), cli::add_sensitivity_command(app),
                                              cli::add_compress_command(app)};

  // Messages name the subcommand the user typed ("shrink train: ..."), also for parse errors.
  std::string who = "shrink";
  std::string names;
  for (const auto& command : commands) {
    names += (names.empty() ? "" : ", ") + command.app->get_name();
    if (argc > 1 && command.app->get_name() == argv[1]) who += std::string(" ") + argv[1];
  }
  if (argc > 1 && who == "shrink" && argv[1][0] != '-') {
    std::cerr << cli::error_line(who, std::string("expected a command (") + names + "), got '" + argv[1] +
                                          "' (see 'shrink --help')")
              << "\n";
    return cli::kUsageError;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << cli::error_line(who, std::string(e.what()) + " (see '" + who + " --help')") << "\n";
    return cli::kUsageError;
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      command.run();
      return 0;
    } catch (const InternalError& e) {
      std::cerr << cli::error_line(who, e.what()) << "\n";
      return 1;
    } catch (const Error& e) {
      std::cerr << cli::error_line(who, e.what()) << "\n";
      return cli::kUsageError;
    } catch (const std::exception& e) {
      std::cerr << cli::error_line(who, e.what()) << "\n";
      return 1;
    }
  }
  return 1;  // unreachable: require_subcommand(1) made the parse fail without a subcommand
}
