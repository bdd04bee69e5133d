#pragma once
/// \file
/// DistillConfig: which distillation losses a Distiller computes, with their weights and the
/// modules they tap, read from JSON like PaddleSlim's distill configs — a list of losses:
///
/// \code{.json}
///   [{"loss": "soft_label", "temperature": 4, "alpha": 0.5},
///    {"loss": "l2", "student": "conv2", "teacher": "features.10", "weight": 0.1},
///    {"loss": "fsp", "weight": 1,
///     "pairs": [{"student": ["conv1", "conv2"], "teacher": ["features.0", "features.3"]}]}]
/// \endcode
///
/// Keys per loss (`weight` ≥ 0, default 1, multiplies the whole term):
/// - `soft_label`: `temperature` (> 0, default 4), `alpha` (the hard-label cross-entropy's share,
///   in [0, 1], default 0.5); with `"paddle": true`, PaddleSlim's form with `student_temperature`
///   and `teacher_temperature` (> 0, default 1) instead of `temperature` (see losses.h). It uses
///   the two models' outputs (logits).
/// - `l2`: `student`, `teacher`: module names whose outputs must have the same shape.
/// - `fsp`: `pairs`, a non-empty list of {"student": [a, b], "teacher": [a, b]} module names; a
///   and b of one network share H×W, and the two FSP matrices have the same shape.
///
/// Errors are ValueErrors naming the JSON path of the offending key: `distill config[1].weight:
/// expected a number >= 0, got -1`.

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "compression/distillation/losses.h"

namespace shrink::compression {

/// The module names of one FSP pair: (first, second) in the student and in the teacher.
struct FspModules {
  std::array<std::string, 2> student;
  std::array<std::string, 2> teacher;
};

/// One loss term of a DistillConfig.
struct DistillLoss {
  enum class Kind { SoftLabel, L2, Fsp };
  Kind kind = Kind::SoftLabel;
  double weight = 1.0;
  /// soft_label only.
  SoftLabelOptions soft_label;
  /// l2 only: the tapped modules.
  std::string student, teacher;
  /// fsp only.
  std::vector<FspModules> pairs;
};

/// "soft_label", "l2", "fsp".
const char* loss_kind_name(DistillLoss::Kind kind);

/// The losses of a Distiller, in order.
struct DistillConfig {
  std::vector<DistillLoss> losses;

  /// Reads and validates the JSON form (see the file comment).
  static DistillConfig parse(const nlohmann::json& json);
  /// Parses JSON text; a syntax error is a ValueError too.
  static DistillConfig parse(const std::string& text);
  /// Reads a JSON file (IOError when it cannot be read).
  static DistillConfig from_file(const std::string& path);
  /// The JSON form; parse(to_json()) gives the same config.
  nlohmann::json to_json() const;
};

}  // namespace shrink::compression
