#pragma once
/// \file
/// config_list: which layers a compressor works on and with which settings (NNI 2.x semantics).
///
/// A config_list is a JSON array of dicts, applied in order:
///
/// \code{.json}
///   [{"op_types": ["Conv2d"], "sparsity": 0.5},
///    {"op_names": ["features.0"], "sparsity": 0.2},   // a later dict wins for the layers it selects
///    {"op_names_re": ["classifier\\..*"], "exclude": true}]
/// \endcode
///
/// Selectors: `op_types` (module type names as in PyTorch: "Conv2d", "Linear", "BatchNorm2d"...;
/// "default" = the types the compressor prunes by default, Linear and Conv2d for most pruners),
/// `op_names` (full dotted names), `op_partial_names` (substrings), `op_names_re` (ECMAScript
/// regular expressions matching the whole name). A dict selects the modules that pass every
/// selector it has; it needs at least one. For each module the LAST dict that selects it decides;
/// when that dict has `"exclude": true` the module is not compressed.
///
/// Settings: `sparsity` (deprecated alias of `sparsity_per_layer`; both in one dict is an error),
/// `total_sparsity` (one budget over all the dict's layers: global allocation) with
/// `max_sparsity_per_layer` (cap of each layer, default 0.99); quantization keys `quant_types`
/// (list of "weight", "input", "output"), `quant_start_step`, and, each either one value for
/// every quant type or an object {type: value}: `quant_bits` (1–32), `quant_scheme`
/// (per_tensor_affine|per_tensor_symmetric|per_channel_affine|per_channel_symmetric),
/// `quant_dtype` ("int": NNI's restricted signed grid ±(2^(b−1)−1); "uint": [0, 2^b−1];
/// "int_full": PyTorch's qint8 grid [−2^(b−1), 2^(b−1)−1]) and `observer` (a name, see
/// compression/quantization/). Which keys and module types a
/// compressor accepts is its ConfigRules; select_layers() checks them.
///
/// Errors are ValueErrors naming the dict index and the key: unknown key (listing the allowed
/// ones), wrong type, value out of range, a module type the compressor cannot handle; malformed
/// JSON gives the line and column. A name that matches no module is a warning (shrink::warn);
/// nothing selected at all is an error. Nothing is changed in the model by any of this.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace shrink::compression {

/// One dict of a config_list, checked for syntax (selector types, known keys and their value
/// types and ranges); not yet checked against a model or a compressor.
struct ConfigDict {
  /// Position in the list: messages say `config_list[<index>]`.
  std::size_t index = 0;
  std::optional<std::vector<std::string>> op_types;
  std::optional<std::vector<std::string>> op_names;
  std::optional<std::vector<std::string>> op_partial_names;
  std::optional<std::vector<std::string>> op_names_re;
  bool exclude = false;
  /// Every other key, as written (`sparsity` is kept under its own name; read it with
  /// sparsity_per_layer()).
  nlohmann::json settings = nlohmann::json::object();

  /// `sparsity_per_layer` or its alias `sparsity`, if set.
  std::optional<double> sparsity_per_layer() const;
  /// `total_sparsity`, if set.
  std::optional<double> total_sparsity() const;
  /// `max_sparsity_per_layer` (0.99 when absent).
  double max_sparsity_per_layer() const;
  /// True when `key` is in settings.
  bool has(const std::string& key) const { return settings.contains(key); }
};

/// A parsed, syntax-checked config_list.
class ConfigList {
 public:
  ConfigList() = default;
  /// Parses JSON text. `source` names the text in messages (a file path, "config_list"...).
  /// Throws ValueError for malformed JSON (with line and column) and for every syntax rule above.
  static ConfigList parse(const std::string& json_text, const std::string& source = "config_list");
  /// Checks an already-parsed JSON value.
  static ConfigList from_json(const nlohmann::json& value, const std::string& source = "config_list");
  /// Reads and parses a file (IOError when it cannot be read; at most 16 MiB).
  static ConfigList from_file(const std::string& path);

  const std::vector<ConfigDict>& dicts() const { return dicts_; }
  /// What messages call this list ("config_list" or the file path).
  const std::string& source() const { return source_; }
  /// The list as JSON again (settings as written).
  nlohmann::json to_json() const;

 private:
  std::vector<ConfigDict> dicts_;
  std::string source_ = "config_list";
};

/// What one compressor accepts in a config_list.
struct ConfigRules {
  /// The compressor's name, first word of its messages ("L1NormPruner").
  std::string compressor;
  /// Module types it can compress ("Conv2d", "Linear"...).
  std::vector<std::string> op_types = {"Linear", "Conv2d"};
  /// What "default" in op_types stands for (a subset of op_types).
  std::vector<std::string> default_op_types = {"Linear", "Conv2d"};
  /// Setting keys it accepts besides the selectors and `exclude`.
  std::vector<std::string> keys = {"sparsity", "sparsity_per_layer", "total_sparsity", "max_sparsity_per_layer"};
  /// Each non-exclude dict must set one of these (empty: no requirement).
  std::vector<std::string> required_one_of = {"sparsity", "sparsity_per_layer", "total_sparsity"};
};

/// One module a config_list selected, with the dict that decided.
struct SelectedLayer {
  /// Dotted module name ("features.0").
  std::string name;
  /// Its type name ("Conv2d").
  std::string type;
  nn::ModulePtr module;
  /// The dict that selected it last (never an exclude dict).
  const ConfigDict* dict = nullptr;
};

/// The modules of `model` that `config` selects for a compressor with `rules`, in the model's
/// module order. Checks the keys and op types against `rules` (ValueError naming the dict and
/// key), warns about names that match nothing, and throws ValueError when nothing is selected.
/// The returned dict pointers point into `config`, which must outlive the result.
std::vector<SelectedLayer> select_layers(const nn::Module& model, const ConfigList& config, const ConfigRules& rules);

}  // namespace shrink::compression
