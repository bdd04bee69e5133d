#pragma once
/// \file
/// The JSON cache of analyze_sensitivity() (internal). The file:
///
///     {"format": "shrink.sensitivity", "version": 1,
///      "model": {"state": [["conv.weight", [4, 1, 3, 3]], ...], "checksum": "<16 hex digits>"},
///      "layers": ["conv", ...], "ratios": [0.1, ...],
///      "baseline": 0.91 | null,
///      "metrics": {"conv": [0.9, null, ...], ...},   // null: not measured yet
///      "losses":  {"conv": [0.011, null, ...], ...}} // written for readers, ignored on load
///
/// `model.checksum` is FNV-1a (64 bit) over every state entry's name, dtype, shape and bytes.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"
#include "nn/module.h"

namespace shrink::compression::detail {

/// What identifies the model a cache belongs to.
struct ModelFingerprint {
  std::vector<std::pair<std::string, Shape>> state;  ///< state_dict names and shapes, in order
  std::string checksum;                              ///< 16 hex digits
};

ModelFingerprint fingerprint(const nn::Module& model);

/// Everything measured so far.
struct SensitivityCache {
  ModelFingerprint model;
  std::vector<std::string> layers;
  std::vector<double> ratios;
  std::optional<double> baseline;
  /// layer -> metric per ratio (nullopt: not measured yet); one entry per layer.
  std::map<std::string, std::vector<std::optional<double>>> metrics;
};

/// A fresh cache with nothing measured.
SensitivityCache empty_cache(ModelFingerprint model, const std::vector<std::string>& layers,
                             const std::vector<double>& ratios);

/// Reads `path` and checks that it was made for `expected`'s model, layers (as a set) and
/// ratios. IOError when the file is unreadable or malformed; ValueError naming the file and the
/// first difference, with the hint to delete it, when it belongs to another analysis.
SensitivityCache load_cache(const std::string& path, const SensitivityCache& expected);

/// Writes the cache atomically (io/atomic_write.h).
void save_cache(const std::string& path, const SensitivityCache& cache);

}  // namespace shrink::compression::detail
