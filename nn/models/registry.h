#pragma once
/// \file
/// The model zoo registry: models::create("vgg_small"), models::names().

#include <string>
#include <vector>

#include "nn/module.h"

namespace shrink::models {

/// A new model by zoo name (mlp, naive, lenet5, vgg_small, resnet20, mobilenet_small,
/// inception_small), initialised from the default generator; throws ValueError listing the names.
nn::ModulePtr create(const std::string& name);
/// Every zoo name, in the order of tests/reference/models.py.
std::vector<std::string> names();

}  // namespace shrink::models
