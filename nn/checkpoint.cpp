#include "nn/checkpoint.h"

#include <cmath>
#include <set>
#include <sstream>

#include "io/state_dict_diff.h"
#include "io/state_dict_file.h"

namespace shrink::nn {
namespace {

/// The name the generator's state is stored under.
constexpr const char* kGeneratorKey = "generator";

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& x : items) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/// Option names of a group (every key but "params"), sorted.
std::vector<std::string> option_names(const nlohmann::json& group) {
  std::vector<std::string> names;
  if (group.is_object())
    for (const auto& [key, value] : group.items())
      if (key != "params") names.push_back(key);
  return names;
}

/// The per-parameter state an optimizer keeps, derived from a group's options (SGD has
/// "momentum", Adam/AdamW "beta1"); empty for an optimizer this does not know.
std::optional<std::set<std::string>> expected_slots(const nlohmann::json& group) {
  if (group.contains("momentum"))
    return group["momentum"].get<double>() != 0 ? std::set<std::string>{"momentum_buffer"} : std::set<std::string>{};
  if (group.contains("beta1")) {
    std::set<std::string> slots{"exp_avg", "exp_avg_sq", "step"};
    if (group.value("amsgrad", 0.0) != 0) slots.insert("max_exp_avg_sq");
    return slots;
  }
  return std::nullopt;
}

std::string join_set(const std::set<std::string>& items) { return join({items.begin(), items.end()}); }

/// Checks that every parameter has its optimizer's complete state or none, and none only when
/// it cannot have been updated (requires_grad false) or no parameter of its group was.
void check_slots_complete(const io::Checkpoint& c, const optim::Optimizer& optimizer, const std::string& where) {
  std::map<std::string, std::set<std::string>> present;  // parameter -> its slots in the checkpoint
  for (const auto& [key, t] : c.optimizer) {
    const auto dot = key.rfind('.');
    if (dot != std::string::npos) present[key.substr(0, dot)].insert(key.substr(dot + 1));
  }
  for (std::size_t g = 0; g < optimizer.num_groups(); ++g) {
    const auto slots = expected_slots((*c.optimizer_groups)[g]);
    if (!slots || slots->empty()) continue;
    bool any = false;
    for (const auto& [name, p] : optimizer.group(g).params) any = any || present.count(name) != 0;
    if (!any) continue;  // saved before the first step
    for (const auto& [name, p] : optimizer.group(g).params) {
      const auto it = present.find(name);
      if (it == present.end() && !p.requires_grad()) continue;
      const std::set<std::string> got = it == present.end() ? std::set<std::string>{} : it->second;
      if (got == *slots) continue;
      std::set<std::string> missing;
      for (const auto& s : *slots)
        if (!got.count(s)) missing.insert(s);
      throw ValueError(where + ": optimizer state of '" + name + "': expected the slots " + join_set(*slots) +
                       ", got " + (got.empty() ? std::string("none") : join_set(got)) +
                       (missing.empty() ? "" : " (missing " + join_set(missing) + ")") +
                       " (Hint: the checkpoint is incomplete or was saved by another optimizer)");
    }
  }
}

/// Checks that the checkpoint's optimizer state fits `optimizer` exactly, so that
/// Optimizer::load_state_dict cannot fail half-way.
void check_optimizer(const io::Checkpoint& c, const optim::Optimizer& optimizer, const std::string& where) {
  const nlohmann::json& saved = *c.optimizer_groups;
  const optim::OptimizerState current = optimizer.state_dict();
  SHRINK_CHECK(saved.size() == current.groups.size(), where, ": expected ", current.groups.size(),
               " optimizer parameter group(s), got ", saved.size());
  std::map<std::string, Shape> shapes;
  for (std::size_t g = 0; g < saved.size(); ++g) {
    const auto names = current.groups[g]["params"].get<std::vector<std::string>>();
    for (std::size_t i = 0; i < names.size(); ++i) shapes[names[i]] = optimizer.group(g).params[i].second.shape();
    const nlohmann::json& group = saved[g];
    SHRINK_CHECK(group.is_object() && group.contains("params") && group["params"].is_array(), where,
                 ": optimizer group ", g, ": expected an object with a 'params' list, got ", group.type_name());
    std::vector<std::string> saved_names;
    for (const auto& n : group["params"]) {
      SHRINK_CHECK(n.is_string(), where, ": optimizer group ", g, ": expected parameter names, got a ", n.type_name());
      saved_names.push_back(n.get<std::string>());
    }
    if (saved_names != names) {
      std::size_t i = 0;
      while (i < names.size() && i < saved_names.size() && names[i] == saved_names[i]) ++i;
      throw ValueError(where + ": optimizer group " + std::to_string(g) + ": expected " + std::to_string(names.size()) +
                       " parameters starting " + (i < names.size() ? "'" + names[i] + "'" : "<end>") + " at position " +
                       std::to_string(i) + ", got " + std::to_string(saved_names.size()) + " with " +
                       (i < saved_names.size() ? "'" + saved_names[i] + "'" : "<end>") +
                       " there (Hint: build the optimizer over the same model's named_parameters, in the same groups)");
    }
    const auto expected_options = option_names(current.groups[g]);
    const auto saved_options = option_names(group);
    SHRINK_CHECK(saved_options == expected_options, where, ": optimizer group ", g, ": expected the options ",
                 join(expected_options), ", got ", join(saved_options),
                 " (Hint: the checkpoint was saved with another optimizer type)");
    // Every option of SGD and Adam/AdamW (lr, momentum, betas, eps, weight_decay, flags) is >= 0.
    for (const auto& name : saved_options) {
      SHRINK_CHECK(group[name].is_number(), where, ": optimizer group ", g, ": option '", name,
                   "': expected a number, got ", group[name].type_name());
      const double v = group[name].get<double>();
      SHRINK_CHECK(std::isfinite(v) && v >= 0, where, ": optimizer group ", g, ": option '", name,
                   "': expected a finite number >= 0, got ", v);
    }
  }
  check_slots_complete(c, optimizer, where);
  for (const auto& [key, t] : c.optimizer) {
    const auto dot = key.rfind('.');
    const std::string param = dot == std::string::npos ? key : key.substr(0, dot);
    SHRINK_CHECK(dot != std::string::npos && shapes.count(param), where, ": optimizer state '", key,
                 "': expected '<parameter>.<slot>' naming a parameter of this optimizer, got none named '", param, "'");
    if (key.compare(dot + 1, std::string::npos, "step") == 0) {
      SHRINK_CHECK(t.dtype() == DType::Int64 && t.numel() == 1, where, ": optimizer state '", key,
                   "': expected a single int64 step count, got ", shape_str(t.shape()), " ", dtype_name(t.dtype()));
    } else {
      SHRINK_CHECK(t.shape() == shapes[param] && t.dtype() == DType::Float32, where, ": optimizer state '", key,
                   "': expected float32 ", shape_str(shapes[param]), " like its parameter, got ", dtype_name(t.dtype()),
                   " ", shape_str(t.shape()));
    }
  }
}

/// Checks that the checkpoint's model state has exactly the keys, shapes and dtypes of `model`.
void check_model(const io::Checkpoint& c, const Module& model, const std::string& where) {
  const io::StateDictDiff diff = io::diff_state_dicts(model.state_dict(), c.model);
  if (!diff.empty())
    throw ValueError(where + ": the checkpoint's model does not fit this " + model.type_name() + ": " + diff.message() +
                     " (Hint: build the same model as the run that saved the checkpoint)");
}

/// Whether a Generator::state() string holds an all-zero Mersenne Twister state (which would
/// produce only zeros): "<seed> <312 state words> <index>".
bool all_zero_engine(const std::string& state) {
  std::istringstream is(state);
  std::uint64_t seed = 0, word = 0;
  is >> seed;
  for (int i = 0; i < 312; ++i)
    if (!(is >> word) || word != 0) return false;
  return true;
}

}  // namespace

