// quantize_fmnist: quantization-aware training (QAT) or post-training quantization (PTQ) of a zoo
// model on Fashion-MNIST from a config_list file, with the three exports: the float weights the
// quantized model computes with, NNI's calibration config, and the int8 HDF5 file, which is then
// loaded back (io::load_quantized) into a fresh model and evaluated again.
//
//   train_fmnist --model vgg_small --epochs 15 --lr 0.05 --seed 0 --augment --out vgg.h5
//   quantize_fmnist --weights vgg.h5 --method ptq --config examples/configs/ptq_vgg_int8.json
//   quantize_fmnist --weights vgg.h5 --method qat --epochs 2 --config examples/configs/qat_vgg_int8.json
//
// PTQ calibrates on the first --calibration-images training images (eval mode, no augmentation)
// and freezes; QAT fine-tunes for --epochs with the quantizer's step() after each optimizer step.
// The last line is a summary: float top-1, quantized top-1, the difference, and the top-1 of the
// model rebuilt from the int8 file.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "compression/config_list.h"
#include "compression/quantization/lsq_quantizer.h"
#include "compression/quantization/ptq_quantizer.h"
#include "compression/quantization/quantizer_registry.h"
#include "speedup/conv_bn_pairs.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "io/quantized_file.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

using namespace shrink;

