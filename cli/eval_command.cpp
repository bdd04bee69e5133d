// shrink eval: top-1 and mean cross-entropy of a model on the Fashion-MNIST test set; the model is
// a zoo model with weights or a model file (which needs no model code).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/model_args.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"

namespace shrink::cli {
namespace {

struct EvalArgs {
  ModelArgs model;
  DataArgs data;
  std::int64_t batch_size = 500;
};

void run_eval(const EvalArgs& args) {
  nn::ModulePtr model = load_model(args.model, /*allow_model_file=*/true);
  auto test_set = fashion_mnist(args.data, /*train=*/false);
  data::DataLoader test_loader(test_set, {.batch_size = args.batch_size, .transform = examples::fmnist_normalize()});
  const examples::Evaluation result = examples::evaluate_metrics(*model, test_loader);
  std::printf("%s%s%s: top-1 %.2f%%, loss %.4f on %lld test images\n", args.model.model.c_str(),
              args.model.weights.empty() ? "" : " with ", args.model.weights.c_str(), 100.0 * result.accuracy,
              result.loss, static_cast<long long>(result.images));
}

}  // namespace

Command add_eval_command(CLI::App& shrink) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* app = shrink.add_subcommand("eval", "Top-1 and loss of a model on the Fashion-MNIST test set");
  add_model_options(*app, args->model, /*allow_model_file=*/true, /*model_required=*/true);
  add_data_options(*app, args->data, /*train_limit=*/false, /*test_limit=*/true);
  app->add_option("--batch-size", args->batch_size, "Evaluation batch size")->check(positive())->capture_default_str();
  return {app, [args] { run_eval(*args); }};
}

}  // namespace shrink::cli
