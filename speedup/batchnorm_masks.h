#pragma once
/// \file
/// BatchNormMasks: the BatchNorm2d after each pruned Conv2d masked on the conv's pruned channels,
/// so that speedup is exact. A pruned channel's conv output is 0, but its BatchNorm adds a shift
/// (bias − mean · weight / sqrt(var + eps)) that ModelSpeedup would have to fold into the next
/// layer — inexactly where that layer pads. Masking the BatchNorm's weight and bias on the same
/// channels makes the removed channel output exactly 0 (before and after the speedup).
///
/// \code
///   pruner.compress();
///   speedup::BatchNormMasks bn_masks(*model, example, pruner);   // after compress()
///   ... fine-tune, calling bn_masks.sync() after each pruner.step() ...
///   io::StateDict masks = pruner.get_masks();
///   for (const auto& [name, mask] : bn_masks.finish()) masks.insert(name, mask);
///   pruner.unwrap();
///   speedup::ModelSpeedup(*model, example, masks).speedup_model();
/// \endcode
///
/// The masking is a buffer "channel_mask" on each such BatchNorm2d and a parametrization of kind
/// "channel_mask" on its weight and bias (the value × channel_mask), so a checkpoint of the model
/// holds it; a model with them can not be written as a model file before finish() (or
/// bake_channel_masks() on a copy).

#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "compression/pruning/pruner.h"
#include "io/state_dict.h"
#include "nn/module.h"

namespace shrink::speedup {

class BatchNormMasks {
 public:
  /// Masks the BatchNorm2d of every (conv, bn) of conv_bn_pairs(model, example) whose conv is a
  /// layer of `pruner` (which must be compressed: its layers hold "weight_mask" buffers), and
  /// copies the masks (sync()). Layers of the pruner that are not convs followed by a BatchNorm2d
  /// are left alone.
  BatchNormMasks(nn::Module& model, const Tensor& example, const compression::Pruner& pruner);
  /// Copies the convs' current masks: a BatchNorm channel is kept when any weight of the conv's
  /// output channel is. Call after every change of the pruner's masks (step(), update_masks()).
  void sync();
  /// Bakes the masked values into the BatchNorms' weight and bias, removes the parametrizations
  /// and the buffers, and returns the masks as ModelSpeedup takes them ("<bn>.weight" and
  /// "<bn>.bias"). The object then holds nothing.
  io::StateDict finish();
  /// How many BatchNorm2d are masked.
  std::size_t size() const { return pairs_.size(); }

 private:
  struct Pair {
    nn::ModulePtr conv, bn;
    std::string name;
  };
  std::vector<Pair> pairs_;
};

/// On every module of `model` that a BatchNormMasks masks (one with a "channel_mask" buffer):
/// bakes the masked weight and bias in and removes the parametrizations and the buffer — for a
/// copy of a model to be written as a model file while the original keeps its masks.
void bake_channel_masks(nn::Module& model);

}  // namespace shrink::speedup
