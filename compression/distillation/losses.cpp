#include "compression/distillation/losses.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace shrink::compression {
namespace {

/// "the student 'conv1' [2, 6, 8, 8]" (or "the student [2, 6, 8, 8]" without a module name).
std::string side(const char* role, const std::string& name, const Tensor& t) {
  const bool generic = name == role;
  return std::string("the ") + role + (generic ? "" : " '" + name + "'") + " " + shape_str(t.shape());
}

void check_float(const char* where, const char* role, const std::string& name, const Tensor& t) {
  SHRINK_CHECK(t.defined(), where, ": expected a defined ", role, " tensor ('", name, "'), got an undefined one");
  SHRINK_CHECK(t.dtype() == DType::Float32, where, ": expected a float32 ", role, " tensor ('", name, "'), got ",
               dtype_name(t.dtype()));
}

}  // namespace

void validate(const SoftLabelOptions& o, const std::string& where) {
  SHRINK_CHECK(o.alpha >= 0 && o.alpha <= 1, where, ": expected alpha in [0, 1], got ", o.alpha);
  if (o.paddle) {
    SHRINK_CHECK(o.student_temperature > 0, where, ": expected student_temperature > 0, got ", o.student_temperature);
    SHRINK_CHECK(o.teacher_temperature > 0, where, ": expected teacher_temperature > 0, got ", o.teacher_temperature);
  } else {
    SHRINK_CHECK(o.temperature > 0, where, ": expected temperature > 0, got ", o.temperature);
  }
}

// Hinton: α·CE(s, y) + (1 − α)·T²·KL(softmax(t/T) ‖ softmax(s/T)), the KL as kl_div of the
// student's log-probabilities against the teacher's log-probabilities (log_target: no 0·log 0 when
// the teacher's softmax underflows). PaddleSlim: α·CE(s, y) + (1 − α)·CE(s/T_s, softmax(t/T_t)).
Tensor soft_label_loss(const Tensor& student_logits, const Tensor& teacher_logits, const Tensor& targets,
                       const SoftLabelOptions& options, const FeatureNames& names) {
  const char* where = "soft_label_loss";
  validate(options, where);
  check_float(where, "student", names.student, student_logits);
  check_float(where, "teacher", names.teacher, teacher_logits);
  SHRINK_CHECK_SHAPE(student_logits.dim() == 2, where, ": expected student logits [N, C], got ",
                     side("student", names.student, student_logits));
  SHRINK_CHECK_SHAPE(student_logits.shape() == teacher_logits.shape(), where,
                     ": expected logits of the same shape, got ", side("student", names.student, student_logits),
                     " and ", side("teacher", names.teacher, teacher_logits));
  const bool hard = options.alpha > 0;
  if (hard) {
    SHRINK_CHECK(targets.defined(), where, ": expected Int64 targets [N] (alpha = ", options.alpha,
                 " weighs the hard-label cross-entropy), got undefined targets");
    SHRINK_CHECK_SHAPE(targets.dim() == 1 && targets.size(0) == student_logits.size(0), where,
                       ": expected targets [", student_logits.size(0), "] for logits ",
                       shape_str(student_logits.shape()), ", got ", shape_str(targets.shape()));
  }
  Tensor soft;
  if (options.paddle) {
    const Tensor teacher_probs = softmax(div(teacher_logits, static_cast<float>(options.teacher_temperature)), 1);
    soft = cross_entropy(div(student_logits, static_cast<float>(options.student_temperature)), teacher_probs);
  } else {
    const auto t = static_cast<float>(options.temperature);
    soft = kl_div(log_softmax(div(student_logits, t), 1), log_softmax(div(teacher_logits, t), 1), Reduction::BatchMean,
                  /*log_target=*/true);
    soft = mul(soft, static_cast<float>(options.temperature * options.temperature));
  }
  if (!hard) return soft;
  const Tensor ce = cross_entropy(student_logits, targets);
  if (options.alpha == 1) return ce;
  return add(mul(ce, static_cast<float>(options.alpha)), mul(soft, static_cast<float>(1.0 - options.alpha)));
}

Tensor l2_feature_loss(const Tensor& student, const Tensor& teacher, double weight, const FeatureNames& names) {
  const char* where = "l2_feature_loss";
  check_float(where, "student", names.student, student);
  check_float(where, "teacher", names.teacher, teacher);
  SHRINK_CHECK(weight >= 0, where, ": expected weight >= 0, got ", weight);
  SHRINK_CHECK_SHAPE(student.shape() == teacher.shape(), where, ": expected features of the same shape, got ",
                     side("student", names.student, student), " and ", side("teacher", names.teacher, teacher));
  return mul(mse_loss(student, teacher), static_cast<float>(weight));
}

// G = A·Bᵀ/(H·W): a batched matmul of [N, Ca, HW] by [N, HW, Cb].
Tensor fsp_matrix(const Tensor& a, const Tensor& b, const FeatureNames& names) {
  const char* where = "fsp_matrix";
  check_float(where, "first", names.student, a);
  check_float(where, "second", names.teacher, b);
  SHRINK_CHECK_SHAPE(a.dim() == 4 && b.dim() == 4, where, ": expected feature maps [N, C, H, W], got '",
                     names.student, "' ", shape_str(a.shape()), " and '", names.teacher, "' ", shape_str(b.shape()));
  SHRINK_CHECK_SHAPE(a.size(0) == b.size(0) && a.size(2) == b.size(2) && a.size(3) == b.size(3), where,
                     ": expected feature maps of the same N, H and W, got '", names.student, "' ",
                     shape_str(a.shape()), " and '", names.teacher, "' ", shape_str(b.shape()));
  const std::int64_t n = a.size(0), hw = a.size(2) * a.size(3);
  const Tensor am = reshape(a, {n, a.size(1), hw});
  const Tensor bt = transpose(reshape(b, {n, b.size(1), hw}), 1, 2);
  return div(matmul(am, bt), static_cast<float>(hw));
}

Tensor fsp_loss(const std::vector<FspPair>& student, const std::vector<FspPair>& teacher, double weight) {
  const char* where = "fsp_loss";
  SHRINK_CHECK(!student.empty(), where, ": expected at least one pair of feature maps, got none");
  SHRINK_CHECK(student.size() == teacher.size(), where, ": expected as many teacher pairs as student pairs, got ",
               student.size(), " student and ", teacher.size(), " teacher pairs");
  SHRINK_CHECK(weight >= 0, where, ": expected weight >= 0, got ", weight);
  Tensor total;
  for (std::size_t i = 0; i < student.size(); ++i) {
    const FspPair& s = student[i];
    const FspPair& t = teacher[i];
    const Tensor gs = fsp_matrix(s.first, s.second, {s.first_name, s.second_name});
    const Tensor gt = fsp_matrix(t.first, t.second, {t.first_name, t.second_name});
    SHRINK_CHECK_SHAPE(gs.shape() == gt.shape(), where, ": pair ", i,
                       ": expected FSP matrices of the same shape, got the student's ('", s.first_name, "', '",
                       s.second_name, "') ", shape_str(gs.shape()), " and the teacher's ('", t.first_name, "', '",
                       t.second_name, "') ", shape_str(gt.shape()));
    const Tensor term = mse_loss(gs, gt);
    total = total.defined() ? add(total, term) : term;
  }
  return mul(total, static_cast<float>(weight));
}

}  // namespace shrink::compression
