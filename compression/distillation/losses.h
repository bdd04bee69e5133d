#pragma once
/// \file
/// The distillation losses (SEMANTICS §4), built from differentiable ops so that both the student
/// and (if it requires grad) the teacher side get gradients:
///
/// - soft_label_loss: Hinton's KD, `α·CE(s, y) + (1 − α)·T²·KL(softmax(t/T) ‖ softmax(s/T))` with
///   the KL averaged over the batch (batchmean); or PaddleSlim's soft_label_loss (`paddle`):
///   per-side temperatures, no T², and the soft cross-entropy
///   `mean_n −Σ_c softmax(t/T_t)·log softmax(s/T_s)` (the KL plus the teacher's entropy: the same
///   gradient for the student), mixed with the hard-label CE by the same α.
/// - l2_feature_loss: `w·mean((f_s − f_t)²)`.
/// - fsp_matrix / fsp_loss (Yim et al. 2017): `G = A·Bᵀ/(H·W)` with A = a reshaped [N, Ca, H·W];
///   `w·Σ_pairs mean((G_s − G_t)²)`.
///
/// Shape mismatches are ShapeErrors naming both sides; the sides are called "student" and
/// "teacher" unless a FeatureNames gives their module names.
///
/// \code
///   Tensor loss = compression::soft_label_loss(student_logits, teacher_logits, targets,
///                                              {.temperature = 4, .alpha = 0.5});
/// \endcode

#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::compression {

/// The names that errors give the two sides of a loss (e.g. the tapped modules' names).
struct FeatureNames {
  std::string student = "student";
  std::string teacher = "teacher";
};

/// Settings of soft_label_loss. Hinton's form uses `temperature`; PaddleSlim's (`paddle`) uses
/// `student_temperature` and `teacher_temperature` instead, without the T² factor.
struct SoftLabelOptions {
  /// T of Hinton's form (> 0).
  double temperature = 4.0;
  /// Weight of the hard-label cross-entropy, in [0, 1]; the soft term gets 1 − α. With α = 0 the
  /// targets may be undefined.
  double alpha = 0.5;
  /// PaddleSlim's soft_label_loss instead of Hinton's.
  bool paddle = false;
  /// PaddleSlim's per-side temperatures (> 0).
  double student_temperature = 1.0;
  double teacher_temperature = 1.0;
};

/// Checks that the options are in range; ValueError "<where>: expected ..., got ..." otherwise.
void validate(const SoftLabelOptions& options, const std::string& where = "soft_label_loss");

/// The KD loss of student logits [N, C] and teacher logits [N, C] with Int64 targets [N] (see the
/// file comment). Returns a scalar.
Tensor soft_label_loss(const Tensor& student_logits, const Tensor& teacher_logits, const Tensor& targets,
                       const SoftLabelOptions& options = {}, const FeatureNames& names = {});

/// `weight·mean((f_s − f_t)²)` of two features of the same shape. Returns a scalar.
Tensor l2_feature_loss(const Tensor& student, const Tensor& teacher, double weight = 1.0,
                       const FeatureNames& names = {});

/// The FSP matrix of two feature maps a [N, Ca, H, W] and b [N, Cb, H, W] (same N, H, W):
/// `A·Bᵀ/(H·W)` -> [N, Ca, Cb]. `names` names a and b in errors.
Tensor fsp_matrix(const Tensor& a, const Tensor& b, const FeatureNames& names = {"a", "b"});

/// The two feature maps of one FSP pair: (first, second), and their names for errors.
struct FspPair {
  Tensor first, second;
  std::string first_name = "first", second_name = "second";
};

/// `weight·Σ_i mean((G(student[i]) − G(teacher[i]))²)`; the lists have the same length (≥ 1) and
/// each pair's FSP matrices the same shape. Returns a scalar.
Tensor fsp_loss(const std::vector<FspPair>& student, const std::vector<FspPair>& teacher, double weight = 1.0);

}  // namespace shrink::compression
