#pragma once
/// \file
/// What several `shrink` subcommands share: the model argument (a zoo name or a model file, with
/// optional weights), the Fashion-MNIST options and their datasets, and output paths checked
/// before any work starts.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "autograd/tensor.h"
#include "io/data/dataset.h"
#include "nn/module.h"

namespace shrink::cli {

/// The input shape every zoo model takes, batch first: one 28x28 grey image.
inline const Shape kImageShape = {1, 1, 28, 28};

/// --model and --weights.
struct ModelArgs {
  std::string model;    ///< a zoo name (models::names()) or, where allowed, a model file
  std::string weights;  ///< a state_dict HDF5 file loaded into the model, or empty
};

/// Adds `--model` (a zoo name; with `allow_model_file` also the path of a model file) and
/// `--weights FILE` to `app`.
void add_model_options(CLI::App& app, ModelArgs& args, bool allow_model_file, bool model_required);

/// The model `args` names, in eval mode: a zoo model (initialised from the default generator)
/// with `weights` loaded, or a model file (io::load_model; `weights`, when given, loaded into
/// it). ValueError "--model: expected ..., got '<x>'" when it is neither a zoo name nor (where
/// allowed) an existing file; the loaders' IOError for a file that is not what it should be.
nn::ModulePtr load_model(const ModelArgs& args, bool allow_model_file);

/// The Fashion-MNIST options.
struct DataArgs {
  std::string root = data::FashionMNIST::kDefaultRoot;
  std::int64_t train_limit = 0;  ///< 0: all 60,000 training images
  std::int64_t test_limit = 0;   ///< 0: all 10,000 test images
};

/// Adds `--data DIR` and, when asked, `--train-limit N` / `--test-limit N`.
void add_data_options(CLI::App& app, DataArgs& args, bool train_limit, bool test_limit);

/// The first `limit` images of the training or test split (all when limit is 0). IOError with
/// the install hint when the dataset is missing.
std::shared_ptr<const data::Dataset> fashion_mnist(const DataArgs& args, bool train);

/// Checks, before any work, that `path` (the value of `option`) can be written: not empty, not a
/// directory, in a directory that exists. ValueError "<option>: expected ..., got '<path>'".
void check_output_path(const std::string& path, const std::string& option);

}  // namespace shrink::cli
