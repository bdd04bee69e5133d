// shrink speedup: physically removes the channels a masks file prunes from a zoo model with its
// weights (speedup::ModelSpeedup), prints the report and writes the smaller model as a model file
// that `shrink eval`, `shrink bench` and io::load_model run without the model's code.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/model_args.h"
#include "speedup/model_file.h"
#include "speedup/model_speedup.h"

namespace shrink::cli {
namespace {

struct SpeedupArgs {
  ModelArgs model;
  std::string masks;
  std::string out;
  std::string mode = "union";
  std::int64_t round_to = 1;
};

void run_speedup(const SpeedupArgs& args) {
  check_output_path(args.out, "--out");
  nn::ModulePtr model = load_model(args.model, /*allow_model_file=*/false);
  const Tensor example = zeros(kImageShape);
  speedup::SpeedupOptions options;
  options.resolve = args.mode == "union" ? speedup::Resolve::Union : speedup::Resolve::Intersection;
  options.round_to = args.round_to;
  const speedup::SpeedupReport report = speedup::ModelSpeedup(*model, example, args.masks, options).speedup_model();
  std::fputs(report.to_string().c_str(), stdout);
  io::save_model(*model, example, args.out);
  std::printf("model file written to %s\n", args.out.c_str());
}

}  // namespace

Command add_speedup_command(CLI::App& shrink) {
  auto args = std::make_shared<SpeedupArgs>();
  CLI::App* app = shrink.add_subcommand(
      "speedup", "Remove the channels a masks file prunes from a zoo model and write the smaller model file");
  add_model_options(*app, args->model, /*allow_model_file=*/false, /*model_required=*/true);
  app->get_option("--weights")->required();
  app->add_option("--masks", args->masks, "Masks file (HDF5, e.g. a pruner's export)")->required()->check(existing_file());
  app->add_option("--out", args->out, "Where to write the model file")->required();
  app->add_option("--mode", args->mode, "How coupled layers' masks combine: keep a channel any of them keeps (union) "
                                        "or only those all keep (intersection)")
      ->check(CLI::IsMember({"union", "intersection"}))
      ->capture_default_str();
  app->add_option("--round-to", args->round_to, "Layers keep a multiple of this many channels")
      ->check(positive())
      ->capture_default_str();
  return {app, [args] { run_speedup(*args); }};
}

}  // namespace shrink::cli
