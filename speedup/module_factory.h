#pragma once
/// \file
/// The leaf layers a model file can hold (speedup/model_file.h): each layer type of nn/ with its
/// constructor options as JSON, under PyTorch's argument names, both ways.
///
///     {"type": "Conv2d", "options": {"in_channels": 16, "out_channels": 32, "kernel_size": [3, 3],
///      "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1, "bias": false}}
///
/// Writing refuses a module of any other type (a user's own leaf, a subclass of a layer), a
/// module with parametrizations (masks, fake-quant) and a module holding tensors its options do
/// not explain. Reading treats the JSON as hostile: every option is type-, range- and
/// consistency-checked, unknown and missing fields are errors, and the tensors the module will
/// hold (names, shapes, dtypes) are known before anything is built, so that a reader checks a
/// file's datasets against them before it allocates.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/state_dict_diff.h"
#include "nn/module.h"

namespace shrink::speedup {

/// The layer types module_to_json writes and module_from_json reads, sorted
/// ("AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", ...).
std::vector<std::string> serializable_module_types();

/// `{"type": ..., "options": {...}}` of the leaf `module`, registered as `name` (used in errors).
/// ValueError naming `name` and the type when the module is not exactly one of
/// serializable_module_types() (a user's own leaf or a subclass), has parametrizations, or holds
/// tensors other than those of a layer built from its options.
nlohmann::json module_to_json(const nn::Module& module, const std::string& name);

/// A module description read from JSON, validated but not built.
struct ModuleSpec {
  std::string type;
  /// The state_dict entries of a module built from the spec, with local names ("weight",
  /// "running_mean", ...), shapes and dtypes, in the module's order.
  std::vector<io::EntrySpec> entries;
  /// Builds the module (parameters initialised as its constructor does).
  std::function<nn::ModulePtr()> build;
};

/// Parses `json` ({"type", "options"}, as module_to_json writes it) for the module `name`.
/// ValueError "module '<name>' (<type>): field \"<field>\": expected <x>, got <y>" for a bad
/// option, and naming the field for an unknown type, an unknown or a missing field. Sizes are
/// bounded (channels and features <= 2^24, kernel, stride, padding and dilation <= 2^16, each
/// tensor <= 2^40 elements).
ModuleSpec module_from_json(const nlohmann::json& json, const std::string& name);

}  // namespace shrink::speedup