namespace {

/// The quantizer `method` names; with `fold_bn`, QAT folds every Conv-BN pair of the model.
std::unique_ptr<compression::Quantizer> make(const std::string& method, nn::ModulePtr model,
                                             const compression::ConfigList& config, bool fold_bn = false) {
  nlohmann::json options;
  if (fold_bn) options["fold_bn"] = speedup::conv_bn_pairs(*model, zeros({1, 1, 28, 28}));
  return compression::make_quantizer(method, std::move(model), config, options);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "vgg_small";
  std::string weights;
  std::string method = "ptq";
  bool fold_bn = false;
  bool bias_correction = false;
  std::string config_path;
  int dense_epochs = 3;
  int epochs = 2;
  std::int64_t calibration_images = 1000;
  std::int64_t batch_size = 128;
  double dense_lr = 0.05;
  double lr = 0.001;
  std::uint64_t seed = 0;
  std::int64_t limit = 0;
  std::int64_t test_limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::string out = "quantized.h5";
  std::string calibration_out = "calibration.json";
  std::string int8_out = "quantized.int8.h5";

  CLI::App app{"Quantize a zoo model on Fashion-MNIST with QAT or PTQ from a config_list, evaluate it, export the "
               "quantized weights, the calibration config and the int8 file, and evaluate the model rebuilt from it.",
               "quantize_fmnist"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--model", model_name, "Zoo model")->check(CLI::IsMember(models::names()))->capture_default_str();
  app.add_option("--weights", weights, "Load the float weights from this HDF5 file instead of training")
      ->check(CLI::ExistingFile);
  app.add_option("--method", method, "Quantizer: qat, ptq (calibrate and freeze), naive, dorefa, bnn, lsq (trained)")
      ->check(CLI::IsMember(compression::quantizer_names()))
      ->capture_default_str();
  app.add_flag("--fold-bn", fold_bn, "qat: fold every Conv2d -> BatchNorm2d pair while training");
  app.add_flag("--bias-correction", bias_correction,
               "ptq: after calibrating, add each layer's mean weight-quantization error to its bias");
  app.add_option("--config", config_path, "config_list JSON file (examples/configs/); required");
  app.add_option("--dense-epochs", dense_epochs, "Float training epochs (without --weights)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--epochs", epochs, "Every method but ptq: quantization-aware fine-tuning epochs")
      ->check(cli::positive(/*allow_zero=*/true))
      ->capture_default_str();
  app.add_option("--calibration-images", calibration_images, "ptq: training images the observers see")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "Batch size")->check(cli::positive())->capture_default_str();
  app.add_option("--dense-lr", dense_lr, "Float training learning rate (cosine-annealed to 0)")
      ->check(cli::positive())
      ->capture_default_str();
  app.add_option("--lr", lr, "Fine-tuning learning rate (cosine-annealed to 0)")
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
  app.add_option("--out", out, "Where to write the weights the quantized model computes with")->capture_default_str();
  app.add_option("--calibration-out", calibration_out, "Where to write the calibration config (JSON)")
      ->capture_default_str();
  app.add_option("--int8-out", int8_out, "Where to write the int8 HDF5 file")->capture_default_str();
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;
  if (config_path.empty())
    return cli::usage_error(app, "--config FILE is required (a config_list, e.g. examples/configs/ptq_vgg_int8.json)");

  manual_seed(seed);
  nn::ModulePtr model;
  compression::ConfigList config;
  try {
    model = models::create(model_name);
    config = compression::ConfigList::from_file(config_path);
    if (fold_bn && method != "qat") return cli::usage_error(app, "--fold-bn: expected --method qat, got " + method);
    if (bias_correction && method != "ptq")
      return cli::usage_error(app, "--bias-correction: expected --method ptq, got " + method);
    make(method, model->clone(), config, fold_bn)->compress();  // a dry run: the config_list is checked before training
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
    std::printf("%s on %lld training and %lld test images; %s, config %s\n", model_name.c_str(),
                static_cast<long long>(train_set->size()), static_cast<long long>(test_set->size()), method.c_str(),
                config_path.c_str());
    if (!weights.empty()) {
      nn::load_weights(*model, weights);
      std::printf("float weights loaded from %s\n", weights.c_str());
    } else {
      examples::train_dense(*model, train_loader, dense_epochs, dense_lr, "float");
    }
    const double float_accuracy = examples::evaluate(*model, test_loader, "  float test");

    auto quantizer = make(method, model, config, fold_bn);
    quantizer->compress();
    // LSQ's learned scales train with the weights (no weight decay on them).
    std::vector<optim::ParamGroup> groups{{model->named_parameters(), {}}};
    if (auto* lsq = dynamic_cast<compression::LSQQuantizer*>(quantizer.get()))
      groups.push_back({lsq->named_parameters(), {{"weight_decay", 0.0}}});
    optim::SGD optimizer(groups, optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
    optim::CosineAnnealingLR scheduler(optimizer, std::max(epochs, 1));
    if (auto* ptq = dynamic_cast<compression::PTQQuantizer*>(quantizer.get())) {
      auto calibration_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), calibration_images);
      data::DataLoader calibration_loader(calibration_set, {.batch_size = 100, .transform = normalize});
      auto run_calibration = [&] {
        NoGradGuard no_grad;
        for (const data::Batch& batch : calibration_loader) (*model)(batch.data);
      };
      ptq->calibrate(run_calibration);
      std::printf("calibrated on %lld training images\n", static_cast<long long>(calibration_set->size()));
      if (bias_correction)
        std::printf("bias correction on the same images: %lld biases corrected\n",
                    static_cast<long long>(ptq->correct_bias(run_calibration)));
    } else {
      for (std::int64_t epoch = 0; epoch < epochs; ++epoch) {
        train_loader.set_epoch(dense_epochs + epoch);
        examples::train_epoch(*model, train_loader, optimizer,
                              method + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
                              {.after_step = [&] { quantizer->step(); }});
        scheduler.step();
      }
    }
    const double quantized_accuracy = examples::evaluate(*model, test_loader, "  quantized test");
    quantizer->export_model(out, calibration_out, int8_out);
    std::printf("exported %s, %s, %s (int8 file %.1f%% of the float weights file)\n", out.c_str(),
                calibration_out.c_str(), int8_out.c_str(),
                100.0 * static_cast<double>(std::filesystem::file_size(int8_out)) /
                    static_cast<double>(std::filesystem::file_size(out)));

    // A fresh model from the int8 file, with the activations quantized by the calibration config.
    // Naive and DoReFa quantize weights only, and their exported weights are final: quantizing
    // them again would move them (Naive truncates, and (k·s)/s may land just below k; DoReFa
    // renormalises), so the plain model is the whole of it.
    nn::ModulePtr rebuilt = models::create(model_name);
    rebuilt->load_state_dict(io::load_quantized(int8_out));
    std::unique_ptr<compression::Quantizer> frozen;
    if (method != "dorefa" && method != "naive") {
      frozen = make(method, rebuilt, config);  // the export is unfolded: no --fold-bn here
      frozen->compress();
      frozen->load_calibration_config(calibration_out);
    }
    const double rebuilt_accuracy = examples::evaluate(*rebuilt, test_loader, "  int8 file test");
    std::printf("summary: %s %s%s: float top-1 %.2f%%, quantized top-1 %.2f%% (%+.2f points), from the int8 file "
                "%.2f%%\n",
                model_name.c_str(), method.c_str(), fold_bn ? " (Conv-BN folded)" : "", 100.0 * float_accuracy,
                100.0 * quantized_accuracy, 100.0 * (quantized_accuracy - float_accuracy), 100.0 * rebuilt_accuracy);
    // The export computes what the quantized model computed; unfolding a folded conv moves float
    // rounding, which may flip an image or two.
    const double allowed = fold_bn ? 0.001 : 0.0;
    if (std::abs(rebuilt_accuracy - quantized_accuracy) > allowed) {
      std::cerr << "quantize_fmnist: the model rebuilt from the int8 file does not compute what the quantized model "
                   "computed\n";
      return 1;
    }
  } catch (const Error& e) {
    std::cerr << "quantize_fmnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
