#pragma once
/// \file
/// DataDrivenPruner: the base of the pruners whose metric comes from batches the user runs after
/// compress() (TaylorFOWeight, ActivationAPoZRank, ActivationMeanRank). It owns the per-channel
/// statistics of every selected layer, the hooks that collect them, their checkpoint entries and
/// the "no batch yet" error.
///
/// \code
///   compression::ActivationAPoZRankPruner pruner(model, config);
///   pruner.compress();                        // masks of ones; forward hooks installed
///   for (int i = 0; i < 20; ++i) (*model)(batches[i]);   // statistics collected by the hooks
///   pruner.update_masks();                    // masks from the statistics
/// \endcode
///
/// In a plain training loop (compress(), then training epochs with update_epoch()) the first
/// update_epoch() that finds batches computes the masks; later ones leave them alone (call
/// update_masks() to recompute).
///
/// What counts as a batch: a call of a selected layer (forward hook) or a backward pass that
/// reaches its weight (gradient hook) while the layer is in training mode. NNI collects on every
/// pass while its collector is registered, and registers it only around its training batches;
/// here the collectors stay from compress() to unwrap(), so evaluation passes (model->eval())
/// are left out to keep the test set out of the statistics. Pause collection with
/// set_collecting(false), bound it with `max_batches` (NNI's `training_batches`).

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/hook_handle.h"
#include "compression/pruning/pruner.h"

namespace shrink::compression {

/// What a data-driven pruner has collected for one layer.
struct ChannelStatistics {
  /// Per output channel, the accumulated quantity ([C]): zero counts (int64) for APoZ, activation
  /// sums for Mean, summed Taylor scores for TaylorFOWeight (float32).
  Tensor sum;
  /// How many values per channel went into `sum` (activation pruners: batch × spatial positions
  /// over all batches; TaylorFOWeight: the batches).
  std::int64_t count = 0;
  /// Batches collected (calls of the layer, or backward passes reaching its weight).
  std::int64_t batches = 0;
};

/// Options every data-driven pruner shares.
struct DataPrunerOptions {
  /// A layer stops collecting once it holds this many batches (NNI's `training_batches`);
  /// 0 = no limit.
  std::int64_t max_batches = 0;
  /// Clear the statistics after every update_masks(), so that each round of a schedule ranks the
  /// channels on the batches seen since the previous round.
  bool reset_after_update = false;
};

/// Base class of the pruners that collect per-channel statistics from user batches.
class DataDrivenPruner : public Pruner {
 public:
  /// Removes the collecting hooks (the model may outlive the pruner).
  ~DataDrivenPruner() override;

  /// Turns collection on (the default after compress()) or off; the hooks stay installed.
  void set_collecting(bool on) { collecting_ = on; }
  bool collecting() const { return collecting_; }
  /// The statistics of the selected layer `layer` (dotted name); IndexError listing the layers.
  const ChannelStatistics& statistics(const std::string& layer) const;
  /// Clears every layer's statistics (update_masks() then needs new batches).
  void reset_statistics();

  /// Computes the masks (update_masks()) unless they were computed already, by this call, by
  /// update_masks() or by a schedule: the first epoch is the collection phase of a one-shot run.
  /// update_epoch(0) before any batch does nothing (loops that call it at the start of each
  /// epoch); a later epoch without a batch is a StateError.
  void update_epoch(std::int64_t epoch) override;
  /// True once update_masks() has run (masks from statistics, not the initial ones).
  bool masks_computed() const { return masks_computed_; }

  /// The masks ("mask:<tensor>") plus, per layer, "stat:<layer>.sum" ([C]), "stat:<layer>.count"
  /// and "stat:<layer>.batches" (int64 [1]), and "stat:masks_computed" (int64 [1], 0 or 1): a run
  /// interrupted after k batches resumes with them.
  io::StateDict state_dict() const override;
  /// Restores state_dict(). Every layer's statistics must be there with the shapes and dtypes
  /// of this pruner's; everything is checked before anything changes (ValueError).
  void load_state_dict(const io::StateDict& state) override;

 protected:
  /// `collect_hint` completes the "no batch collected" error: what the user has to run.
  DataDrivenPruner(std::string name, nn::ModulePtr model, ConfigList config, ConfigRules rules,
                   DataPrunerOptions options, std::string collect_hint);

  bool needs_data() const final { return true; }
  /// StateError naming the first layer without a batch.
  void check_ready() const override;
  /// Sizes the statistics and installs one collector per layer.
  void on_compress() override;
  void on_unwrap() override;
  void on_masks_updated() override;

  /// Installs the hook that collects the statistics of layers()[index].
  virtual HookHandle install_collector(std::size_t index) = 0;
  /// The dtype of ChannelStatistics::sum (float32 unless overridden).
  virtual DType sum_dtype() const { return DType::Float32; }

  /// True when layers()[index] takes another batch (collecting, the layer in training mode, and
  /// below max_batches).
  bool accepts_batch(std::size_t index) const;
  /// The statistics of layers()[index], for the collectors to update.
  ChannelStatistics& statistics_at(std::size_t index) { return stats_.at(index); }
  const ChannelStatistics& statistics_at(std::size_t index) const { return stats_.at(index); }

 private:
  void remove_collectors();
  /// StateError "<name>.<where>: no batch collected yet for '<layer>'" unless every layer has one.
  void require_batches(const char* where) const;

  DataPrunerOptions options_;
  std::string collect_hint_;
  std::vector<ChannelStatistics> stats_;
  std::vector<HookHandle> collectors_;
  bool collecting_ = true;
  bool masks_computed_ = false;
};

}  // namespace shrink::compression
