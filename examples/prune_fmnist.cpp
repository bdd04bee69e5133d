// Prunes a zoo model trained on Fashion-MNIST, the NNI way: train (or load) the dense model,
// evaluate it, let a pruner chosen by name put masks on the layers a config_list selects,
// fine-tune with the masks in the forward graph (calling the pruner's update_epoch() and step()),
// evaluate again, and export the pruned weights and the masks as HDF5. Slim can first train with
// its regulariser on BatchNorm γ (--sparsity-epochs); the data-driven pruners (taylorfo, apoz,
// mean_activation) collect their statistics on --collect-batches training batches before their
// masks are computed (NNI's training_batches). --schedule agp|linear|lottery raises the sparsity
// step by step during fine-tuning; movement prunes during fine-tuning by its own step schedule;
// admm adds its penalty to the fine-tuning loss and fixes its masks after its iterations.
//
//   prune_fmnist --pruner l1norm --config examples/configs/l1norm_vgg_50.json --epochs 5 --finetune-epochs 3
//   train_fmnist --model vgg_small --epochs 15 --out vgg.h5        (then, reusing the dense weights:)
//   prune_fmnist --weights vgg.h5 --pruner fpgm --config examples/configs/fpgm_vgg_50.json
//   prune_fmnist --model mlp --pruner level --config examples/configs/level_mlp_80.json
//   prune_fmnist --pruner level --options '{"balance_block": 4}' --config examples/configs/level_vgg_2of4.json
//   prune_fmnist --pruner slim --sparsity-epochs 2 --config examples/configs/slim_vgg_50.json
//   prune_fmnist --pruner apoz --collect-batches 20 --config examples/configs/apoz_vgg_50.json
//   prune_fmnist --model mlp --pruner level --schedule agp --schedule-options '{"total_iteration": 4}'
//                --finetune-epochs 5 --config examples/configs/level_mlp_80.json
//
// The last lines are the report totals (params left, dense and effective MACs of the masked model)
// and a summary: dense and pruned top-1, the drop, and the sparsity of the pruned layers' weights.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "autograd/generator.h"
#include "autograd/warning.h"
#include "compression/analysis/counting.h"
#include "compression/config_list.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/registry.h"
#include "compression/pruning/scheduled_pruners.h"
#include "compression/pruning/slim_pruner.h"
#include "compression/pruning/statistics.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

using namespace shrink;

namespace {

/// Zeros of the weight masks over their elements, and the number of masked weights' layers.
struct MaskSparsity {
  double sparsity = 0;
  std::int64_t pruned = 0, total = 0, layers = 0;
};

MaskSparsity weight_sparsity(const compression::Pruner& pruner) {
  MaskSparsity s;
  for (const auto& [name, mask] : pruner.get_masks()) {
    if (!name.ends_with(".weight")) continue;
    const float* m = mask.data<float>();
    for (std::int64_t i = 0; i < mask.numel(); ++i) s.pruned += m[i] == 0.0f;
    s.total += mask.numel();
    ++s.layers;
  }
  s.sparsity = s.total ? static_cast<double>(s.pruned) / static_cast<double>(s.total) : 0.0;
  return s;
}

/// Runs up to `batches` training batches forward and backward without an optimizer step, so that
/// a data-driven pruner's hooks collect their statistics; returns how many ran.
std::int64_t collect(nn::Module& model, data::DataLoader& loader, optim::Optimizer& optimizer, std::int64_t batches) {
  model.train();  // as NNI collects: inside the training loop
  std::int64_t done = 0;
  for (const data::Batch& batch : loader) {
    if (done == batches) break;
    optimizer.zero_grad();
    cross_entropy(model(batch.data), batch.targets).backward();
    ++done;
  }
  optimizer.zero_grad();
  return done;
}

/// The pruner the command line asked for, alone or inside a schedule, behind one interface (a
/// schedule forwards masks and export to its inner pruner).
struct Pruning {
  std::shared_ptr<compression::Pruner> pruner;
  std::unique_ptr<compression::ScheduledPruner> schedule;

