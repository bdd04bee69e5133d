// Knowledge distillation on Fashion-MNIST, in a plain training loop: train (or load) a teacher,
// then train the same student twice from the same initialisation and the same shuffles — once
// alone on the labels, once with a Distiller adding the teacher's soft labels (and any feature
// losses of the distill config) — and compare their test accuracy.
//
//   distill_fmnist --teacher-weights vgg_small.h5 --epochs 5
//   distill_fmnist --teacher vgg_small --teacher-epochs 10 --save-teacher vgg.h5 --epochs 5
//   distill_fmnist --teacher-weights vgg_small.h5 --config examples/configs/kd_lenet5_vgg.json --optimizer rmsprop --lr 1e-3
//   distill_fmnist --teacher lenet5 --teacher-epochs 3 --config examples/configs/kd_features_lenet5.json
//
// The last line is the summary: the student's top-1 alone and distilled, and the difference.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/distillation/distill_config.h"
#include "compression/distillation/distiller.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/rmsprop.h"
#include "nn/optim/sgd.h"

using namespace shrink;

namespace {

/// The optimizer --optimizer names: SGD (momentum 0.9, weight decay 5e-4) or RMSprop (PyTorch's
/// defaults, weight decay 5e-4).
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, nn::Module& model, double lr) {
  if (name == "rmsprop")
    return std::make_unique<optim::RMSprop>(model.named_parameters(), optim::RMSpropOptions(lr).weight_decay(5e-4));
  return std::make_unique<optim::SGD>(model.named_parameters(), optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
}

}  // namespace

