// Prunes, fine-tunes and speeds up a zoo model on Fashion-MNIST, then reloads the smaller model
// from its model file in a separate process: masks alone make no model smaller; speedup does.
//
//   train_fmnist --model vgg_small --epochs 15 --lr 0.05 --seed 0 --augment --out vgg.h5
//   speedup_fmnist --weights vgg.h5 --finetune-epochs 2 --out vgg_small.shrunk.h5
//   speedup_fmnist --evaluate-model-file vgg_small.shrunk.h5      (no model code needed)
//
// 1. Trains the dense model (--epochs) or loads it (--weights) and evaluates it.
// 2. Puts a channel pruner's masks on the layers the config_list selects (default: L1Norm 0.5 on
//    every Conv2d), dependency-aware: coupled layers (the convs joined by a residual add, a
//    depthwise conv and its producer) prune the same channels (Pruner::set_dependency_groups with
//    speedup::dependency_groups); the BatchNorm2d after each pruned conv is masked on the same
//    channels (unless --keep-batchnorms).
// 3. Fine-tunes --finetune-epochs with the masks in the forward graph, evaluates the masked model.
// 4. Takes the masks, unwraps the pruner and shrinks the model in place (speedup::ModelSpeedup),
//    prints its report (layers, params, MACs and latency before and after, verification) and
//    evaluates the shrunk model: its top-1 must equal the masked model's (status 1 otherwise).
// 5. Writes the model file (io::save_model) and runs this program again with
//    --evaluate-model-file, which only calls io::load_model and evaluates; its top-1 must be the
//    same again.
//
// Why the BatchNorms are masked: a pruned conv channel still outputs its BatchNorm shift
// β − γ·μ/σ through the ReLU; speedup folds that constant into the next layer's bias, which is
// exact for a Linear or a 1×1 conv but not at the borders of a padded 3×3 conv (docs/
// guide-speedup.md). Masking the BatchNorm channel too (during fine-tuning, so the masked model
// is trained that way) makes the constant 0 and the shrunk model exact. With --keep-batchnorms
// the report names the inexact layers and the top-1 may differ, which is then a failure.
//
// The last line is a summary: dense, masked, shrunk and reloaded top-1, and the params and MACs
// reduction.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "autograd/warning.h"
#include "compression/config_list.h"
#include "compression/pruning/registry.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
#include "speedup/batchnorm_masks.h"
#include "speedup/channel_groups.h"
#include "speedup/model_file.h"
#include "speedup/model_speedup.h"
#include "speedup/trace.h"

using namespace shrink;

namespace {

constexpr const char* kProgram = "speedup_fmnist";
constexpr const char* kDefaultConfig = R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])";
/// The line the --evaluate-model-file process ends with (top-1 in percent, 4 decimals); the parent
/// reads the top-1 from it.
constexpr const char* kModelFileLine = "model file top-1: %lf";
constexpr const char* kModelFileFormat = "model file top-1: %.4f%%\n";

