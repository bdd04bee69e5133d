// The program docs/getting-started.md walks through: what `shrink compress
// examples/configs/fmnist_demo.json` does, written out as a plain C++ training loop, the way a
// PyTorch + NNI user would write it.
//
//   getting_started                          (naive on all of Fashion-MNIST, a few minutes)
//   getting_started --limit 2000 --test-limit 500 --out-dir /tmp/gs   (a quick run)
//
// 1. Train the zoo model `naive` for --epochs (SGD, momentum 0.9, cosine learning rate).
// 2. Prune: L1Norm filter pruning at sparsity 0.5 on every Conv2d, masks in the forward graph,
//    fine-tune one epoch with the masks on.
// 3. Speedup: the masked channels are physically removed; the smaller model computes the same
//    function (same top-1).
// 4. QAT: int8 fake quantization of weights and activations of every Conv2d and Linear, one epoch.
// 5. Export: the model file, the weights, the calibration config and the int8 weights file.
// Each step prints its top-1; the last lines compare params and file sizes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "compression/analysis/counting.h"
#include "compression/config_list.h"
#include "compression/pruning/registry.h"
#include "compression/quantization/qat_quantizer.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
#include "speedup/channel_groups.h"
#include "speedup/model_file.h"
#include "speedup/model_speedup.h"
#include "speedup/trace.h"

using namespace shrink;

namespace {

/// Fine-tunes `model` for `epochs` at learning rate `lr` (cosine to 0), calling `after_step`
/// after every optimizer step; the epochs continue the shuffle seeds from `first_epoch`.
void fine_tune(nn::Module& model, data::DataLoader& loader, int epochs, double lr, std::int64_t first_epoch,
               const std::string& label, const std::function<void()>& after_step) {
  optim::SGD optimizer(model.named_parameters(), optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
  optim::CosineAnnealingLR scheduler(optimizer, epochs);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    loader.set_epoch(first_epoch + epoch);
    examples::train_epoch(model, loader, optimizer, label + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
                          {.after_step = after_step});
    scheduler.step();
  }
}

std::int64_t count_params(nn::Module& model) {
  std::int64_t n = 0;
  for (const Tensor& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 2;
  std::int64_t limit = 0, test_limit = 0;
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::string out_dir = "getting_started_out";
  CLI::App app{"Train, prune, speed up, quantize (QAT int8) and export the `naive` model on Fashion-MNIST "
               "in one C++ program (docs/getting-started.md).",
               "getting_started"};
  app.add_option("--epochs", epochs, "Dense training epochs")->check(cli::positive())->capture_default_str();
  app.add_option("--limit", limit, "Train on the first N training images only (0: all)")
      ->check(cli::positive(/*allow_zero=*/true));
  app.add_option("--test-limit", test_limit, "Evaluate on the first N test images only (0: all)")
      ->check(cli::positive(/*allow_zero=*/true));
  app.add_option("--data", root, "Directory of the Fashion-MNIST idx files")->capture_default_str();
  app.add_option("--out-dir", out_dir, "Where the exported files go")->capture_default_str();
  if (const auto status = cli::parse_command_line(app, argc, argv)) return *status;

  try {
    // Data: torchvision's FashionMNIST + Normalize + DataLoader, the same way.
    auto normalize = examples::fmnist_normalize();
    auto train_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), limit);
    auto test_set = examples::first(std::make_shared<data::FashionMNIST>(root, false), test_limit);
    data::DataLoader train_loader(train_set, {.batch_size = 128, .shuffle = true, .seed = 0, .transform = normalize});
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});
    std::filesystem::create_directories(out_dir);
    const auto path = [&](const std::string& name) { return (std::filesystem::path(out_dir) / name).string(); };

    // 1. The dense model.
    manual_seed(0);
    nn::ModulePtr model = models::create("naive");
    examples::train_dense(*model, train_loader, epochs, 0.05, "dense");
    const double dense = examples::evaluate(*model, test_loader, "  dense test");
    const std::int64_t dense_params = count_params(*model);

    // 2. Pruning, as NNI's L1NormPruner(model, config_list): masks are parametrizations, so the
    //    forward pass computes with weight * mask and masked weights get zero gradient.
    //    Dependency groups make layers whose channels are coupled choose the same channels.
    const Tensor example = zeros({1, 1, 28, 28});
    auto pruner = compression::make_pruner(
        "l1norm", model, compression::ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
    pruner->set_dependency_groups(speedup::dependency_groups(speedup::trace(*model, example), *model));
    pruner->compress();
    fine_tune(*model, train_loader, 1, 0.01, epochs, "fine-tune", [&] { pruner->step(); });
    const double pruned = examples::evaluate(*model, test_loader, "  pruned test");
    pruner->export_model(path("pruned.weights.h5"), path("pruned.masks.h5"));

    // 3. Speedup, as NNI's ModelSpeedup(model, dummy_input, masks).speedup_model(): the model is
    //    shrunk in place and checked against the masked model on random inputs.
    io::StateDict masks = pruner->get_masks();
    pruner->unwrap();
    const speedup::SpeedupReport report = speedup::ModelSpeedup(*model, example, masks).speedup_model();
    const double shrunk = examples::evaluate(*model, test_loader, "  shrunk test");

    // 4. Quantization-aware training, as NNI's QAT_Quantizer: fake-quant int8 inside the graph.
    compression::QATQuantizer quantizer(model, compression::ConfigList::parse(R"([{
        "op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input", "output"], "quant_bits": 8}])"));
    quantizer.compress();
    fine_tune(*model, train_loader, 1, 0.01, epochs + 1, "qat", [&] { quantizer.step(); });
    const double quantized = examples::evaluate(*model, test_loader, "  int8 test");

    // 5. Export: weights + calibration (NNI's export_model) and the int8 weights file. Then the
    //    fake quantization is taken off and the model file saved: it holds the shrunk architecture
    //    and its float weights, so loading it needs no model code (io::load_model); the
    //    calibration config quantizes it again exactly as trained.
    quantizer.export_model(path("qat.weights.h5"), path("qat.calibration.json"), path("qat.int8.h5"));
    quantizer.unwrap();
    io::save_model(*model, example, path("model.h5"));

    std::printf("top-1: dense %.2f%%, pruned %.2f%%, shrunk %.2f%%, int8 %.2f%%\n", 100 * dense, 100 * pruned,
                100 * shrunk, 100 * quantized);
    std::printf("params: %lld dense -> %lld shrunk (%.2fx fewer); MACs per image %lld -> %lld\n",
                static_cast<long long>(dense_params), static_cast<long long>(report.params_after),
                static_cast<double>(dense_params) / static_cast<double>(report.params_after),
                static_cast<long long>(report.macs_before), static_cast<long long>(report.macs_after));
    std::printf("files: pruned weights %lld bytes, int8 weights %lld bytes\n",
                static_cast<long long>(std::filesystem::file_size(path("pruned.weights.h5"))),
                static_cast<long long>(std::filesystem::file_size(path("qat.int8.h5"))));
    if (shrunk != pruned) {
      std::cerr << "getting_started: the shrunk model's top-1 " << 100 * shrunk << "% differs from the pruned model's "
                << 100 * pruned << "%\n";
      return 1;
    }
  } catch (const Error& e) {
    std::cerr << "getting_started: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