int main(int argc, char** argv) {
  std::string teacher_name = "vgg_small";
  std::string student_name = "lenet5";
  std::string teacher_weights;
  std::string save_teacher;
  std::string config_path;
  std::string optimizer_name = "sgd";
  int teacher_epochs = 5;
  int epochs = 5;
  std::int64_t batch_size = 128;
  double lr = 0.05;
  double teacher_lr = 0.05;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;
  std::int64_t test_limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::string out;

  CLI::App app{"Train a teacher (or load it), then a student alone and with knowledge distillation from the "
               "teacher, with the same epochs and seed, and compare their Fashion-MNIST test accuracy.",
               "distill_fmnist"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--teacher", teacher_name, "Teacher zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--student", student_name, "Student zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--teacher-weights", teacher_weights, "Load the teacher's weights from this HDF5 file instead of training it")
      ->check(CLI::ExistingFile);
  app.add_option("--save-teacher", save_teacher, "Write the trained teacher's weights to this file");
  app.add_option("--teacher-epochs", teacher_epochs, "Teacher training epochs (without --teacher-weights)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--teacher-lr", teacher_lr, "Teacher learning rate (SGD, cosine-annealed to 0)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--config", config_path,
                 "Distill config JSON file (examples/configs/kd_*.json); default: soft labels, temperature 4, alpha 0.5");
  app.add_option("--epochs", epochs, "Student training epochs (both runs)")->check(cli::positive())->capture_default_str();
  app.add_option("--optimizer", optimizer_name, "Student optimizer")
      ->check(CLI::IsMember({"sgd", "rmsprop"}))
      ->capture_default_str();
  app.add_option("--lr", lr, "Student learning rate (cosine-annealed to 0)")->check(cli::positive())->capture_default_str();
  app.add_option("--batch-size", batch_size, "Training batch size")->check(cli::positive())->capture_default_str();
  app.add_option("--seed", seed, "Seed of the initialisations and the shuffles")->capture_default_str();
  app.add_option("--limit", limit, "Train on the first N training images only (0: all 60,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--test-limit", test_limit, "Evaluate on the first N test images only (0: all 10,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--data", root, "Directory of the Fashion-MNIST idx files")->capture_default_str();
  app.add_option("--out", out, "Write the distilled student's weights to this file");
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;

  // The configuration is checked before any training: module names against both models, and
  // every term on a dummy batch (shapes), so a mistake costs no epoch.
  compression::DistillConfig config;
  try {
    config = config_path.empty()
                 ? compression::DistillConfig::parse(std::string(R"([{"loss": "soft_label", "temperature": 4, "alpha": 0.5}])"))
                 : compression::DistillConfig::from_file(config_path);
    compression::Distiller(models::create(student_name), models::create(teacher_name), config).check(zeros({2, 1, 28, 28}));
  } catch (const Error& e) {
    return cli::usage_error(app, e.what());
  }

  try {
    auto normalize = examples::fmnist_normalize();
    auto train_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), limit);
    auto test_set = examples::first(std::make_shared<data::FashionMNIST>(root, false), test_limit);
    data::DataLoader train_loader(train_set,
                                  {.batch_size = batch_size, .shuffle = true, .seed = seed, .transform = normalize});
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});
    std::printf("student %s, teacher %s; %lld training and %lld test images; distill config %s\n",
                student_name.c_str(), teacher_name.c_str(), static_cast<long long>(train_set->size()),
                static_cast<long long>(test_set->size()), config.to_json().dump().c_str());

    manual_seed(seed + 1);
    nn::ModulePtr teacher = models::create(teacher_name);
    if (!teacher_weights.empty()) {
      nn::load_weights(*teacher, teacher_weights);
      std::printf("teacher weights loaded from %s\n", teacher_weights.c_str());
    } else {
      optim::SGD optimizer(teacher->named_parameters(), optim::SGDOptions(teacher_lr).momentum(0.9).weight_decay(5e-4));
      optim::CosineAnnealingLR scheduler(optimizer, teacher_epochs);
      for (std::int64_t epoch = 0; epoch < teacher_epochs; ++epoch) {
        train_loader.set_epoch(1000 + epoch);  // other shuffles than the student's
        examples::train_epoch(*teacher, train_loader, optimizer,
                              "teacher " + std::to_string(epoch + 1) + "/" + std::to_string(teacher_epochs));
        scheduler.step();
      }
      if (!save_teacher.empty()) nn::save_weights(*teacher, save_teacher);
    }
    const double teacher_accuracy = examples::evaluate(*teacher, test_loader, "  teacher test");

    // The same student twice: the same initialisation (seed) and the same shuffles (epoch numbers).
    auto train_student = [&](compression::Distiller* distiller, nn::ModulePtr student, const std::string& tag) {
      auto optimizer = make_optimizer(optimizer_name, *student, lr);
      optim::CosineAnnealingLR scheduler(*optimizer, epochs);
      double accuracy = 0;
      for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
        train_loader.set_epoch(epoch);
        const std::string description = tag + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs);
        examples::StepHooks hooks;
        // Distillation: the student's forward taps its features, the Distiller runs the teacher on
        // the same batch and returns the loss to backward.
        if (distiller)
          hooks.loss = [distiller](const data::Batch& batch, const Tensor& logits) {
            return distiller->loss(batch.data, logits, batch.targets);
          };
        examples::train_epoch(*student, train_loader, *optimizer, description, hooks);
        scheduler.step();
        accuracy = examples::evaluate(*student, test_loader, "  " + tag + " test");
      }
      return accuracy;
    };
    manual_seed(seed);
    const double alone = train_student(nullptr, models::create(student_name), "alone");
    manual_seed(seed);
    nn::ModulePtr student = models::create(student_name);
    compression::Distiller distiller(student, teacher, config);
    const double distilled = train_student(&distiller, student, "distill");
    if (!out.empty()) {
      nn::save_weights(*student, out);
      std::printf("distilled student's weights written to %s\n", out.c_str());
    }
    std::printf("summary: %s %s, %d epochs, seed %llu: alone top-1 %.2f%%, distilled from %s (top-1 %.2f%%) top-1 "
                "%.2f%%; distilled - alone = %+.2f points\n",
                student_name.c_str(), optimizer_name.c_str(), epochs, static_cast<unsigned long long>(seed),
                100.0 * alone, teacher_name.c_str(), 100.0 * teacher_accuracy, 100.0 * distilled,
                100.0 * (distilled - alone));
  } catch (const Error& e) {
    std::cerr << "distill_fmnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
