#pragma once
/// \file
/// Pruner: the compressor API every pruning algorithm shares (NNI 2.x style).
///
/// \code
///   auto model = nn::models::create("vgg_small");
///   optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
///   compression::L1NormPruner pruner(model, compression::ConfigList::parse(
///       R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])"));
///   pruner.compress();                     // masks attached and computed; `opt` keeps working
///   for (...) { loss.backward(); opt.step(); pruner.step(); }   // fine-tune: masked weights stay 0
///   pruner.export_model("vgg.h5", "vgg.masks.h5");
///   pruner.unwrap();                       // bakes the masks into the weights
/// \endcode
///
/// compress() attaches to every selected module a buffer `weight_mask` (and `bias_mask` for
/// pruners that remove whole output channels) of the parameter's shape, and a parametrization
/// `w * mask` (Module::register_parametrization, kind "prune"): the layer computes with the masked
/// weight inside the forward graph, so masked weights get zero gradient and the effective weight
/// stays exactly zero. Parameter names and objects are unchanged: an optimizer built before
/// compress() keeps training them.
///
/// Keep count (SEMANTICS §2): a layer at sparsity s prunes floor(s · units) units (elements for
/// element pruners, output channels for channel pruners) with the lowest metric; ties are broken by
/// index (the lower index is pruned first). Global allocation (`total_sparsity`) ranks the units
/// of all the dict's layers by their raw metric (a unit weighs its number of weights in the
/// budget), prunes from the lowest until floor(s · weights) weights are pruned (a unit that
/// would overshoot ends it), and skips the units of a layer that reached `max_sparsity_per_layer`.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/hook_handle.h"
#include "autograd/tensor.h"
#include "compression/config_list.h"
#include "compression/pruning/dependency_groups.h"
#include "io/state_dict.h"
#include "nn/module.h"

namespace shrink::compression {

/// What one unit of a pruner's mask is.
enum class MaskGranularity {
  /// Single weight elements (Level, Movement, ADMM): `weight_mask` only.
  Element,
  /// Whole output channels: Conv2d filters (dim 0), Linear rows, BatchNorm channels; the bias of
  /// a pruned channel is masked too (`bias_mask`).
  OutputChannel,
};

/// One layer a pruner works on.
struct PrunedLayer {
  /// Dotted module name ("features.0").
  std::string name;
  /// Module type ("Conv2d").
  std::string type;
  nn::ModulePtr module;
  /// The per-layer target from `sparsity`/`sparsity_per_layer` (0 inside a global group).
  double sparsity = 0;
  /// Index of the `total_sparsity` dict this layer belongs to, or -1 (per-layer target).
  int global_group = -1;
  /// The budget of that group (`total_sparsity`) and the cap of each layer in it.
  double total_sparsity = 0;
  double max_sparsity = 0.99;
};

/// Base class of every pruner. Not copyable; it refers to the model it prunes.
class Pruner {
 public:
  virtual ~Pruner();
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

  /// "L1NormPruner", ...: the first word of every message.
  const std::string& name() const { return name_; }
  nn::Module& model() const { return *model_; }
  MaskGranularity granularity() const { return granularity_; }
  /// The selected layers (empty before compress()).
  const std::vector<PrunedLayer>& layers() const { return layers_; }
  bool is_compressed() const { return compressed_; }

  /// Selects the layers (ValueError for a bad config_list; the model is unchanged then),
  /// attaches masks of ones and their parametrizations, and computes the masks unless the
  /// pruner needs data first (then call update_masks() after collecting batches, or let a
  /// schedule do it). Returns get_masks(). A second call is a StateError.
  io::StateDict compress();

  /// Recomputes every mask at the current targets from the current weights and statistics.
  void update_masks();

  /// Called once per epoch by the training loop; schedules and data-driven pruners act here.
  /// One-shot pruners do nothing but check that compress() was called.
  virtual void update_epoch(std::int64_t epoch);
  /// Called after every optimizer.step(); the base only checks that compress() was called.
  virtual void step();

  /// The current masks by the name of the tensor they mask ("features.0.weight",
  /// "features.0.bias"), float32 0/1 copies.
  io::StateDict get_masks() const;
  /// Replaces the masks: every name must be one of get_masks()'s with the same shape and only 0/1
  /// values (any numeric dtype); everything is checked before anything changes.
  void load_masks(const io::StateDict& masks);
  /// load_masks() from a masks file (io::load_masks); errors name the file.
  void load_masks(const std::string& path);
  /// Writes the model's state_dict with the masks applied and without the mask buffers (it
  /// loads into a plain model) to `model_path`, and the masks to `mask_path` (DESIGN §4).
  void export_model(const std::string& model_path, const std::string& mask_path) const;
  /// Bakes the masks into the weights and removes the parametrizations and mask buffers. The
  /// pruner is done afterwards (compress() again is a StateError).
  void unwrap();

