#pragma once
/// \file
/// Checkpoints of a pruning run: the training state of nn/checkpoint.h (model with its mask
/// buffers, optimizer, LR scheduler, epoch, random generator) plus the pruner's state_dict()
/// (masks, schedule position, movement scores, θ₀, ADMM's Z and U...) in the checkpoint's
/// `compressor` section, so that an interrupted run resumes bit-exactly.
///
/// \code
///   // the run: model, optimizer, scheduler, pruner; pruner.compress(); then every epoch:
///   compression::save_pruning_checkpoint("run.ckpt.h5", *model, &opt, &sched, epoch + 1, agp);
///   // resuming, in a new process: build the same model, optimizer, scheduler and pruner, then
///   agp.compress();                  // attaches the mask buffers the checkpoint restores
///   std::int64_t start = compression::load_pruning_checkpoint("run.ckpt.h5", *model, &opt, &sched, agp);
/// \endcode
///
/// The file is an ordinary io::Checkpoint: `compressor` holds {"pruner": "<name>"} (and
/// "inner": "<name>" for a schedule), `compressor_tensors` holds pruner.state_dict().
/// Loading checks the pruner's name first, then restores the training state
/// (nn::restore_checkpoint, validated before anything changes), then the pruner's state (also
/// validated before it changes): only a checkpoint whose pruner state alone is damaged can leave
/// the model restored and the pruner not.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "compression/pruning/pruner.h"
#include "io/state_dict.h"
#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"

namespace shrink::compression {

class ScheduledPruner;

/// Writes the checkpoint of a pruning run atomically. `optimizer`, `scheduler` and `rng` may be
/// null (not saved). The pruner must be compressed.
void save_pruning_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                             const optim::LRScheduler* scheduler, std::int64_t epoch, const Pruner& pruner,
                             const Generator* rng = &default_generator());
void save_pruning_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer* optimizer,
                             const optim::LRScheduler* scheduler, std::int64_t epoch, const ScheduledPruner& pruner,
                             const Generator* rng = &default_generator());

/// Restores a pruning run into `model`, the non-null `optimizer`, `scheduler` and `rng`, and
/// `pruner` (compressed on `model` with the run's configuration), and returns the saved epoch.
/// IOError for an unreadable file; ValueError (naming the file) when the checkpoint holds another
/// pruner's state or none, and for every mismatch nn::restore_checkpoint and the pruner's
/// load_state_dict() report.
std::int64_t load_pruning_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                                     optim::LRScheduler* scheduler, Pruner& pruner,
                                     Generator* rng = &default_generator());
std::int64_t load_pruning_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer* optimizer,
                                     optim::LRScheduler* scheduler, ScheduledPruner& pruner,
                                     Generator* rng = &default_generator());

// ---- helpers for the state_dict() of pruners ---------------------------------------------------

/// The one-element integer entry `key` of `state` (a count or position), checked to be >= `min`.
/// ValueError "<where>: expected ..." when it is absent, not one integer value, or out of range.
std::int64_t read_count(const io::StateDict& state, const std::string& key, std::int64_t min, const std::string& where);

/// The entries of `state` whose key starts with `prefix`, with the prefix removed.
io::StateDict with_prefix(const io::StateDict& state, const std::string& prefix);

/// Checks that `got` has exactly the keys, shapes and dtypes of `expected` (ValueError
/// "<where>: expected <what> for this model, got <differences>").
void check_entries(const io::StateDict& expected, const io::StateDict& got, const std::string& what,
                   const std::string& where);

}  // namespace shrink::compression
