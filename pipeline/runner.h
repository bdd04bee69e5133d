#pragma once
/// \file
/// run_pipeline(): runs a validated PipelineSpec stage by stage on Fashion-MNIST, writing every
/// artefact, a checkpoint after every stage and epoch, and run.json (run_record.h) into the
/// output directory; `resume` continues an interrupted run exactly where its last checkpoint was.
/// A distill stage changes the loss of the epochs it covers (pipeline/stages/distill_stage.cpp);
/// a stage that is a distill stage's teacher_stage leaves its model as `<stage>.teacher.h5`.
///
/// \code
///   auto spec = pipeline::PipelineSpec::from_file("examples/configs/fmnist_demo.json");
///   pipeline::RunRecord record = pipeline::run_pipeline(spec, {.output_dir = "demo_run"});
///   std::cout << pipeline::summary_table(record);
/// \endcode

#include <iosfwd>
#include <optional>
#include <string>

#include "pipeline/pipeline_spec.h"
#include "pipeline/run_record.h"

namespace shrink::pipeline {

struct RunOptions {
  /// Where artefacts, checkpoints, run.json and report.html go; created when the run starts.
  std::string output_dir = "shrink_run";
  /// Continue from the checkpoint in output_dir (StateError when there is none, or when it was
  /// written for a different pipeline).
  bool resume = false;
  /// Progress bars and per-stage lines; null = std::cout.
  std::ostream* out = nullptr;
  /// Progress bars (true) or plain lines (false); default: whether `out` is a terminal.
  std::optional<bool> interactive;
  /// Stop (as if interrupted) after this many completed epochs of the timeline, right before the
  /// next epoch would start (the stages without epochs in between still run); for tests of
  /// --resume. What the output directory then holds is what a normal run holds at that point:
  /// checkpoint.h5 and run.json of the last checkpoint, the files of the finished stages; only
  /// report.html is not written, also when no epoch is left (the run then ends complete without
  /// it). The returned record is the one in run.json. Empty = run to the end.
  std::optional<std::int64_t> stop_after_epochs;
};

/// Runs `spec`. Inputs are checked before anything is written (the dataset's files, the model,
/// the weights): on bad input nothing is left in output_dir. Returns the record also saved as
/// output_dir/run.json.
RunRecord run_pipeline(const PipelineSpec& spec, const RunOptions& options);

}  // namespace shrink::pipeline