/// `s` quoted for /bin/sh.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `command` through the shell, echoing its output; returns the top-1 of its kModelFileLine,
/// or a negative number when the process failed or printed no such line.
double run_evaluation_process(const std::string& command) {
  std::printf("separate process: %s\n", command.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return -1;
  double top1 = -1;
  std::array<char, 4096> line{};
  while (std::fgets(line.data(), static_cast<int>(line.size()), pipe)) {
    std::printf("  | %s", line.data());
    double value = 0;
    if (std::sscanf(line.data(), kModelFileLine, &value) == 1) top1 = value;
  }
  std::fflush(stdout);
  return pclose(pipe) == 0 ? top1 : -1;
}

/// --evaluate-model-file: the model comes from the file alone (no zoo, no weights).
int evaluate_model_file(const std::string& path, data::DataLoader& test_loader) {
  std::shared_ptr<speedup::GraphModule> model = io::load_model(path);
  std::int64_t params = 0;
  for (const Tensor& p : model->parameters()) params += p.numel();
  std::printf("loaded %s with io::load_model: %lld parameters\n", path.c_str(), static_cast<long long>(params));
  const double accuracy = examples::evaluate(*model, test_loader, "  model file test");
  std::printf(kModelFileFormat, 100.0 * accuracy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "vgg_small";
  std::string weights;
  std::string pruner_name = "l1norm";
  std::string config_path;
  bool independent = false;
  bool keep_batchnorms = false;
  int epochs = 5;
  int finetune_epochs = 2;
  std::int64_t batch_size = 128;
  double lr = 0.05;
  double finetune_lr = 0.01;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;
  std::int64_t test_limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::string out = "speedup.model.h5";
  std::string model_file;

  CLI::App app{"Prune a zoo model on Fashion-MNIST, fine-tune, speed it up (the pruned channels removed), "
               "save the smaller model as a model file and reload it in a separate process.",
               kProgram};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--model", model_name, "Zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--weights", weights, "Load the dense weights from this HDF5 file instead of training")
      ->check(CLI::ExistingFile);
  app.add_option("--pruner", pruner_name, "Channel pruner")
      ->check(CLI::IsMember({"l1norm", "l2norm", "fpgm"}))
      ->capture_default_str();
  app.add_option("--config", config_path,
                 std::string("config_list JSON file (default: ") + kDefaultConfig + ")")
      ->check(CLI::ExistingFile);
  app.add_flag("--independent", independent,
               "Let every layer choose its own channels (no dependency groups: coupled layers keep more)");
  app.add_flag("--keep-batchnorms", keep_batchnorms,
               "Do not mask the BatchNorm2d after a pruned Conv2d: removed channels then carry its shift, "
               "folded inexactly into padded convs (the shrunk top-1 may then differ: status 1)");
  app.add_option("--epochs", epochs, "Dense training epochs (without --weights)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--finetune-epochs", finetune_epochs, "Fine-tuning epochs with the masks")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "Training batch size")->check(cli::positive())->capture_default_str();
  app.add_option("--lr", lr, "Dense training learning rate (cosine-annealed to 0)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--finetune-lr", finetune_lr, "Fine-tuning learning rate (cosine-annealed to 0)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--seed", seed, "Seed of the initialisation and the shuffles")->capture_default_str();
  app.add_option("--limit", limit, "Train on the first N training images only (0: all 60,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--test-limit", test_limit, "Evaluate on the first N test images only (0: all 10,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--data", root, "Directory of the Fashion-MNIST idx files")->capture_default_str();
  app.add_option("--out", out, "Where to write the shrunk model's model file")->capture_default_str();
  app.add_option("--evaluate-model-file", model_file,
                 "Only load this model file (io::load_model) and evaluate it; every other option but "
                 "--test-limit and --data is ignored")
      ->check(CLI::ExistingFile);
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;

  try {
    auto normalize = examples::fmnist_normalize();
    auto test_set = examples::first(std::make_shared<data::FashionMNIST>(root, false), test_limit);
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});
    if (!model_file.empty()) return evaluate_model_file(model_file, test_loader);

    // The configuration is checked before any training: a mistake costs no epoch.
    manual_seed(seed);
    nn::ModulePtr model;
    compression::ConfigList config;
    const Tensor example = zeros({1, 1, 28, 28});
    compression::DependencyGroups groups;
    try {
      model = models::create(model_name);
      config = config_path.empty() ? compression::ConfigList::parse(kDefaultConfig)
                                   : compression::ConfigList::from_file(config_path);
      if (!independent) groups = speedup::dependency_groups(speedup::trace(*model, example), *model);
      auto dry_run = compression::make_pruner(pruner_name, model->clone(), config);
      dry_run->compress();
    } catch (const Error& e) {
      return cli::usage_error(app, e.what());
    }

    auto train_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), limit);
    data::DataLoader train_loader(train_set,
                                  {.batch_size = batch_size, .shuffle = true, .seed = seed, .transform = normalize});
    std::printf("%s on %lld training and %lld test images; pruner %s%s, config %s\n", model_name.c_str(),
                static_cast<long long>(train_set->size()), static_cast<long long>(test_set->size()),
                pruner_name.c_str(), independent ? "" : " (dependency-aware)",
                config_path.empty() ? kDefaultConfig : config_path.c_str());
    if (!weights.empty()) {
      nn::load_weights(*model, weights);
      std::printf("dense weights loaded from %s\n", weights.c_str());
    } else {
      examples::train_dense(*model, train_loader, epochs, lr, "dense");
    }
    const double dense_accuracy = examples::evaluate(*model, test_loader, "  dense test");

    // The optimizer is built before compress(): the masks are parametrizations of the same
    // parameters, and masked weights get zero gradient.
    optim::SGD optimizer(model->named_parameters(), optim::SGDOptions(finetune_lr).momentum(0.9).weight_decay(5e-4));
    optim::CosineAnnealingLR scheduler(optimizer, std::max(finetune_epochs, 1));
    auto pruner = compression::make_pruner(pruner_name, model, config);
    if (!independent) pruner->set_dependency_groups(groups);
    {
      WarningCollector already_shown;  // the dry run printed the config_list's warnings
      pruner->compress();
    }
    std::optional<speedup::BatchNormMasks> bn_masks;
    if (!keep_batchnorms) {
      bn_masks.emplace(*model, example, *pruner);
      std::printf("masked the %zu BatchNorm2d after pruned convs on the same channels\n", bn_masks->size());
    }
    double masked_accuracy = examples::evaluate(*model, test_loader, "  masked test");
    for (std::int64_t epoch = 0; epoch < finetune_epochs; ++epoch) {
      train_loader.set_epoch(epochs + epoch);
      examples::train_epoch(*model, train_loader, optimizer,
                            "fine-tune " + std::to_string(epoch + 1) + "/" + std::to_string(finetune_epochs),
                            {.after_step = [&] {
                              pruner->step();
                              if (bn_masks) bn_masks->sync();
                            }});
      scheduler.step();
      masked_accuracy = examples::evaluate(*model, test_loader, "  masked test");
    }

    io::StateDict masks = pruner->get_masks();
    if (bn_masks)
      for (const auto& [name, mask] : bn_masks->finish()) masks.insert(name, mask);
    pruner->unwrap();
    const speedup::SpeedupReport report = speedup::ModelSpeedup(*model, example, masks).speedup_model();
    std::printf("%s", report.to_string().c_str());
    const double shrunk_accuracy = examples::evaluate(*model, test_loader, "  shrunk test");
    if (shrunk_accuracy != masked_accuracy) {
      std::string inexact;
      for (const auto& f : report.inexact) inexact += (inexact.empty() ? "" : ", ") + f.layer;
      std::cerr << kProgram << ": shrunk model: expected the masked model's top-1 " << 100.0 * masked_accuracy
                << "%, got " << 100.0 * shrunk_accuracy << "%"
                << (inexact.empty() ? std::string() : " (inexact constant folds into " + inexact + ")")
                << ". Hint: without --keep-batchnorms the BatchNorm2d after each pruned Conv2d is masked too, "
                   "so that removed channels carry no constant\n";
      return 1;
    }

    io::save_model(*model, example, out);
    std::printf("shrunk model written to %s (io::save_model)\n", out.c_str());
    // This program again (inside popen, /proc/self/exe would name the shell: resolve it here).
    const std::string self = std::filesystem::canonical("/proc/self/exe").string();
    const double file_top1 =
        run_evaluation_process(shell_quote(self) + " --evaluate-model-file " + shell_quote(out) + " --test-limit " +
                               std::to_string(test_limit) + " --data " + shell_quote(root));
    if (file_top1 < 0) {
      std::cerr << kProgram << ": the separate process evaluating " << out
                << ": expected status 0 and a line 'model file top-1: ...', got neither\n";
      return 1;
    }
    const double reduction_params = static_cast<double>(report.params_before) / static_cast<double>(report.params_after);
    const double reduction_macs = static_cast<double>(report.macs_before) / static_cast<double>(report.macs_after);
    std::printf("summary: %s %s: dense top-1 %.2f%%, masked %.2f%%, shrunk %.2f%%, reloaded in a separate "
                "process %.2f%%; params %lld -> %lld (%.2fx), MACs %lld -> %lld per sample (%.2fx)\n",
                model_name.c_str(), pruner_name.c_str(), 100.0 * dense_accuracy, 100.0 * masked_accuracy,
                100.0 * shrunk_accuracy, file_top1, static_cast<long long>(report.params_before),
                static_cast<long long>(report.params_after), reduction_params,
                static_cast<long long>(report.macs_before), static_cast<long long>(report.macs_after),
                reduction_macs);
    // The child printed its top-1 in percent with 4 decimals.
    if (std::abs(file_top1 - 100.0 * shrunk_accuracy) > 5e-5) {
      std::cerr << kProgram << ": model file " << out << ": expected the shrunk model's top-1 "
                << 100.0 * shrunk_accuracy << "%, got " << file_top1 << "%\n";
      return 1;
    }
  } catch (const Error& e) {
    std::cerr << kProgram << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
