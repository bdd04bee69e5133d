// shrink sensitivity: how the test top-1 of a trained zoo model drops when one Conv2d alone loses
// a fraction of its filters (L1 norm), for every Conv2d and ratio (compression::
// analyze_sensitivity, PaddleSlim's analysis; examples/sensitivity_fmnist.cpp goes on to prune
// with the curves). With --out the measurements are cached in a JSON file, written after every
// evaluation and resumed from when it exists.
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/format.h"
#include "cli/model_args.h"
#include "compression/analysis/counting.h"
#include "compression/analysis/sensitivity.h"
#include "compression/pruning/layer_pruning.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/text_table.h"

namespace shrink::cli {
namespace {

struct SensitivityArgs {
  ModelArgs model;
  DataArgs data;
  std::vector<double> ratios = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::string out;
};

void run_sensitivity(const SensitivityArgs& args) {
  std::set<double> distinct;
  for (const double r : args.ratios)
    if (!(r > 0 && r < 1) || !distinct.insert(r).second)
      throw ValueError("--ratios: expected distinct values in (0, 1), got " + format("%g", r) +
                       (r > 0 && r < 1 ? " twice" : ""));
  if (!args.out.empty()) check_output_path(args.out, "--out");
  nn::ModulePtr model = load_model(args.model, /*allow_model_file=*/false);
  std::vector<std::string> layers;
  for (const auto& c : compression::count_layers(*model, kImageShape))
    if (c.type == "Conv2d") layers.push_back(c.name);
  auto test_set = fashion_mnist(args.data, /*train=*/false);
  data::DataLoader loader(test_set, {.batch_size = 500, .transform = examples::fmnist_normalize()});
  std::printf("%s with %s: %zu Conv2d layers x %zu ratios on %lld test images\n", args.model.model.c_str(),
              args.model.weights.c_str(), layers.size(), args.ratios.size(), static_cast<long long>(test_set->size()));

  std::int64_t evaluations = 0;
  const compression::EvalFn eval = [&](nn::Module& m) {
    return examples::evaluate(m, loader, "  evaluation " + std::to_string(++evaluations));
  };
  const auto sens = compression::analyze_sensitivity(*model, layers, eval, compression::filter_pruning(1),
                                                     {.ratios = args.ratios, .cache_path = args.out});
  std::vector<std::vector<std::string>> rows = {{"layer"}};
  std::vector<io::Align> align = {io::Align::Left};
  for (const double r : sens.ratios) {
    rows[0].push_back(format("%g", r));
    align.push_back(io::Align::Right);
  }
  for (const auto& layer : layers) {
    std::vector<std::string> row = {layer};
    for (const double m : sens.metrics.at(layer)) row.push_back(percent(m));
    rows.push_back(row);
  }
  std::printf("top-1 when one layer alone loses a fraction of its filters (unpruned %s; %lld evaluations run, the "
              "rest from the cache)\n%s",
              percent(sens.baseline).c_str(), static_cast<long long>(evaluations), io::text_table(rows, align).c_str());
  if (!args.out.empty()) std::printf("sensitivities written to %s\n", args.out.c_str());
}

}  // namespace

Command add_sensitivity_command(CLI::App& shrink) {
  auto args = std::make_shared<SensitivityArgs>();
  CLI::App* app = shrink.add_subcommand(
      "sensitivity", "Per-layer sensitivity curves: test top-1 when one Conv2d alone loses a fraction of its filters");
  add_model_options(*app, args->model, /*allow_model_file=*/false, /*model_required=*/true);
  app->get_option("--weights")->required();
  app->add_option("--ratios", args->ratios, "Pruning ratios measured per layer")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->capture_default_str();
  add_data_options(*app, args->data, /*train_limit=*/false, /*test_limit=*/false);
  app->add_option("--images", args->data.test_limit, "Evaluate on the first N test images (0: all 10,000)")
      ->check(positive(/*allow_zero=*/true))
      ->capture_default_str();
  app->add_option("--out", args->out, "Sensitivity cache (JSON): written after every evaluation, resumed from if it exists");
  return {app, [args] { run_sensitivity(*args); }};
}

}  // namespace shrink::cli
