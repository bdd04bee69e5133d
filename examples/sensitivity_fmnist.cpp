// Sensitivity-guided against uniform filter pruning at the same MACs, on Fashion-MNIST
// (PaddleSlim's workflow with Shrink's compression/analysis): load a trained zoo model, measure
// how the test top-1 drops when each Conv2d alone loses 10 % ... 90 % of its filters (L1 norm,
// cached in a JSON file and resumed after an interruption), solve per-layer ratios that remove
// --target of the model's MACs with the least predicted loss, find the one uniform ratio that
// removes the same MACs, prune a copy each way with L1NormPruner masks (as NNI), fine-tune both
// the same way, evaluate both on the test set and print a table.
//
//   train_fmnist --model vgg_small --epochs 15 --augment --out vgg.h5
//   sensitivity_fmnist --weights vgg.h5 --target 0.5 --finetune-epochs 2 --sensitivity-images 2000 --cache sens.json
//
// "MACs removed" is measured, not modelled: 1 − (effective MACs of the masked copy) / (dense
// MACs), per sample, by compression::count_layers. A masked filter removes its own MACs only;
// the input channels it takes from the next layer count once speedup shrinks the model. The
// uniform ratio is searched until its measured reduction is within --tolerance of the guided one.
// The last line is a summary of both runs.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "autograd/generator.h"
#include "compression/analysis/counting.h"
#include "compression/analysis/sensitivity.h"
#include "compression/config_list.h"
#include "compression/pruning/layer_pruning.h"
#include "compression/pruning/weight_pruners.h"
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

const Shape kInput = {1, 1, 28, 28};

/// A config_list that prunes each layer of `ratios` at its own ratio.
compression::ConfigList per_layer_config(const std::map<std::string, double>& ratios) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [layer, ratio] : ratios) list.push_back({{"op_names", {layer}}, {"sparsity", ratio}});
  return compression::ConfigList::from_json(list, "per-layer ratios");
}

/// A copy of `dense` with L1NormPruner masks at `ratios`.
struct PrunedCopy {
  nn::ModulePtr model;
  std::unique_ptr<compression::L1NormPruner> pruner;
  std::vector<compression::LayerCount> counts;
  compression::CountTotals totals;

  PrunedCopy(const nn::Module& dense, const std::map<std::string, double>& ratios) : model(dense.clone()) {
    pruner = std::make_unique<compression::L1NormPruner>(model, per_layer_config(ratios));
    pruner->compress();
    recount();
  }
  void recount() {
    counts = compression::count_layers(*model, kInput);
    totals = compression::count_totals(counts);
  }
  /// The fraction of the filters of `layer` that the masks prune (of its MACs, the same).
  double pruned_fraction(const std::string& layer) const {
    for (const auto& c : counts)
      if (c.name == layer) return 1.0 - static_cast<double>(c.effective_macs) / static_cast<double>(c.macs);
    return 0.0;
  }
  /// The fraction of the dense MACs that the masks remove.
  double macs_removed() const {
    return 1.0 - static_cast<double>(totals.effective_macs) / static_cast<double>(totals.macs);
  }
};

std::map<std::string, double> same_ratio(const std::vector<std::string>& layers, double ratio) {
  std::map<std::string, double> ratios;
  for (const auto& layer : layers) ratios[layer] = ratio;
  return ratios;
}

/// `v` as the command line would write it ("1.2", not "1.200000").
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// Test top-1 before and after fine-tuning one pruned copy.
struct Run {
  double pruned = 0, finetuned = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "vgg_small";
  std::string weights;
  double target = 0.5;
  std::vector<double> ratios = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::int64_t sensitivity_images = 0;
  std::string cache;
  double tolerance = 0.005;
  int finetune_epochs = 2;
  double finetune_lr = 0.01;
  std::int64_t batch_size = 128;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;
  std::int64_t test_limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;

