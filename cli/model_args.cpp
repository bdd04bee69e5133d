#include "cli/model_args.h"

#include <algorithm>
#include <filesystem>

#include "autograd/error.h"
#include "cli/command_line.h"
#include "examples/fmnist.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "speedup/model_file.h"

namespace shrink::cli {
namespace {

std::string zoo_list() {
  std::string list;
  for (const auto& name : models::names()) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

void add_model_options(CLI::App& app, ModelArgs& args, bool allow_model_file, bool model_required) {
  CLI::Option* model =
      app.add_option("--model", args.model,
                     allow_model_file ? "Zoo model (" + zoo_list() + ") or a model file (shrink speedup writes one)"
                                      : "Zoo model (" + zoo_list() + ")");
  if (model_required) model->required();
  app.add_option("--weights", args.weights, "Weights (HDF5 state_dict, e.g. from shrink train) loaded into the model")
      ->check(existing_file());
}

nn::ModulePtr load_model(const ModelArgs& args, bool allow_model_file) {
  const auto names = models::names();
  nn::ModulePtr model;
  if (std::find(names.begin(), names.end(), args.model) != names.end()) {
    model = models::create(args.model);
  } else if (allow_model_file && std::filesystem::is_regular_file(args.model)) {
    model = io::load_model(args.model);
  } else {
    throw ValueError("--model: expected a zoo model (" + zoo_list() + ")" +
                     (allow_model_file ? " or an existing model file" : "") + ", got '" + args.model + "'");
  }
  if (!args.weights.empty()) nn::load_weights(*model, args.weights);
  model->eval();
  return model;
}

void add_data_options(CLI::App& app, DataArgs& args, bool train_limit, bool test_limit) {
  app.add_option("--data", args.root, "Directory of the Fashion-MNIST idx files")->capture_default_str();
  if (train_limit)
    app.add_option("--train-limit", args.train_limit, "Use the first N training images only (0: all 60,000)")
        ->check(positive(/*allow_zero=*/true))
        ->capture_default_str();
  if (test_limit)
    app.add_option("--test-limit", args.test_limit, "Use the first N test images only (0: all 10,000)")
        ->check(positive(/*allow_zero=*/true))
        ->capture_default_str();
}

std::shared_ptr<const data::Dataset> fashion_mnist(const DataArgs& args, bool train) {
  return examples::first(std::make_shared<data::FashionMNIST>(args.root, train),
                         train ? args.train_limit : args.test_limit);
}

void check_output_path(const std::string& path, const std::string& option) {
  namespace fs = std::filesystem;
  if (path.empty()) throw ValueError(option + ": expected a file name, got ''");
  if (fs::is_directory(path)) throw ValueError(option + ": expected a file name, got the directory '" + path + "'");
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw ValueError(option + ": expected a file in an existing directory, got '" + path + "' ('" + parent.string() +
                     "' is not a directory)");
}

}  // namespace shrink::cli
