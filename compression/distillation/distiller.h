#pragma once
/// \file
/// Distiller: knowledge distillation in a plain training loop (SEMANTICS §4, DESIGN §5).
///
/// \code
///   compression::Distiller distiller(student, teacher, compression::DistillConfig::from_file("kd.json"));
///   distiller.check(sample_batch);                       // optional: shape errors before training
///   for (const data::Batch& batch : loader) {
///     Tensor logits = (*student)(batch.data);          // forward hooks tap the student's features
///     Tensor loss = distiller.loss(batch.data, logits, batch.targets);  // runs the teacher
///     optimizer.zero_grad();
///     loss.backward();
///     optimizer.step();
///   }
/// \endcode
///
/// The constructor resolves every module name of the config in its network (a ValueError names
/// the config key and the missing module) and puts a forward hook on each, which keeps the
/// module's last output. loss() runs the teacher on the same batch in eval mode without a graph
/// (NoGradGuard), then sums the config's terms: the soft_label loss of the student's and the
/// teacher's outputs (including its α share of the hard-label cross-entropy), the L2 losses and
/// the FSP losses of the tapped features. Only the student gets gradients. A config without a
/// soft_label loss returns the feature terms alone, to be added to the task loss.
///
/// Feature shapes that do not match are ShapeErrors naming the config entry and both modules.
/// The Distiller works with a pruner or a quantizer attached to the student: they act through
/// parametrizations and hooks of their own, so the tapped outputs are the compressed student's.
/// It holds hooks on both networks: it must outlive the training that uses it; destroying it
/// removes them.

#include <string>
#include <utility>
#include <vector>

#include "autograd/hook_handle.h"
#include "autograd/tensor.h"
#include "compression/distillation/distill_config.h"
#include "nn/module.h"

namespace shrink::compression {

class Distiller {
 public:
  Distiller(nn::ModulePtr student, nn::ModulePtr teacher, DistillConfig config);
  ~Distiller();
  Distiller(const Distiller&) = delete;
  Distiller& operator=(const Distiller&) = delete;

  /// The distillation loss of one batch: runs the teacher on `input` and combines its outputs
  /// with the student's — `student_logits` and the features its hooks tapped, which must come from
  /// the student's forward on the same `input` since the previous loss() (StateError otherwise).
  /// `targets` (Int64 [N]) are needed when a soft_label loss has alpha > 0.
  Tensor loss(const Tensor& input, const Tensor& student_logits, const Tensor& targets);

  /// Runs the student and the teacher once on `sample_input` without a graph (the student in eval
  /// mode, its mode restored) and computes every term, so that mismatched shapes fail before
  /// training. Targets are taken as class 0.
  void check(const Tensor& sample_input);

  /// The value of each term of the last loss(), named "soft_label", "l2[conv2|features.3]",
  /// "fsp[0]"... (weights applied), for logging.
  const std::vector<std::pair<std::string, double>>& last_terms() const { return last_terms_; }
  /// The teacher's output of the last loss() (no graph).
  const Tensor& teacher_logits() const { return teacher_logits_; }
  const DistillConfig& config() const { return config_; }
  nn::ModulePtr student() const { return student_; }
  nn::ModulePtr teacher() const { return teacher_; }

 private:
  /// A tapped module of one network and its output of the last forward.
  struct Tap {
    std::string name;
    Tensor output;
  };
  /// The index of the tap of `name` in `taps` (created with its hook on first use).
  std::size_t tap(std::vector<Tap>& taps, nn::Module& network, const char* side, const std::string& name,
                  const std::string& key);
  const Tensor& tapped(const std::vector<Tap>& taps, std::size_t index, const char* side) const;

  nn::ModulePtr student_, teacher_;
  DistillConfig config_;
  std::vector<Tap> student_taps_, teacher_taps_;
  std::vector<HookHandle> hooks_;
  /// Per loss entry: the tap indices it reads (l2: student, teacher; fsp: 4 per pair).
  std::vector<std::vector<std::size_t>> entry_taps_;
  std::vector<std::pair<std::string, double>> last_terms_;
  Tensor teacher_logits_;
};

}  // namespace shrink::compression