  CLI::App app{"Sensitivity-guided against uniform L1 filter pruning of every Conv2d of a trained zoo model at the "
               "same MACs reduction, fine-tuned alike and evaluated on Fashion-MNIST.",
               "sensitivity_fmnist"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--model", model_name, "Zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--weights", weights, "The trained dense weights (HDF5, e.g. from train_fmnist); required")
      ->check(CLI::ExistingFile);
  app.add_option("--target", target, "Fraction of the model's MACs to remove")->capture_default_str();
  app.add_option("--ratios", ratios, "Pruning ratios measured per layer by the sensitivity analysis")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->capture_default_str();
  app.add_option("--sensitivity-images", sensitivity_images,
                 "Evaluate the sensitivity analysis on the first N test images (0: the whole test set)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--cache", cache, "Sensitivity cache (JSON): written after every evaluation, resumed from if it exists");
  app.add_option("--tolerance", tolerance, "How close the uniform run's measured MACs reduction must be to the guided one's")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--finetune-epochs", finetune_epochs, "Fine-tuning epochs of each pruned copy")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--finetune-lr", finetune_lr, "Fine-tuning learning rate (cosine-annealed to 0)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "Training batch size")->check(cli::positive())->capture_default_str();
  app.add_option("--seed", seed, "Seed of the shuffles (the same for both runs)")->capture_default_str();
  app.add_option("--limit", limit, "Fine-tune on the first N training images only (0: all 60,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--test-limit", test_limit, "Evaluate the pruned models on the first N test images only (0: all 10,000)")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--data", root, "Directory of the Fashion-MNIST idx files")->capture_default_str();
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;
  if (weights.empty()) return cli::usage_error(app, "--weights FILE is required (train one with train_fmnist)");
  if (!(target > 0 && target < 1))
    return cli::usage_error(app, "--target: expected a fraction in (0, 1), got " + number(target));
  std::set<double> distinct;
  for (const double r : ratios)
    if (!(r > 0 && r < 1) || !distinct.insert(r).second)
      return cli::usage_error(app, "--ratios: expected distinct values in (0, 1), got " + number(r) +
                                            (r > 0 && r < 1 ? " twice" : ""));

  try {
    manual_seed(seed);
    nn::ModulePtr dense = models::create(model_name);
    nn::load_weights(*dense, weights);
    const auto dense_counts = compression::count_layers(*dense, kInput);
    const auto dense_totals = compression::count_totals(dense_counts);
    std::vector<std::string> layers;
    for (const auto& c : dense_counts)
      if (c.type == "Conv2d") layers.push_back(c.name);

    auto normalize = examples::fmnist_normalize();
    auto train_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), limit);
    auto test_full = std::make_shared<data::FashionMNIST>(root, false);
    auto test_set = examples::first(test_full, test_limit);
    auto sens_set = examples::first(test_full, sensitivity_images);
    data::DataLoader train_loader(train_set,
                                  {.batch_size = batch_size, .shuffle = true, .seed = seed, .transform = normalize});
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});
    data::DataLoader sens_loader(sens_set, {.batch_size = 500, .transform = normalize});
    std::printf("%s from %s: %zu Conv2d layers, %lld MACs per sample; sensitivity on %lld test images, "
                "fine-tuning on %lld training images, evaluation on %lld test images\n",
                model_name.c_str(), weights.c_str(), layers.size(), static_cast<long long>(dense_totals.macs),
                static_cast<long long>(sens_set->size()), static_cast<long long>(train_set->size()),
                static_cast<long long>(test_set->size()));

    const double dense_accuracy = examples::evaluate(*dense, test_loader, "  dense test");

    // 1. Sensitivity of each Conv2d alone (L1 filter pruning, restored after each point).
    std::int64_t evaluations = 0;
    compression::EvalFn eval = [&](nn::Module& m) {
      return examples::evaluate(m, sens_loader, "  sensitivity eval " + std::to_string(++evaluations));
    };
    const auto sens = compression::analyze_sensitivity(*dense, layers, eval, compression::filter_pruning(1),
                                                       {.ratios = ratios, .cache_path = cache});
    std::printf("\nsensitivity: top-1 on %lld test images when one layer loses a fraction of its filters "
                "(unpruned %.2f%%; %lld evaluations run, the rest from the cache)\n%-12s",
                static_cast<long long>(sens_set->size()), 100.0 * sens.baseline, static_cast<long long>(evaluations),
                "layer");
    for (const double r : sens.ratios) std::printf(" %7.2f", r);
    std::printf("\n");
    for (const auto& layer : layers) {
      std::printf("%-12s", layer.c_str());
      for (const double m : sens.metrics.at(layer)) std::printf(" %6.2f%%", 100.0 * m);
      std::printf("\n");
    }

    // 2. Guided ratios for the target, and the uniform ratio that removes the same measured MACs.
    const auto guided_ratios =
        compression::ratios_for_macs_target(sens, compression::macs_by_layer(dense_counts), dense_totals.macs, target);
    PrunedCopy guided(*dense, guided_ratios);
    const double uniform_ratio = compression::uniform_ratio_for_macs_target(
        [&](double r) { return PrunedCopy(*dense, same_ratio(layers, r)).macs_removed(); }, guided.macs_removed(),
        tolerance);
    PrunedCopy uniform(*dense, same_ratio(layers, uniform_ratio));
    const auto macs = compression::macs_by_layer(dense_counts);
    std::printf("\nper-layer ratios for a %.0f%% MACs target: the guided solver's, and the fraction of filters each "
                "copy's masks prune (uniform ratio %.6f, searched to the guided copy's measured reduction within %g)\n"
                "%-12s %10s %13s %14s %15s\n",
                100.0 * target, uniform_ratio, tolerance, "layer", "MACs share", "guided ratio", "guided pruned",
                "uniform pruned");
    for (const auto& layer : layers)
      std::printf("%-12s %9.2f%% %13.3f %14.3f %15.3f\n", layer.c_str(),
                  100.0 * static_cast<double>(macs.at(layer)) / static_cast<double>(dense_totals.macs),
                  guided_ratios.at(layer), guided.pruned_fraction(layer), uniform.pruned_fraction(layer));

    // 3. Fine-tune each copy the same way (same seed, same batches) and evaluate on the test set.
    auto finetune = [&](PrunedCopy& copy, const std::string& name) {
      Run run;
      std::printf("\n%s:\n", name.c_str());
      run.pruned = examples::evaluate(*copy.model, test_loader, "  pruned test");
      manual_seed(seed);
      optim::SGD optimizer(copy.model->named_parameters(),
                           optim::SGDOptions(finetune_lr).momentum(0.9).weight_decay(5e-4));
      optim::CosineAnnealingLR scheduler(optimizer, std::max(finetune_epochs, 1));
      run.finetuned = run.pruned;
      for (std::int64_t epoch = 0; epoch < finetune_epochs; ++epoch) {
        copy.pruner->update_epoch(epoch);
        train_loader.set_epoch(epoch);
        examples::train_epoch(*copy.model, train_loader, optimizer,
                              "  fine-tune " + std::to_string(epoch + 1) + "/" + std::to_string(finetune_epochs),
                              {.after_step = [&] { copy.pruner->step(); }});
        scheduler.step();
        run.finetuned = examples::evaluate(*copy.model, test_loader, "  pruned test");
      }
      copy.recount();
      return run;
    };
    const Run g = finetune(guided, "guided");
    const Run u = finetune(uniform, "uniform");

    std::printf("\n%-8s %14s %13s %12s %15s %17s\n", "run", "MACs left", "MACs removed", "params left",
                "top-1 pruned", "top-1 fine-tuned");
    auto row = [&](const char* name, const PrunedCopy& c, const Run& r) {
      std::printf("%-8s %14lld %12.2f%% %12lld %14.2f%% %16.2f%%\n", name, static_cast<long long>(c.totals.effective_macs),
                  100.0 * c.macs_removed(), static_cast<long long>(c.totals.nonzero_params), 100.0 * r.pruned,
                  100.0 * r.finetuned);
    };
    std::printf("%-8s %14lld %12.2f%% %12lld %14s %16.2f%%\n", "dense", static_cast<long long>(dense_totals.macs), 0.0,
                static_cast<long long>(dense_totals.params), "-", 100.0 * dense_accuracy);
    row("guided", guided, g);
    row("uniform", uniform, u);
    std::printf("summary: %s at a %.0f%% MACs target, fine-tuning epochs %d: guided top-1 %.2f%% (%.2f%% of MACs "
                "removed), uniform top-1 %.2f%% (%.2f%% removed); guided - uniform = %.2f points\n",
                model_name.c_str(), 100.0 * target, finetune_epochs, 100.0 * g.finetuned, 100.0 * guided.macs_removed(),
                100.0 * u.finetuned, 100.0 * uniform.macs_removed(), 100.0 * (g.finetuned - u.finetuned));
  } catch (const Error& e) {
    std::cerr << "sensitivity_fmnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
