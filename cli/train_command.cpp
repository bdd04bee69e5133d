// shrink train: trains a zoo model on Fashion-MNIST with the examples' dense recipe (SGD momentum
// 0.9, weight decay 5e-4, cosine-annealed learning rate, epoch e shuffled with seed + e; see
// examples::train_dense), evaluates it on the test set and writes its weights.
#include <cstdio>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/model_args.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/transforms.h"
#include "nn/checkpoint.h"

namespace shrink::cli {
namespace {

struct TrainArgs {
  ModelArgs model{.model = "naive"};
  DataArgs data;
  int epochs = 10;
  double lr = 0.05;
  std::int64_t batch_size = 128;
  std::uint64_t seed = 0;
  bool augment = false;
  std::string out;
};

void run_train(const TrainArgs& args) {
  check_output_path(args.out, "--out");
  manual_seed(args.seed);
  nn::ModulePtr model = load_model(args.model, /*allow_model_file=*/false);
  std::int64_t parameters = 0;
  for (const Tensor& p : model->parameters()) parameters += p.numel();

  auto normalize = examples::fmnist_normalize();
  auto train_set = fashion_mnist(args.data, /*train=*/true);
  auto test_set = fashion_mnist(args.data, /*train=*/false);
  std::shared_ptr<const data::Transform> train_transform = normalize;
  if (args.augment)
    train_transform = std::make_shared<data::Compose>(std::vector<std::shared_ptr<const data::Transform>>{
        std::make_shared<data::RandomCrop>(28, 2), std::make_shared<data::RandomHorizontalFlip>(0.5), normalize});
  data::DataLoader train_loader(
      train_set, {.batch_size = args.batch_size, .shuffle = true, .seed = args.seed, .transform = train_transform});
  data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});

  std::printf("%s: %lld parameters; %lld training and %lld test images; batch %lld, SGD lr %g momentum 0.9 "
              "weight decay 5e-4, cosine over %d epochs, seed %llu%s\n",
              args.model.model.c_str(), static_cast<long long>(parameters), static_cast<long long>(train_set->size()),
              static_cast<long long>(test_set->size()), static_cast<long long>(args.batch_size), args.lr, args.epochs,
              static_cast<unsigned long long>(args.seed), args.augment ? ", crop+flip augmentation" : "");
  examples::train_dense(*model, train_loader, args.epochs, args.lr, "epoch");
  const examples::Evaluation result = examples::evaluate_metrics(*model, test_loader);
  nn::save_weights(*model, args.out);
  std::printf("test top-1 %.2f%%, loss %.4f; weights written to %s\n", 100.0 * result.accuracy, result.loss,
              args.out.c_str());
}

}  // namespace

Command add_train_command(CLI::App& shrink) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* app = shrink.add_subcommand("train", "Train a zoo model on Fashion-MNIST and write its weights (HDF5)");
  app->add_option("--model", args->model.model, "Zoo model")->capture_default_str();
  app->add_option("--epochs", args->epochs, "Training epochs")->check(positive())->capture_default_str();
  app->add_option("--lr", args->lr, "Initial learning rate (cosine-annealed to 0)")
      ->check(positive())
      ->capture_default_str();
  app->add_option("--batch-size", args->batch_size, "Training batch size")->check(positive())->capture_default_str();
  app->add_option("--seed", args->seed, "Seed of the initialisation and the shuffles")->capture_default_str();
  app->add_flag("--augment", args->augment,
                "Augment training images: random 28x28 crop of the 2-pixel padded image, random horizontal flip");
  add_data_options(*app, args->data, /*train_limit=*/true, /*test_limit=*/true);
  app->add_option("--out", args->out, "Where to write the trained weights (HDF5 state_dict)")->required();
  return {app, [args] { run_train(*args); }};
}

}  // namespace shrink::cli
