// Trains a model of the zoo on Fashion-MNIST with a plain training loop, the way a PyTorch user
// writes one: DataLoader with shuffling and normalisation, SGD with momentum and weight decay, a
// cosine learning-rate schedule, test accuracy after every epoch, HDF5 weights at the end.
//
//   train_fmnist --model naive --epochs 10 --out naive.h5
//   train_fmnist --model vgg_small --epochs 15 --lr 0.05 --checkpoint vgg.ckpt.h5   (Ctrl-C, then
//   train_fmnist --model vgg_small --epochs 15 --lr 0.05 --checkpoint vgg.ckpt.h5 --resume)
//
// The weights load in PyTorch with
//   model.load_state_dict({k: torch.from_numpy(f[k][()]) for k in h5py.File("naive.h5")})
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "io/data/transforms.h"
#include "io/metrics.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

using namespace shrink;

int main(int argc, char** argv) {
  std::string model_name = "naive";
  int epochs = 10;
  std::int64_t batch_size = 128;
  double lr = 0.05;
  std::uint64_t seed = 0;
  std::string out = "weights.h5";
  std::int64_t limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::string checkpoint;
  bool resume = false;
  bool augment = false;

  CLI::App app{"Train a Shrink zoo model on Fashion-MNIST and save its weights as HDF5.", "train_fmnist"};
  // A later occurrence of an option overrides an earlier one (scripts/demo passes defaults first).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--model", model_name, "Zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--epochs", epochs, "Training epochs")->check(cli::positive())->capture_default_str();
  app.add_option("--batch-size", batch_size, "Training batch size")->check(cli::positive())->capture_default_str();
  app.add_option("--lr", lr, "Initial learning rate (cosine-annealed to 0)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--seed", seed, "Seed of the initialisation and the shuffles")->capture_default_str();
  app.add_option("--out", out, "Where to write the trained weights (HDF5 state_dict)")->capture_default_str();
  app.add_option("--limit", limit, "Train on the first N training images only (0: all 60,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--data", root, "Directory of the Fashion-MNIST idx files")->capture_default_str();
  app.add_option("--checkpoint", checkpoint, "Write a checkpoint to this file after every epoch");
  app.add_flag("--resume", resume, "Continue from --checkpoint if it exists");
  app.add_flag("--augment", augment, "Augment training images: random 28x28 crop of the 2-pixel padded image, "
               "random horizontal flip");
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;
  if (resume && checkpoint.empty()) return cli::usage_error(app, "--resume needs --checkpoint FILE");

  try {
    manual_seed(seed);
    nn::ModulePtr model = models::create(model_name);
    std::int64_t parameters = 0;
    for (const Tensor& p : model->parameters()) parameters += p.numel();

    auto normalize = examples::fmnist_normalize();
    auto train_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), limit);
    auto test_set = std::make_shared<data::FashionMNIST>(root, false);
    std::shared_ptr<const data::Transform> train_transform = normalize;
    if (augment)
      train_transform = std::make_shared<data::Compose>(std::vector<std::shared_ptr<const data::Transform>>{
          std::make_shared<data::RandomCrop>(28, 2), std::make_shared<data::RandomHorizontalFlip>(0.5), normalize});
    data::DataLoader train_loader(
        train_set, {.batch_size = batch_size, .shuffle = true, .seed = seed, .transform = train_transform});
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});

    optim::SGD optimizer(model->named_parameters(), optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
    optim::CosineAnnealingLR scheduler(optimizer, epochs);

    std::int64_t start = 0;
    if (resume && std::filesystem::exists(checkpoint)) {
      start = nn::load_checkpoint(checkpoint, *model, &optimizer, &scheduler);
      std::printf("resumed from %s after epoch %lld\n", checkpoint.c_str(), static_cast<long long>(start));
    }
    std::printf(
        "%s: %lld parameters; %lld training and %lld test images; batch %lld, SGD lr %g momentum 0.9 "
        "weight decay 5e-4, cosine over %d epochs%s\n",
        model_name.c_str(), static_cast<long long>(parameters), static_cast<long long>(train_set->size()),
        static_cast<long long>(test_set->size()), static_cast<long long>(batch_size), lr, epochs,
        augment ? ", crop+flip augmentation" : "");

    double accuracy = 0.0;
    for (std::int64_t epoch = start; epoch < epochs; ++epoch) {
      train_loader.set_epoch(epoch);  // the shuffle of an epoch depends only on (seed, epoch)
      examples::train_epoch(*model, train_loader, optimizer,
                            "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs));
      scheduler.step();
      accuracy = examples::evaluate(*model, test_loader);
      if (!checkpoint.empty()) nn::save_checkpoint(checkpoint, *model, &optimizer, &scheduler, epoch + 1);
    }
    if (start >= epochs) accuracy = examples::evaluate(*model, test_loader);  // resumed a finished run
    nn::save_weights(*model, out);
    std::printf("test accuracy %.2f%%; weights written to %s\n", 100.0 * accuracy, out.c_str());
  } catch (const Error& e) {
    std::cerr << "train_fmnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
