// Post-training quantization accuracy of one trained zoo model under several config_lists: loads
// the float weights, evaluates the float model, then for each named config_list a fresh copy of the
// model is quantized by PTQQuantizer, calibrated on the first --calibration-images training images
// (eval mode, batches of 100, no augmentation, Fashion-MNIST normalisation of examples/fmnist.h)
// and evaluated on the test set. Prints one JSON object per line: {"name": "float", "top1": ...},
// then {"name": ..., "top1": ...} per config (or {"name": ..., "error": ...} when PTQ refuses it).
// Driven by bench/ptq_vs_torch.py.
//
//   ptq_accuracy --weights vgg_small.h5 --configs configs.json [--model vgg_small]
//                [--calibration-images 1000] [--test-limit 0] [--data DIR] [--calibration-out DIR]
//
// configs.json: [{"name": "...", "config_list": [...], "fold_batchnorm": false,
//                 "calibration_config": {...}}, ...]. With "calibration_config" (the object
// Quantizer::calibration_config() writes, e.g. another framework's qparams), the quantizer is frozen
// at those qparams instead of calibrating. --calibration-out DIR writes each config's
// calibration_config() to DIR/<index>.json.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "compression/quantization/ptq_quantizer.h"
#include "examples/fmnist.h"
#include "io/data/dataloader.h"
#include "io/data/dataset.h"
#include "io/metrics.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "speedup/fold_batchnorm.h"

using namespace shrink;

namespace {

double top1(nn::Module& model, data::DataLoader& loader) {
  NoGradGuard no_grad;
  model.eval();
  std::int64_t correct = 0, seen = 0;
  for (const data::Batch& batch : loader) {
    correct += io::correct_topk(model(batch.data), batch.targets);
    seen += batch.targets.size(0);
  }
  return seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

void print(const nlohmann::json& line) {
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "vgg_small", weights, configs_path, root = data::FashionMNIST::kDefaultRoot,
              calibration_out;
  std::int64_t calibration_images = 1000, test_limit = 0;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "ptq_accuracy: %s needs a value\n", flag.c_str());
      return 2;
    }
    const std::string value = argv[i + 1];
    if (flag == "--model") model_name = value;
    else if (flag == "--weights") weights = value;
    else if (flag == "--configs") configs_path = value;
    else if (flag == "--calibration-images") calibration_images = std::stoll(value);
    else if (flag == "--test-limit") test_limit = std::stoll(value);
    else if (flag == "--data") root = value;
    else if (flag == "--calibration-out") calibration_out = value;
    else {
      std::fprintf(stderr, "ptq_accuracy: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (weights.empty() || configs_path.empty()) {
    std::fprintf(stderr, "ptq_accuracy: --weights FILE and --configs FILE are required\n");
    return 2;
  }
  try {
    std::ifstream in(configs_path);
    SHRINK_CHECK(in.good(), "ptq_accuracy: cannot read ", configs_path);
    const nlohmann::json configs = nlohmann::json::parse(in);
    auto normalize = examples::fmnist_normalize();
    auto calibration_set = examples::first(std::make_shared<data::FashionMNIST>(root, true), calibration_images);
    auto test_set = examples::first(std::make_shared<data::FashionMNIST>(root, false), test_limit);
    data::DataLoader calibration_loader(calibration_set, {.batch_size = 100, .transform = normalize});
    data::DataLoader test_loader(test_set, {.batch_size = 500, .transform = normalize});

    nn::ModulePtr float_model = models::create(model_name);
    nn::load_weights(*float_model, weights);
    print({{"name", "float"}, {"top1", top1(*float_model, test_loader)}, {"test_images", test_set->size()},
           {"calibration_images", calibration_set->size()}});
    for (std::size_t index = 0; index < configs.size(); ++index) {
      const nlohmann::json& entry = configs[index];
      const std::string name = entry.at("name");
      nn::ModulePtr model = models::create(model_name);
      nn::load_weights(*model, weights);
      // "fold_batchnorm": true folds each BatchNorm into its conv first, as PyTorch's fusion does
      // before quantizing (speedup/fold_batchnorm.h).
      if (entry.value("fold_batchnorm", false)) {
        model->eval();
        speedup::fold_batchnorm(*model, zeros({1, 1, 28, 28}));
      }
      try {
        compression::PTQQuantizer ptq(model, compression::ConfigList::from_json(entry.at("config_list"), name));
        ptq.compress();
        if (entry.contains("calibration_config")) {
          ptq.load_calibration_config(entry.at("calibration_config"));
        } else {
          ptq.calibrate([&] {
            NoGradGuard no_grad;
            for (const data::Batch& batch : calibration_loader) (*model)(batch.data);
          });
        }
        if (!calibration_out.empty()) {
          const std::string path = calibration_out + "/" + std::to_string(index) + ".json";
          std::ofstream out(path);
          SHRINK_CHECK(out.good(), "ptq_accuracy: cannot write ", path);
          out << ptq.calibration_config().dump(1) << "\n";
        }
        print({{"name", name}, {"top1", top1(*model, test_loader)}, {"layers", ptq.layers().size()}});
      } catch (const Error& e) {
        print({{"name", name}, {"error", e.what()}});
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "ptq_accuracy: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
