#pragma once
/// \file
/// The quantizers by name: what a command line or a pipeline file uses to build one, as
/// compression/pruning/registry.h does for the pruners.
///
/// \code
///   auto quantizer = compression::make_quantizer(
///       "qat", model, ConfigList::from_file("qat_vgg_int8.json"),
///       {{"fold_bn", speedup::conv_bn_pairs(*model, zeros({1, 1, 28, 28}))}});
///   quantizer->compress();
/// \endcode
///
/// Names: "qat" (QATQuantizer), "ptq" (PTQQuantizer), "naive" (NaiveQuantizer), "dorefa"
/// (DoReFaQuantizer), "bnn" (BNNQuantizer), "lsq" (LSQQuantizer). Options are the fields of the
/// quantizer's option struct as a JSON object: QAT's "fold_bn", the (Conv2d, BatchNorm2d) pairs
/// to fold as a list of two-name lists ([["0", "1"], ...]) or false / [] for none; LSQ's
/// "learn_zero_point" (true or false, LSQOptions). Finding the pairs needs the traced graph (speedup::conv_bn_pairs), which lives above
/// compression/: a caller that has it (the pipeline's `"fold_bn": true`) passes the pairs it found.
/// An unknown name or option key is a ValueError listing the known ones; a value of the wrong type
/// is a ValueError naming it.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compression/config_list.h"
#include "compression/quantization/quantizer.h"
#include "nn/module.h"

namespace shrink::compression {

/// Every name make_quantizer() knows, in a fixed order: qat, ptq, naive, dorefa, bnn, lsq.
std::vector<std::string> quantizer_names();

/// The option keys quantizer `name` accepts (empty when it has none); ValueError for an unknown name.
std::vector<std::string> quantizer_options(const std::string& name);

/// A new quantizer `name` on `model` with `config` and `options` (a JSON object or null). It is not
/// compressed yet: call compress(), which checks the config_list as usual.
std::unique_ptr<Quantizer> make_quantizer(const std::string& name, nn::ModulePtr model, ConfigList config,
                                          const nlohmann::json& options = {});

}  // namespace shrink::compression
