// ADMMPruner: dense training with ρ/2·‖W − Z + U‖², Z = prune(W + U), U ← U + W − Z.
#include "compression/pruning/admm_pruner.h"

#include <cmath>

#include "autograd/error.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/criteria.h"
#include "compression/pruning/pruning_checkpoint.h"

namespace shrink::compression {
namespace {

constexpr const char* kIterations = "admm:iterations";
constexpr const char* kLastEpoch = "admm:last_epoch";

MaskGranularity granularity_of(ADMMCriterion c) {
  return c == ADMMCriterion::Level ? MaskGranularity::Element : MaskGranularity::OutputChannel;
}

}  // namespace

ADMMPruner::ADMMPruner(nn::ModulePtr model, ConfigList config, ADMMPrunerOptions options)
    : Pruner("ADMMPruner", std::move(model), std::move(config), ConfigRules{}, granularity_of(options.criterion)),
      options_(options) {
  SHRINK_CHECK(options_.rho > 0 && std::isfinite(options_.rho), "ADMMPruner: expected rho > 0, got ", options_.rho);
  SHRINK_CHECK(options_.iterations >= 1, "ADMMPruner: expected iterations >= 1, got ", options_.iterations);
  SHRINK_CHECK(options_.training_epochs >= 1, "ADMMPruner: expected training_epochs >= 1, got ",
               options_.training_epochs);
}

std::size_t ADMMPruner::index_of(const PrunedLayer& layer) const {
  const auto& all = layers();
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].name == layer.name) return i;
  SHRINK_ASSERT(false, "ADMMPruner: '", layer.name, "' is not a pruned layer");
  return 0;
}

void ADMMPruner::on_compress() {
  NoGradGuard no_grad;
  z_.clear();
  u_.clear();
  v_.clear();
  for (const auto& layer : layers()) {
    const Tensor w = parameter(layer, "weight").detach();
    z_.push_back(w.clone());
    u_.push_back(zeros_like(w));
  }
}

void ADMMPruner::check_ready() const {
  SHRINK_CHECK_T(StateError, !v_.empty(),
                 "ADMMPruner.update_masks: no ADMM iteration yet (Hint: the masks come from "
                 "Z: call update_epoch() or admm_iteration() after training with penalty())");
}

Tensor ADMMPruner::metric(const PrunedLayer& layer) {
  const Tensor& v = v_[index_of(layer)];
  switch (options_.criterion) {
    case ADMMCriterion::Level:
      return magnitude(v);
    case ADMMCriterion::L1Norm:
      return channel_norms(v, 1);
    case ADMMCriterion::L2Norm:
      return channel_norms(v, 2);
  }
  return Tensor();
}

Tensor ADMMPruner::penalty() const {
  require_compressed("penalty");
  if (finished()) return scalar_tensor(0.0);
  Tensor total;
  for (std::size_t i = 0; i < layers().size(); ++i) {
    Tensor target;
    {
      NoGradGuard no_grad;
      target = sub(z_[i], u_[i]);
    }
    const Tensor d = sub(parameter(layers()[i], "weight"), target);
    const Tensor s = sum(mul(d, d));
    total = total.defined() ? add(total, s) : s;
  }
  return mul(total, static_cast<float>(options_.rho / 2));
}

void ADMMPruner::admm_iteration() {
  require_compressed("admm_iteration");
  SHRINK_CHECK_T(StateError, !finished(), "ADMMPruner.admm_iteration: all ", options_.iterations,
                 " iterations are done (Hint: the masks are final; fine-tune with them)");
  NoGradGuard no_grad;
  std::vector<Tensor> weights;
  v_.clear();
  for (std::size_t i = 0; i < layers().size(); ++i) {
    weights.push_back(parameter(layers()[i], "weight").detach().clone());
    v_.push_back(add(weights[i], u_[i]));
  }
  update_masks();  // prune(W + U): the masks are Z's pattern
  const io::StateDict masks = get_masks();
  for (std::size_t i = 0; i < layers().size(); ++i) {
    z_[i] = mul(v_[i], masks.at(layers()[i].name + ".weight"));
    u_[i] = sub(add(u_[i], weights[i]), z_[i]);
  }
  ++iterations_done_;
  if (finished()) return;
  io::StateDict ones;  // the model keeps training dense until the last iteration
  for (const auto& [key, mask] : masks) ones.insert(key, ones_like(mask));
  load_masks(ones);
}

void ADMMPruner::update_epoch(std::int64_t epoch) {
  Pruner::update_epoch(epoch);
  SHRINK_CHECK(epoch >= last_epoch_, "ADMMPruner.update_epoch: expected an epoch >= ", last_epoch_,
               " (the last one given), got ", epoch, " (Hint: epochs never go back)");
  last_epoch_ = epoch;
  while (!finished() && epoch >= (iterations_done_ + 1) * options_.training_epochs) admm_iteration();
}

io::StateDict ADMMPruner::named(const std::vector<Tensor>& tensors) const {
  io::StateDict out;
  for (std::size_t i = 0; i < tensors.size(); ++i) out.insert(layers()[i].name + ".weight", tensors[i].clone());
  return out;
}

io::StateDict ADMMPruner::z() const { return named(z_); }
io::StateDict ADMMPruner::u() const { return named(u_); }

io::StateDict ADMMPruner::state_dict() const {
  io::StateDict out = Pruner::state_dict();
  for (const auto& [key, t] : z()) out.insert("admm:z:" + key, t);
  for (const auto& [key, t] : u()) out.insert("admm:u:" + key, t);
  for (const auto& [key, t] : named(v_)) out.insert("admm:v:" + key, t);
  out.insert(kIterations, scalar_tensor(static_cast<double>(iterations_done_), DType::Int64));
  out.insert(kLastEpoch, scalar_tensor(static_cast<double>(last_epoch_), DType::Int64));
  return out;
}

void ADMMPruner::load_state_dict(const io::StateDict& state) {
  require_compressed("load_state_dict");
  const std::string where = name() + ".load_state_dict";
  const io::StateDict z = with_prefix(state, "admm:z:"), u = with_prefix(state, "admm:u:"),
                      v = with_prefix(state, "admm:v:");
  check_entries(this->z(), z, "Z ('admm:z:' entries)", where);
  check_entries(this->u(), u, "U ('admm:u:' entries)", where);
  if (!v.empty()) check_entries(this->z(), v, "W + U ('admm:v:' entries)", where);
  const std::int64_t done = read_count(state, kIterations, 0, where);
  SHRINK_CHECK(done <= options_.iterations, where, ": expected '", kIterations, "' <= ", options_.iterations,
               " (this pruner's iterations), got ", done);
  SHRINK_CHECK(done == 0 || !v.empty(), where, ": expected 'admm:v:' entries after ", done, " iterations, got none");
  const std::int64_t last_epoch = read_count(state, kLastEpoch, -1, where);
  Pruner::load_state_dict(state);
  v_.clear();
  for (std::size_t i = 0; i < layers().size(); ++i) {
    const std::string key = layers()[i].name + ".weight";
    z_[i] = z.at(key).clone();
    u_[i] = u.at(key).clone();
    if (!v.empty()) v_.push_back(v.at(key).clone());
  }
  iterations_done_ = done;
  last_epoch_ = last_epoch;
}

}  // namespace shrink::compression
