#include "compression/distillation/distiller.h"

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/distillation/losses.h"

namespace shrink::compression {
namespace {

std::string entry_key(std::size_t i) { return "distill config[" + std::to_string(i) + "]"; }

std::string module_list(const nn::Module& network) {
  std::string list;
  for (const auto& [name, m] : network.named_modules()) list += (list.empty() ? "" : ", ") + name;
  return list.empty() ? "none" : list;
}

}  // namespace

Distiller::Distiller(nn::ModulePtr student, nn::ModulePtr teacher, DistillConfig config)
    : student_(std::move(student)), teacher_(std::move(teacher)), config_(std::move(config)) {
  SHRINK_CHECK(student_ && teacher_, "Distiller: expected a student and a teacher model, got a null ",
               student_ ? "teacher" : "student");
  SHRINK_CHECK(student_ != teacher_, "Distiller: expected two different models, got the same one as student and teacher");
  SHRINK_CHECK(!config_.losses.empty(), "Distiller: expected a config with at least one loss, got none");
  try {
    for (std::size_t i = 0; i < config_.losses.size(); ++i) {
      const DistillLoss& l = config_.losses[i];
      const std::string key = entry_key(i);
      std::vector<std::size_t> taps;
      if (l.kind == DistillLoss::Kind::SoftLabel) validate(l.soft_label, "Distiller: " + key);
      if (l.kind == DistillLoss::Kind::L2) {
        taps.push_back(tap(student_taps_, *student_, "student", l.student, key + ".student"));
        taps.push_back(tap(teacher_taps_, *teacher_, "teacher", l.teacher, key + ".teacher"));
      }
      for (std::size_t p = 0; p < l.pairs.size(); ++p) {
        const std::string pk = key + ".pairs[" + std::to_string(p) + "]";
        for (std::size_t k = 0; k < 2; ++k)
          taps.push_back(tap(student_taps_, *student_, "student", l.pairs[p].student[k], pk + ".student[" + std::to_string(k) + "]"));
        for (std::size_t k = 0; k < 2; ++k)
          taps.push_back(tap(teacher_taps_, *teacher_, "teacher", l.pairs[p].teacher[k], pk + ".teacher[" + std::to_string(k) + "]"));
      }
      entry_taps_.push_back(std::move(taps));
    }
  } catch (...) {
    for (HookHandle& h : hooks_) h.remove();
    throw;
  }
  teacher_->eval();
}

Distiller::~Distiller() {
  for (HookHandle& h : hooks_) h.remove();
}

std::size_t Distiller::tap(std::vector<Tap>& taps, nn::Module& network, const char* side, const std::string& name,
                           const std::string& key) {
  for (std::size_t i = 0; i < taps.size(); ++i)
    if (taps[i].name == name) return i;
  const nn::ModulePtr module = network.find_module(name);
  SHRINK_CHECK(module != nullptr, "Distiller: ", key, ": expected a module of the ", side, " (", network.type_name(),
               "), got '", name, "'; its modules: ", module_list(network));
  const std::size_t index = taps.size();
  taps.push_back({name, Tensor()});
  std::vector<Tap>* list = &taps;
  hooks_.push_back(module->register_forward_hook(
      [list, index](nn::Module&, const Tensor&, const Tensor& output) { (*list)[index].output = output; }));
  return index;
}

const Tensor& Distiller::tapped(const std::vector<Tap>& taps, std::size_t index, const char* side) const {
  const Tap& t = taps.at(index);
  SHRINK_CHECK_STATE(t.output.defined(), "Distiller.loss: expected the ", side, "'s module '", t.name,
                     "' to have run since the last loss(), got no output. Hint: call the ", side,
                     " on the batch before loss()");
  return t.output;
}

Tensor Distiller::loss(const Tensor& input, const Tensor& student_logits, const Tensor& targets) {
  SHRINK_CHECK(input.defined() && student_logits.defined(),
               "Distiller.loss: expected the batch input and the student's logits, got an undefined tensor");
  SHRINK_CHECK_SHAPE(input.dim() >= 1 && student_logits.dim() >= 1 && student_logits.size(0) == input.size(0),
                     "Distiller.loss: expected the student's logits of the same batch as the input, got logits ",
                     shape_str(student_logits.shape()), " for the input ", shape_str(input.shape()));
  {
    NoGradGuard no_grad;
    teacher_->eval();
    teacher_logits_ = (*teacher_)(input);
  }
  last_terms_.clear();
  Tensor total;
  auto add_term = [&](std::string name, const Tensor& term) {
    last_terms_.emplace_back(std::move(name), term.item());
    total = total.defined() ? add(total, term) : term;
  };
  for (std::size_t i = 0; i < config_.losses.size(); ++i) {
    const DistillLoss& l = config_.losses[i];
    const std::vector<std::size_t>& taps = entry_taps_[i];
    try {
      switch (l.kind) {
        case DistillLoss::Kind::SoftLabel:
          add_term("soft_label", mul(soft_label_loss(student_logits, teacher_logits_, targets, l.soft_label,
                                                     {"student output", "teacher output"}),
                                     static_cast<float>(l.weight)));
          break;
        case DistillLoss::Kind::L2:
          add_term("l2[" + l.student + "|" + l.teacher + "]",
                   l2_feature_loss(tapped(student_taps_, taps[0], "student"), tapped(teacher_taps_, taps[1], "teacher"),
                                   l.weight, {l.student, l.teacher}));
          break;
        case DistillLoss::Kind::Fsp: {
          std::vector<FspPair> s, t;
          for (std::size_t p = 0; p < l.pairs.size(); ++p) {
            const FspModules& m = l.pairs[p];
            s.push_back({tapped(student_taps_, taps[4 * p], "student"), tapped(student_taps_, taps[4 * p + 1], "student"),
                         m.student[0], m.student[1]});
            t.push_back({tapped(teacher_taps_, taps[4 * p + 2], "teacher"), tapped(teacher_taps_, taps[4 * p + 3], "teacher"),
                         m.teacher[0], m.teacher[1]});
          }
          add_term("fsp[" + std::to_string(i) + "]", fsp_loss(s, t, l.weight));
          break;
        }
      }
    } catch (const ShapeError& e) {
      throw ShapeError("Distiller: " + entry_key(i) + " (" + loss_kind_name(l.kind) + "): " + e.what());
    } catch (const ValueError& e) {
      throw ValueError("Distiller: " + entry_key(i) + " (" + loss_kind_name(l.kind) + "): " + e.what());
    }
  }
  // The next loss() must see features of the next batch, not these.
  for (Tap& t : student_taps_) t.output = Tensor();
  for (Tap& t : teacher_taps_) t.output = Tensor();
  return total;
}

void Distiller::check(const Tensor& sample_input) {
  NoGradGuard no_grad;
  const bool training = student_->is_training();
  student_->eval();
  Tensor logits;
  try {
    logits = (*student_)(sample_input);
  } catch (...) {
    student_->train(training);
    throw;
  }
  student_->train(training);
  const Tensor targets = zeros({logits.dim() > 0 ? logits.size(0) : 1}, DType::Int64);
  loss(sample_input, logits, targets);
}

}  // namespace shrink::compression
