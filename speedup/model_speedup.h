#pragma once
/// \file
/// ModelSpeedup: physically shrinks a pruned model (NNI's ModelSpeedup) and checks that the
/// smaller model computes what the masked one did.
///
/// \code
///   compression::L1NormPruner pruner(model, config);
///   pruner.compress();
///   ... fine-tune ...
///   io::StateDict masks = pruner.get_masks();   // or io::load_masks("model.masks.h5")
///   pruner.unwrap();                            // detach the pruner: a plain model again
///   speedup::SpeedupReport report = speedup::ModelSpeedup(model, zeros({1, 1, 28, 28}), masks).speedup_model();
///   std::cout << report.to_string();            // the user's own forward now runs the smaller layers
/// \endcode
///
/// speedup_model():
///   1. checks the masks (names of the model's parameters, their shapes, 0/1 values) and applies
///      them to the weights (w *= mask: masked weights inside kept channels stay zero);
///   2. traces the model on `dummy_input` and builds the channel groups (channel_groups.h; an op
///      without a rule is an error before anything changes);
///   3. runs the masked model on `options.verify_batch` random inputs of the dummy input's shape,
///      recording every Conv2d/Linear input (for the constant fold) and the outputs;
///   4. decides the kept channels (mask_resolution.h: union or intersection, at least one per
///      layer, round_to, even groups) and replaces Conv2d, Linear and BatchNorm layers in place
///      by smaller ones (shrink_layers.h), folding the constants of removed channels;
///   5. runs the shrunk model on the same inputs and reports max |masked − shrunk| against
///      `tolerance` · max |masked| (a StateError when it fails and `strict` is set), with params,
///      MACs and median latency before and after.
/// The model is used in eval mode throughout and gets its training flags back.

#include <cstdint>
#include <string>

#include "autograd/tensor.h"
#include "io/state_dict.h"
#include "nn/module.h"
#include "speedup/mask_resolution.h"
#include "speedup/speedup_report.h"

namespace shrink::speedup {

struct SpeedupOptions {
  /// How a class of coupled channels is decided from its layers' masks (mask_resolution.h).
  Resolve resolve = Resolve::Union;
  /// Conv2d/Linear layers keep a multiple of this many output channels (or all of them).
  std::int64_t round_to = 1;
  /// Fold the constants of removed channels into the consumers' biases.
  bool fold_constants = true;
  /// Batch size of the random inputs (standard normal) used for folding and verification.
  std::int64_t verify_batch = 4;
  /// The verification bound, relative to max |masked output|.
  double tolerance = 1e-5;
  /// When set, a failed verification is a StateError (after the model was shrunk).
  bool strict = false;
  /// Timed forwards per measurement (plus one warm-up); 0 skips the latency measurement.
  int latency_repeats = 5;
  /// Seed of the random inputs (a private generator: the global one is not touched).
  std::uint64_t seed = 0;
};

class ModelSpeedup {
 public:
  /// `model` is shrunk in place; `dummy_input` has the batch dim first ([1, 1, 28, 28]); `masks`
  /// map tensor names ("features.0.weight") to 0/1 masks of their shape, as Pruner::get_masks()
  /// returns them or io::load_masks() reads them.
  ModelSpeedup(nn::Module& model, Tensor dummy_input, io::StateDict masks, SpeedupOptions options = {});
  /// The same with the masks read from a masks file (io::load_masks).
  ModelSpeedup(nn::Module& model, Tensor dummy_input, const std::string& masks_path, SpeedupOptions options = {});

  /// Shrinks the model (once) and returns the report.
  SpeedupReport speedup_model();

 private:
  nn::Module& model_;
  Tensor dummy_;
  io::StateDict masks_;
  SpeedupOptions options_;
  bool done_ = false;
};

}  // namespace shrink::speedup
