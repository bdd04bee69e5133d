#pragma once
/// \file
/// The subcommands of the `shrink` tool. cli/main.cpp registers each one on the top-level CLI11
/// app and, after parsing, runs the one the user named.
///
/// A subcommand reports bad input — a missing or corrupt file, an unknown model, a value the
/// library refuses — by throwing shrink::Error; main prints it as one line
/// "shrink <command>: <message>" on stderr and exits with status 2 (cli/command_line.h's
/// kUsageError). Output files are written atomically and only after every input was read and
/// validated, so a failed command leaves no file behind.

#include <CLI/CLI.hpp>
#include <functional>

namespace shrink::cli {

/// A registered subcommand: its CLI11 app (to know whether the user chose it) and what runs it.
struct Command {
  CLI::App* app = nullptr;
  std::function<void()> run;
};

/// `shrink inspect <file>`: a table of any Shrink HDF5 or JSON file (cli/inspect_command.cpp).
Command add_inspect_command(CLI::App& shrink);
/// `shrink train`: trains a zoo model on Fashion-MNIST and writes its weights.
Command add_train_command(CLI::App& shrink);
/// `shrink eval`: top-1 and loss of a zoo model (with weights) or a model file on the test set.
Command add_eval_command(CLI::App& shrink);
/// `shrink bench`: batch-1 latency and throughput per batch size of a model.
Command add_bench_command(CLI::App& shrink);
/// `shrink speedup`: shrinks a masked zoo model (ModelSpeedup) and writes the model file.
Command add_speedup_command(CLI::App& shrink);
/// `shrink sensitivity`: per-layer sensitivity curves of a trained zoo model.
Command add_sensitivity_command(CLI::App& shrink);
/// `shrink compress <pipeline.json>`: runs a pipeline file and prints its summary table.
Command add_compress_command(CLI::App& shrink);

}  // namespace shrink::cli