io::Checkpoint make_checkpoint(const Module& model, const optim::Optimizer* optimizer,
                               const optim::LRScheduler* scheduler, std::int64_t epoch, const Generator* rng) {
  io::Checkpoint c;
  // A snapshot: state_dict() aliases the live tensors, which further training would change.
  for (const auto& [name, t] : model.state_dict()) c.model.insert(name, t.clone());
  if (optimizer != nullptr) {
    optim::OptimizerState state = optimizer->state_dict();
    c.optimizer = std::move(state.tensors);
    c.optimizer_groups = std::move(state.groups);
  }
  if (scheduler != nullptr) c.scheduler_last_epoch = scheduler->last_epoch();
  if (rng != nullptr) c.rng[kGeneratorKey] = rng->state();
  c.epoch = epoch;
  return c;
}

std::int64_t restore_checkpoint(const io::Checkpoint& checkpoint, Module& model, optim::Optimizer* optimizer,
                                optim::LRScheduler* scheduler, Generator* rng, const std::string& where) {
  // Validate everything first, so that a failure leaves model, optimizer, scheduler and generator
  // as they were.
  SHRINK_CHECK(optimizer == nullptr || checkpoint.optimizer_groups.has_value(), where,
               ": expected an optimizer state, got a checkpoint saved without optimizer (Hint: pass optimizer = "
               "nullptr to load only the other parts)");
  SHRINK_CHECK(scheduler == nullptr || checkpoint.scheduler_last_epoch.has_value(), where,
               ": expected a scheduler state, got a checkpoint saved without scheduler (Hint: pass scheduler = "
               "nullptr to load only the other parts)");
  SHRINK_CHECK(checkpoint.epoch >= 0, where, ": expected an epoch >= 0, got ", checkpoint.epoch);
  SHRINK_CHECK(scheduler == nullptr || *checkpoint.scheduler_last_epoch >= 0, where,
               ": expected a scheduler last_epoch >= 0, got ", scheduler ? *checkpoint.scheduler_last_epoch : 0);
  const auto rng_state = checkpoint.rng.find(kGeneratorKey);
  SHRINK_CHECK(rng == nullptr || rng_state != checkpoint.rng.end(), where,
               ": expected a generator state, got a checkpoint saved without one (Hint: pass rng = nullptr to load "
               "only the other parts)");
  if (rng != nullptr) {
    Generator probe;
    try {
      probe.set_state(rng_state->second);
    } catch (const ValueError&) {
      throw ValueError(where + ": expected a generator state from Generator::state(), got " +
                       std::to_string(rng_state->second.size()) + " characters that do not parse");
    }
    SHRINK_CHECK(!all_zero_engine(rng_state->second), where,
                 ": expected a generator state from Generator::state(), got an all-zero state (it would generate "
                 "only zeros)");
  }
  check_model(checkpoint, model, where);
  if (optimizer != nullptr) check_optimizer(checkpoint, *optimizer, where);

  model.load_state_dict(checkpoint.model, true);
  // The scheduler first: set_last_epoch writes its closed-form rates, then the optimizer's saved
  // rates (exactly what the run used) replace them, as in PyTorch.
  if (scheduler != nullptr) scheduler->set_last_epoch(*checkpoint.scheduler_last_epoch);
  if (optimizer != nullptr) optimizer->load_state_dict({checkpoint.optimizer, *checkpoint.optimizer_groups});
  if (rng != nullptr) rng->set_state(rng_state->second);
  return checkpoint.epoch;
}

void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer* optimizer,
                     const optim::LRScheduler* scheduler, std::int64_t epoch, const Generator* rng) {
  io::save_checkpoint(make_checkpoint(model, optimizer, scheduler, epoch, rng), path);
}

std::int64_t load_checkpoint(const std::string& path, Module& model, optim::Optimizer* optimizer,
                             optim::LRScheduler* scheduler, Generator* rng) {
  const io::Checkpoint checkpoint = io::load_checkpoint(path);
  return restore_checkpoint(checkpoint, model, optimizer, scheduler, rng, "load_checkpoint: '" + path + "'");
}

void save_weights(const Module& model, const std::string& path) { io::save_state_dict(model.state_dict(), path); }

void load_weights(Module& model, const std::string& path, bool strict) {
  const io::StateDict state = io::load_state_dict(path, model.state_dict(), strict);
  model.load_state_dict(state, strict);
}

}  // namespace shrink::nn
