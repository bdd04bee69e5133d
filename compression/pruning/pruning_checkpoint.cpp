// Checkpoints of a pruning run: nn's training checkpoint plus the pruner's state.
#include "compression/pruning/pruning_checkpoint.h"

#include "autograd/error.h"
#include "compression/pruning/scheduled_pruners.h"
#include "io/checkpoint.h"
#include "io/state_dict_diff.h"
#include "nn/checkpoint.h"

namespace shrink::compression {
namespace {

constexpr const char* kWhere = "load_pruning_checkpoint";

nlohmann::json identity(const Pruner& pruner) { return {{"pruner", pruner.name()}}; }
nlohmann::json identity(const ScheduledPruner& pruner) {
  return {{"pruner", pruner.name()}, {"inner", pruner.inner().name()}};
}

/// "AGPPruner(LevelPruner)" / "LevelPruner": how messages name a saved or expected pruner; "" for none.
std::string describe(const nlohmann::json& id) {
  if (!id.is_object() || !id.contains("pruner") || !id["pruner"].is_string()) return "";
  std::string s = id["pruner"].get<std::string>();
  if (id.contains("inner") && id["inner"].is_string()) {
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "(" + std::string.
    s += '(';
    s += id["inner"].get<std::string>();
    s += ')';
  }
  return s;
}

void save(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
          const optim::LRScheduler* scheduler, std::int64_t epoch, const Generator* rng, nlohmann::json id,
          io::StateDict state) {
  io::Checkpoint c = nn::make_checkpoint(model, optimizer, scheduler, epoch, rng);
  c.compressor = std::move(id);
  c.compressor_tensors = std::move(state);
  io::save_checkpoint(c, path);
}

/// Checks the pruner's name, restores the training state, then the pruner's state.
template <typename AnyPruner>
std::int64_t load(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                  optim::LRScheduler* scheduler, Generator* rng, AnyPruner& pruner) {
  SHRINK_CHECK_T(StateError, pruner.is_compressed(), kWhere, ": expected a compressed ", pruner.name(),
                 ", got one that is not (Hint: call compress() before loading: it attaches the mask buffers)");
  const io::Checkpoint c = io::load_checkpoint(path);
  const std::string where = std::string(kWhere) + ": " + path;
  const nlohmann::json id = identity(pruner);
  const std::string saved = describe(c.compressor);
  SHRINK_CHECK(c.compressor == id, where, ": expected the state of ", describe(id), ", got ",
               saved.empty() ? std::string("no pruner state") : "that of " + saved,
               c.compressor.is_null()
                   ? " (Hint: nn::save_checkpoint keeps no pruner state; use save_pruning_checkpoint)"
                   : " (Hint: resume with the pruner of the saved run)");
  const std::int64_t epoch = nn::restore_checkpoint(c, model, optimizer, scheduler, rng, where);
  try {
    pruner.load_state_dict(c.compressor_tensors);
  } catch (const ValueError& e) {
    throw ValueError(where + ": " + e.what());
  }
  return epoch;
}

}  // namespace

void save_pruning_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                             const optim::LRScheduler* scheduler, std::int64_t epoch, const Pruner& pruner,
                             const Generator* rng) {
  save(path, model, optimizer, scheduler, epoch, rng, identity(pruner), pruner.state_dict());
}

void save_pruning_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                             const optim::LRScheduler* scheduler, std::int64_t epoch, const ScheduledPruner& pruner,
                             const Generator* rng) {
  save(path, model, optimizer, scheduler, epoch, rng, identity(pruner), pruner.state_dict());
}

std::int64_t load_pruning_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                                     optim::LRScheduler* scheduler, Pruner& pruner, Generator* rng) {
  return load(path, model, optimizer, scheduler, rng, pruner);
}

std::int64_t load_pruning_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                                     optim::LRScheduler* scheduler, ScheduledPruner& pruner, Generator* rng) {
  return load(path, model, optimizer, scheduler, rng, pruner);
}

std::int64_t read_count(const io::StateDict& state, const std::string& key, std::int64_t min,
                        const std::string& where) {
  SHRINK_CHECK(state.contains(key), where, ": expected an entry '", key, "', got a state without it");
  const Tensor& t = state.at(key);
  SHRINK_CHECK(t.defined() && t.numel() == 1 && t.dtype() == DType::Int64, where, ": expected '", key,
               "' to be one int64 value, got ",
               t.defined() ? shape_str(t.shape()) + " " + std::string(dtype_name(t.dtype()))
                           : std::string("an undefined tensor"));
  const std::int64_t v = t.item<std::int64_t>();
  SHRINK_CHECK(v >= min, where, ": expected '", key, "' >= ", min, ", got ", v);
  return v;
}

io::StateDict with_prefix(const io::StateDict& state, const std::string& prefix) {
  io::StateDict out;
  for (const auto& [key, value] : state)
    if (key.rfind(prefix, 0) == 0) out.insert(key.substr(prefix.size()), value);
  return out;
}

void check_entries(const io::StateDict& expected, const io::StateDict& got, const std::string& what,
                   const std::string& where) {
  const io::StateDictDiff diff = io::diff_state_dicts(expected, got);
  SHRINK_CHECK(diff.empty(), where, ": expected ", what, " for this model, got ", diff.message(),
               " (Hint: the state was saved on another model or configuration)");
}

}  // namespace shrink::compression
