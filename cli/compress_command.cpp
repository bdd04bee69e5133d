// shrink compress <pipeline.json>: runs a compression pipeline (pipeline/runner.h) — the whole
// file is validated first — and prints its summary table; the output directory receives the
// artefacts, checkpoints, run.json and report.html. --resume continues an interrupted run.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/runner.h"
#include "pipeline/summary_table.h"

namespace shrink::cli {
namespace {

struct CompressArgs {
  std::string pipeline;
  pipeline::RunOptions options;
};

void run_compress(const CompressArgs& args) {
  const pipeline::PipelineSpec spec = pipeline::PipelineSpec::from_file(args.pipeline);
  const pipeline::RunRecord record = pipeline::run_pipeline(spec, args.options);
  std::printf("\n%s", pipeline::summary_table(record).c_str());
  const bool finished = record.stages.size() == spec.stages.size() && record.stages.back().done;
  if (finished) {
    std::printf("run.json and report.html written to %s\n", args.options.output_dir.c_str());
  } else {
    std::printf("stopped after %lld of %lld epochs; run.json and the checkpoint are in %s: continue with\n"
                "  shrink compress %s --out %s --resume\n",
                static_cast<long long>(*args.options.stop_after_epochs), static_cast<long long>(spec.total_epochs),
                args.options.output_dir.c_str(), args.pipeline.c_str(), args.options.output_dir.c_str());
  }
}

}  // namespace

Command add_compress_command(CLI::App& shrink) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* app = shrink.add_subcommand(
      "compress", "Run a compression pipeline file (train, prune, distill, quantize, speedup, export stages)");
  app->add_option("pipeline", args->pipeline, "The pipeline file (JSON; e.g. examples/configs/fmnist_demo.json)")
      ->required()
      ->check(existing_file());
  app->add_option("--out", args->options.output_dir, "Output directory (artefacts, checkpoints, run.json, report.html)")
      ->capture_default_str();
  app->add_flag("--resume", args->options.resume, "Continue the interrupted run in --out from its last checkpoint");
  app->add_option("--stop-after-epochs", args->options.stop_after_epochs,
                  "Stop once this many epochs of the pipeline's timeline are done (counting those of a resumed "
                  "run), leaving the checkpoint for --resume")
      ->check(positive());
  return {app, [args] { run_compress(*args); }};
}

}  // namespace shrink::cli