  Pruning(const std::string& name, nn::ModulePtr model, const compression::ConfigList& config,
          const nlohmann::json& options, const std::string& schedule_name, const nlohmann::json& schedule_options,
          optim::Optimizer* optimizer = nullptr, optim::LRScheduler* scheduler = nullptr)
      : pruner(compression::make_pruner(name, std::move(model), config, options)) {
    if (!schedule_name.empty())
      schedule = compression::make_scheduled_pruner(schedule_name, pruner, schedule_options, optimizer, scheduler);
  }
  void compress() { schedule ? (void)schedule->compress() : (void)pruner->compress(); }
  void update_epoch(std::int64_t epoch) { schedule ? schedule->update_epoch(epoch) : pruner->update_epoch(epoch); }
  void step() { schedule ? schedule->step() : pruner->step(); }
};

/// `text` parsed as JSON for the option `flag`, or an error message.
std::optional<std::string> parse_json(const std::string& flag, const std::string& text, nlohmann::json& out) {
  try {
    out = nlohmann::json::parse(text);
    return std::nullopt;
  } catch (const nlohmann::json::parse_error& e) {
    return flag + ": expected a JSON object, got '" + text + "' (" + e.what() + ")";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "vgg_small";
  std::string weights;
  std::string save_dense;
  std::string pruner_name = "l1norm";
  std::string config_path;
  std::string options_text = "{}";
  std::string schedule_name;
  std::string schedule_options_text = "{}";
  int epochs = 5;
  int finetune_epochs = 3;
  int sparsity_epochs = 0;
  std::int64_t collect_batches = 20;
  std::int64_t batch_size = 128;
  double lr = 0.05;
  double finetune_lr = 0.01;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;
  std::int64_t test_limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::string out = "pruned.h5";
  std::string masks_out = "pruned.masks.h5";

  CLI::App app{"Train or load a zoo model on Fashion-MNIST, prune it with a named pruner and a config_list, "
               "fine-tune, evaluate and export the pruned weights and masks as HDF5.",
               "prune_fmnist"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--model", model_name, "Zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--weights", weights, "Load the dense weights from this HDF5 file instead of training")
      ->check(CLI::ExistingFile);
  app.add_option("--save-dense", save_dense, "Write the trained dense weights to this file");
  app.add_option("--pruner", pruner_name, "Pruner")
      ->check(CLI::IsMember(compression::pruner_names()))
      ->capture_default_str();
  app.add_option("--config", config_path, "config_list JSON file (examples/configs/); required");
  app.add_option("--options", options_text, "The pruner's options as a JSON object, e.g. '{\"balance_block\": 4}'")
      ->capture_default_str();
  app.add_option("--schedule", schedule_name, "Prune step by step during fine-tuning with this schedule")
      ->check(CLI::IsMember(compression::scheduled_pruner_names()));
  app.add_option("--schedule-options", schedule_options_text,
                 "The schedule's options as a JSON object, e.g. '{\"total_iteration\": 4, \"unit\": \"epoch\"}'")
      ->capture_default_str();
  app.add_option("--epochs", epochs, "Dense training epochs (without --weights)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--finetune-epochs", finetune_epochs, "Fine-tuning epochs after pruning")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--sparsity-epochs", sparsity_epochs,
                 "slim only: epochs trained with the regulariser on BatchNorm γ before pruning (NNI's training_epochs)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--collect-batches", collect_batches,
                 "taylorfo, apoz, mean_activation: training batches their statistics are collected on")
      ->check(cli::positive())
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
  app.add_option("--out", out, "Where to write the pruned weights (masks applied; loads into a plain model)")
      ->capture_default_str();
  app.add_option("--masks", masks_out, "Where to write the masks")->capture_default_str();
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;
  if (config_path.empty())
    return cli::usage_error(app, "--config FILE is required (a config_list, e.g. examples/configs/l1norm_vgg_50.json)");

  // The configuration is checked before any training: a mistake costs no epoch.
  nlohmann::json options, schedule_options;
  if (const auto error = parse_json("--options", options_text, options)) return cli::usage_error(app, *error);
  if (const auto error = parse_json("--schedule-options", schedule_options_text, schedule_options))
    return cli::usage_error(app, *error);
  manual_seed(seed);
  nn::ModulePtr model;
  compression::ConfigList config;
  try {
    model = models::create(model_name);
    config = compression::ConfigList::from_file(config_path);
    // A dry run on a copy: make_pruner checks the name and options, compress() the config_list.
    Pruning(pruner_name, model->clone(), config, options, schedule_name, schedule_options).compress();
  } catch (const Error& e) {
    return cli::usage_error(app, e.what());
  }
  if (sparsity_epochs > 0 && pruner_name != "slim")
    return cli::usage_error(app, "--sparsity-epochs: expected --pruner slim (the pruner with a regulariser), got --pruner " +
                                          pruner_name);

  try {
    auto normalize = examples::fmnist_normalize();
    auto train_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), limit);
    auto test_set = examples::first(std::make_shared<data::FashionMNIST>(root, false), test_limit);
    data::DataLoader train_loader(train_set,
                                  {.batch_size = batch_size, .shuffle = true, .seed = seed, .transform = normalize});
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});
    std::printf("%s on %lld training and %lld test images; pruner %s, config %s\n", model_name.c_str(),
                static_cast<long long>(train_set->size()), static_cast<long long>(test_set->size()),
                pruner_name.c_str(), config_path.c_str());

    if (!weights.empty()) {
      nn::load_weights(*model, weights);
      std::printf("dense weights loaded from %s\n", weights.c_str());
    } else {
      examples::train_dense(*model, train_loader, epochs, lr, "dense");
      if (!save_dense.empty()) nn::save_weights(*model, save_dense);
    }
    const double dense_accuracy = examples::evaluate(*model, test_loader, "  dense test");

    // Built before compress(): the masks are parametrizations, so the optimizer keeps the same
    // parameters and masked weights get zero gradient.
    optim::SGD optimizer(model->named_parameters(),
                         optim::SGDOptions(finetune_lr).momentum(0.9).weight_decay(5e-4));
    optim::CosineAnnealingLR scheduler(optimizer, std::max(finetune_epochs, 1));
    Pruning pruning(pruner_name, model, config, options, schedule_name, schedule_options, &optimizer, &scheduler);
    compression::Pruner* pruner = pruning.pruner.get();
    if (auto* slim = dynamic_cast<compression::SlimPruner*>(pruner)) {
      for (std::int64_t epoch = 0; epoch < sparsity_epochs; ++epoch) {
        train_loader.set_epoch(epochs + epoch);
        examples::train_epoch(*model, train_loader, optimizer,
                              "sparsity " + std::to_string(epoch + 1) + "/" + std::to_string(sparsity_epochs),
                              {.extra_loss = [slim] { return slim->regularization(); }});
      }
    }
    {
      shrink::WarningCollector already_shown;  // the dry run printed the config_list's warnings
      pruning.compress();
    }
    auto* data_pruner = dynamic_cast<compression::DataDrivenPruner*>(pruner);
    if (data_pruner && !pruning.schedule) {
      const std::int64_t collected = collect(*model, train_loader, optimizer, collect_batches);
      pruner->update_masks();
      // One-shot pruning: nothing more to collect (evaluation and fine-tuning would add batches).
      data_pruner->set_collecting(false);
      std::printf("statistics collected on %lld training batches\n", static_cast<long long>(collected));
    }
    // Under a schedule, a data-driven pruner collects while fine-tuning, not while evaluating.
    auto evaluate_pruned = [&] {
      if (data_pruner) data_pruner->set_collecting(false);
      const double a = examples::evaluate(*model, test_loader, "  pruned test");
      if (data_pruner && pruning.schedule) data_pruner->set_collecting(true);
      return a;
    };
    auto* admm = dynamic_cast<compression::ADMMPruner*>(pruner);
    examples::StepHooks hooks{.after_step = [&] { pruning.step(); }};
    if (admm) hooks.extra_loss = [admm] { return admm->penalty(); };
    double accuracy = evaluate_pruned();
    for (std::int64_t epoch = 0; epoch < finetune_epochs; ++epoch) {
      pruning.update_epoch(epoch);
      train_loader.set_epoch(epochs + sparsity_epochs + epoch);
      examples::train_epoch(*model, train_loader, optimizer,
                            "fine-tune " + std::to_string(epoch + 1) + "/" + std::to_string(finetune_epochs), hooks);
      scheduler.step();
      accuracy = evaluate_pruned();
    }
    if (admm && !admm->finished())
      std::printf("note: ADMM ran %lld of its iterations; its masks come after the last one (give more "
                  "--finetune-epochs than iterations x training_epochs)\n",
                  static_cast<long long>(admm->iterations_done()));
    pruner->export_model(out, masks_out);
    const MaskSparsity s = weight_sparsity(*pruner);
    std::printf("pruned weights written to %s, masks to %s\n", out.c_str(), masks_out.c_str());
    // The totals of the compression report (compression/analysis/report.h) on the masked model.
    const auto totals = compression::count_totals(compression::count_layers(*model, {1, 1, 28, 28}));
    std::printf("report: params %lld, %lld left (%.2f%% sparse); MACs per sample %lld dense, %lld effective "
                "(%.2f%% removed; FLOPs = 2 x MACs)\n",
                static_cast<long long>(totals.params), static_cast<long long>(totals.nonzero_params),
                100.0 * totals.sparsity(), static_cast<long long>(totals.macs),
                static_cast<long long>(totals.effective_macs),
                100.0 * (1.0 - static_cast<double>(totals.effective_macs) / static_cast<double>(totals.macs)));
    const std::string method = pruner_name + (schedule_name.empty() ? "" : "+" + schedule_name);
    std::printf("summary: %s %s: dense top-1 %.2f%%, pruned top-1 %.2f%%, drop %.2f points; sparsity %.1f%% "
                "of the weights of the %lld pruned layers (%lld of %lld)\n",
                model_name.c_str(), method.c_str(), 100.0 * dense_accuracy, 100.0 * accuracy,
                100.0 * (dense_accuracy - accuracy), 100.0 * s.sparsity, static_cast<long long>(s.layers),
                static_cast<long long>(s.pruned), static_cast<long long>(s.total));
  } catch (const Error& e) {
    std::cerr << "prune_fmnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
