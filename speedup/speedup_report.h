#pragma once
/// \file
/// What ModelSpeedup did: per-layer shapes before and after, the constant folds that are not
/// exact, the verification of masked against shrunk outputs, and params, MACs and latency
/// before and after.

#include <cstdint>
#include <string>
#include <vector>

namespace shrink::speedup {

/// One replaced layer: channels before -> after (BatchNorm: in == out).
struct LayerShrink {
  std::string name;
  std::string type;
  std::int64_t in_before = 0, in_after = 0;
  std::int64_t out_before = 0, out_after = 0;
  /// Whether a constant of removed input channels was folded into its bias.
  bool folded = false;
};

/// A consumer whose removed input channels could not be folded exactly.
struct InexactFold {
  std::string layer;
  std::string reason;
};

struct SpeedupReport {
  std::vector<LayerShrink> layers;
  std::vector<InexactFold> inexact;
  std::vector<std::string> warnings;
  std::int64_t params_before = 0, params_after = 0;
  std::int64_t macs_before = 0, macs_after = 0;  ///< per sample
  /// Median of the timed forwards at the dummy input's shape, milliseconds (0 when not measured).
  double latency_before_ms = 0, latency_after_ms = 0;
  /// Verification on random inputs: max |masked − shrunk|, max |masked|, and whether
  /// max_abs_diff <= tolerance · max_abs_output.
  double max_abs_diff = 0, max_abs_output = 0, tolerance = 0;
  bool verified = false;

  /// A text table: one row per layer, then totals, verification and the inexact folds.
  std::string to_string() const;
};

}  // namespace shrink::speedup