  /// Compressor state for checkpoints (io::Checkpoint::compressor): the masks as "mask:<tensor>"
  /// plus what the algorithm keeps (statistics, schedule position) under its own prefixes.
  virtual io::StateDict state_dict() const;
  /// Restores state_dict(); the pruner must be compressed on the same model first.
  virtual void load_state_dict(const io::StateDict& state);

  /// Maps each configured target (per-layer sparsity or total_sparsity) to the one used by the
  /// next update_masks(): schedules call it with their s_t. Identity until set.
  void set_target_transform(std::function<double(double configured)> transform);
  /// The sparsity `configured` maps to now.
  double current_target(double configured) const;
  /// When on, units pruned by the current masks stay pruned in the next update_masks() (their
  /// metric counts as -infinity): iterative schedules prune "relative to the weights still alive".
  void set_keep_pruned(bool keep) { keep_pruned_ = keep; }
  /// Dependency-aware allocation for channel pruners (L1Norm, L2Norm, FPGM, Slim, Taylor, APoZ,
  /// MeanActivation): from the next update_masks() on, pruned layers whose output channels are
  /// coupled (a residual add, a BatchNorm after a conv...) prune the same channels, chosen by
  /// the sum of their metrics (compression::coupled_prune_channels). The groups come from the
  /// traced model: `speedup::dependency_groups(speedup::trace(model, x), model)`. Each layer
  /// prunes at most its own count; grouped convs are evened out by speedup, not here. Empty
  /// groups turn it off. StateError for an element pruner; ValueError for inconsistent groups.
  void set_dependency_groups(DependencyGroups groups);

 protected:
  Pruner(std::string name, nn::ModulePtr model, ConfigList config, ConfigRules rules, MaskGranularity granularity);

  /// Importance of each unit of `layer` (higher = kept): the weight's shape for Element
  /// granularity, [channels] for OutputChannel. Called by update_masks() after check_ready().
  virtual Tensor metric(const PrunedLayer& layer) = 0;
  /// Throws StateError when the metric cannot be computed yet (no batch collected...).
  virtual void check_ready() const {}
  /// True for pruners whose metric needs batches: compress() then attaches masks of ones only.
  virtual bool needs_data() const { return false; }
  /// After the masks are attached (install statistics hooks here).
  virtual void on_compress() {}
  /// Before the masks are baked in and removed (remove hooks here).
  virtual void on_unwrap() {}
  /// After update_masks() has written every mask (data-driven pruners may reset statistics here).
  virtual void on_masks_updated() {}
  /// The mask of one layer (weight-shaped, float32 0/1) that prunes `prune_units` units ranked by
  /// `metric`. The default ranks by value with ties by index; N:M and other patterns override.
  virtual Tensor make_weight_mask(const PrunedLayer& layer, const Tensor& metric, std::int64_t prune_units);

  /// The parameter tensor `param` ("weight" or "bias") of `layer`'s module (raw, unmasked).
  static Tensor parameter(const PrunedLayer& layer, const std::string& param);
  /// The mask buffer of `param` of `layer`, or an undefined tensor.
  static Tensor mask_of(const PrunedLayer& layer, const std::string& param);
  /// Number of units of `layer` at this pruner's granularity.
  std::int64_t unit_count(const PrunedLayer& layer) const;
  /// Throws StateError "<name>.<what>: call compress() first" unless compressed.
  void require_compressed(const std::string& what) const;
  /// The rules select_layers() applies (given by the subclass to the constructor).
  const ConfigRules& rules() const { return rules_; }

 private:
  /// Per layer, the number of units to prune at the current targets.
  std::vector<std::int64_t> prune_counts(const std::vector<Tensor>& metrics) const;
  void attach(PrunedLayer& layer);
  void apply_mask(const PrunedLayer& layer, const Tensor& weight_mask);

  std::string name_;
  nn::ModulePtr model_;
  ConfigList config_;
  ConfigRules rules_;
  MaskGranularity granularity_;
  std::vector<PrunedLayer> layers_;
  std::vector<HookHandle> parametrizations_;
  std::function<double(double)> transform_;
  bool compressed_ = false;
  bool unwrapped_ = false;
  bool keep_pruned_ = false;
  DependencyGroups dependency_groups_;
};

}  // namespace shrink::compression
