// DataDrivenPruner: per-channel statistics, their collectors, checkpoint entries and readiness.
#include "compression/pruning/statistics.h"

#include <algorithm>

#include "autograd/error.h"
#include "io/state_dict_diff.h"

namespace shrink::compression {
namespace {

std::string stat_key(const std::string& layer, const char* what) { return "stat:" + layer + "." + what; }

Tensor int64_1(std::int64_t value) { return from_vector(std::vector<std::int64_t>{value}, {1}); }

}  // namespace

DataDrivenPruner::DataDrivenPruner(std::string name, nn::ModulePtr model, ConfigList config, ConfigRules rules,
                                   DataPrunerOptions options, std::string collect_hint)
    : Pruner(std::move(name), std::move(model), std::move(config), std::move(rules), MaskGranularity::OutputChannel),
      options_(options), collect_hint_(std::move(collect_hint)) {
  SHRINK_CHECK(options_.max_batches >= 0, this->name(), ": expected max_batches >= 0 (0 = no limit), got ",
               options_.max_batches);
}

DataDrivenPruner::~DataDrivenPruner() { remove_collectors(); }

void DataDrivenPruner::remove_collectors() {
  for (auto& handle : collectors_) handle.remove();
  collectors_.clear();
}

void DataDrivenPruner::on_compress() {
  stats_.assign(layers().size(), {});
  reset_statistics();
  for (std::size_t i = 0; i < layers().size(); ++i) collectors_.push_back(install_collector(i));
}

void DataDrivenPruner::on_unwrap() { remove_collectors(); }

void DataDrivenPruner::on_masks_updated() {
  masks_computed_ = true;
  if (options_.reset_after_update) reset_statistics();
}

void DataDrivenPruner::update_epoch(std::int64_t epoch) {
  Pruner::update_epoch(epoch);
  if (masks_computed_) return;
  // Loops that call update_epoch() at the start of each epoch call update_epoch(0) before any
  // batch: nothing to compute yet. A later epoch without a batch is a mistake.
  if (epoch == 0 && std::all_of(stats_.begin(), stats_.end(), [](const ChannelStatistics& s) { return s.batches == 0; }))
    return;
  require_batches("update_epoch");
  update_masks();
}

void DataDrivenPruner::reset_statistics() {
  for (std::size_t i = 0; i < stats_.size(); ++i)
    stats_[i] = {zeros({unit_count(layers()[i])}, sum_dtype()), 0, 0};
}

bool DataDrivenPruner::accepts_batch(std::size_t index) const {
  return collecting_ && layers()[index].module->is_training() &&
         (options_.max_batches == 0 || stats_.at(index).batches < options_.max_batches);
}

const ChannelStatistics& DataDrivenPruner::statistics(const std::string& layer) const {
  std::string names;
  for (std::size_t i = 0; i < stats_.size(); ++i) {
    if (layers()[i].name == layer) return stats_[i];
    names += (names.empty() ? "'" : ", '") + layers()[i].name + "'";
  }
  throw IndexError(name() + ".statistics: expected one of the pruned layers (" +
                   (names.empty() ? std::string("none before compress()") : names) + "), got '" + layer + "'");
}

void DataDrivenPruner::check_ready() const { require_batches("update_masks"); }

void DataDrivenPruner::require_batches(const char* where) const {
  for (std::size_t i = 0; i < stats_.size(); ++i)
    SHRINK_CHECK_STATE(stats_[i].batches > 0, name(), ".", where, ": no batch collected yet for '", layers()[i].name,
                       "' (Hint: ", collect_hint_, ")");
}

io::StateDict DataDrivenPruner::state_dict() const {
  io::StateDict out = Pruner::state_dict();
  for (std::size_t i = 0; i < stats_.size(); ++i) {
    out.insert(stat_key(layers()[i].name, "sum"), stats_[i].sum.clone());
    out.insert(stat_key(layers()[i].name, "count"), int64_1(stats_[i].count));
    out.insert(stat_key(layers()[i].name, "batches"), int64_1(stats_[i].batches));
  }
  out.insert("stat:masks_computed", int64_1(masks_computed_ ? 1 : 0));
  return out;
}

void DataDrivenPruner::load_state_dict(const io::StateDict& state) {
  require_compressed("load_state_dict");
  // Validate the statistics first; the base then validates and loads the masks; only then do
  // the statistics change.
  io::StateDict expected, got;
  for (const auto& [key, value] : state_dict())
    if (key.rfind("stat:", 0) == 0) expected.insert(key, value);
  for (const auto& [key, value] : state)
    if (key.rfind("stat:", 0) == 0) got.insert(key, value);
  const io::StateDictDiff diff = io::diff_state_dicts(expected, got);
  SHRINK_CHECK(diff.empty(), name(), ".load_state_dict: expected the statistics of this pruner's layers, got ",
               diff.message(), " (Hint: a state_dict loads into the same pruner class on the same model and config_list)");
  std::vector<ChannelStatistics> loaded;
  for (const auto& layer : layers()) {
    ChannelStatistics s{got.at(stat_key(layer.name, "sum")).clone(), got.at(stat_key(layer.name, "count")).data<std::int64_t>()[0],
                        got.at(stat_key(layer.name, "batches")).data<std::int64_t>()[0]};
    SHRINK_CHECK(s.count >= 0 && s.batches >= 0, name(), ".load_state_dict: expected counts >= 0 for '", layer.name,
                 "', got count ", s.count, " and batches ", s.batches);
    loaded.push_back(std::move(s));
  }
  const std::int64_t computed = got.at("stat:masks_computed").data<std::int64_t>()[0];
  SHRINK_CHECK(computed == 0 || computed == 1, name(), ".load_state_dict: expected stat:masks_computed 0 or 1, got ",
               computed);
  Pruner::load_state_dict(state);
  stats_ = std::move(loaded);
  masks_computed_ = computed == 1;
}

}  // namespace shrink::compression
