// MovementPruner: scores −W·∂L/∂W' from a hook on the mask, cubic sparsity schedule over steps.
#include "compression/pruning/movement_pruner.h"

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "compression/pruning/pruning_checkpoint.h"

namespace shrink::compression {
namespace {

constexpr const char* kStep = "movement:step";
constexpr const char* kLastEpoch = "movement:last_epoch";

}  // namespace

MovementPruner::MovementPruner(nn::ModulePtr model, ConfigList config, MovementPrunerOptions options)
    : Pruner("MovementPruner", std::move(model), std::move(config), ConfigRules{}, MaskGranularity::Element),
      options_(options) {
  SHRINK_CHECK(options_.warm_up_step >= 0, "MovementPruner: expected warm_up_step >= 0, got ", options_.warm_up_step);
  SHRINK_CHECK(options_.cool_down_beginning_step > options_.warm_up_step,
               "MovementPruner: expected cool_down_beginning_step > warm_up_step (", options_.warm_up_step, "), got ",
               options_.cool_down_beginning_step, " (Hint: the sparsity rises from 0 to its target between the two)");
  set_target_transform([this](double configured) { return sparsity_at(configured, step_); });
}

double MovementPruner::sparsity_at(double final_sparsity, std::int64_t t) const {
  const std::int64_t w = options_.warm_up_step, c = options_.cool_down_beginning_step;
  if (t <= w) return 0.0;
  if (t >= c) return final_sparsity;
  const double left = 1.0 - static_cast<double>(t - w) / static_cast<double>(c - w);
  return final_sparsity * (1.0 - left * left * left);
}

void MovementPruner::on_compress() {
  scores_.clear();
  hooks_.clear();
  for (const auto& layer : layers()) {
    Tensor score = zeros_like(parameter(layer, "weight"));
    Tensor mask = mask_of(layer, "weight");
    mask.requires_grad_(true);
    // ∂L/∂M = W ⊙ ∂L/∂W' (from W' = W ⊙ M): the score falls by it.
    hooks_.push_back(mask.register_hook([score](const Tensor& grad) mutable {
      NoGradGuard no_grad;
      score.add_(grad, -1.0f);
      return Tensor();
    }));
    scores_.push_back(std::move(score));
  }
}

void MovementPruner::on_unwrap() {
  for (auto& hook : hooks_) hook.remove();
  hooks_.clear();
  for (const auto& layer : layers()) {
    Tensor mask = mask_of(layer, "weight");
    mask.zero_grad();
    mask.requires_grad_(false);
  }
}

Tensor MovementPruner::metric(const PrunedLayer& layer) {
  const auto& all = layers();
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].name == layer.name) return scores_[i];
  SHRINK_ASSERT(false, "MovementPruner: no scores for layer '", layer.name, "'");
  return Tensor();
}

void MovementPruner::step() {
  Pruner::step();
  ++step_;
  update_masks();
  for (const auto& layer : layers()) mask_of(layer, "weight").zero_grad();
}

void MovementPruner::update_epoch(std::int64_t epoch) {
  Pruner::update_epoch(epoch);
  SHRINK_CHECK(epoch >= last_epoch_, "MovementPruner.update_epoch: expected an epoch >= ", last_epoch_,
               " (the last one given), got ", epoch, " (Hint: epochs never go back)");
  last_epoch_ = epoch;
}

io::StateDict MovementPruner::scores() const {
  io::StateDict out;
  for (std::size_t i = 0; i < scores_.size(); ++i) out.insert(layers()[i].name + ".weight", scores_[i].clone());
  return out;
}

io::StateDict MovementPruner::state_dict() const {
  io::StateDict out = Pruner::state_dict();
  for (const auto& [key, score] : scores()) out.insert("score:" + key, score);
  out.insert(kStep, scalar_tensor(static_cast<double>(step_), DType::Int64));
  out.insert(kLastEpoch, scalar_tensor(static_cast<double>(last_epoch_), DType::Int64));
  return out;
}

void MovementPruner::load_state_dict(const io::StateDict& state) {
  require_compressed("load_state_dict");
  const std::string where = name() + ".load_state_dict";
  const io::StateDict saved = with_prefix(state, "score:");
  check_entries(scores(), saved, "movement scores ('score:' entries)", where);
  const std::int64_t step = read_count(state, kStep, 0, where);
  const std::int64_t last_epoch = read_count(state, kLastEpoch, -1, where);
  Pruner::load_state_dict(state);
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < scores_.size(); ++i) scores_[i].copy_(saved.at(layers()[i].name + ".weight"));
  step_ = step;
  last_epoch_ = last_epoch;
}

}  // namespace shrink::compression
