#pragma once
/// \file
/// Saving and resuming training: checkpoints of a model, its optimizer, its LR scheduler, the
/// epoch and a random generator (io/checkpoint.h holds the file format), and plain weights files.
///
/// \code
///   // every epoch, after scheduler.step():
///   nn::save_checkpoint("run.ckpt.h5", *model, &optimizer, &scheduler, epoch + 1);
///   // later, in a new process, after building the same model, optimizer and scheduler:
///   std::int64_t start = nn::load_checkpoint("run.ckpt.h5", *model, &optimizer, &scheduler);
///   loader.set_epoch(start);   // the DataLoader's shuffle depends only on (seed, epoch)
///   for (std::int64_t epoch = start; epoch < epochs; ++epoch) { ... }
/// \endcode
///
/// Resuming is exact: the same steps after load_checkpoint give bit-identical parameters to the
/// steps after save_checkpoint in the original run (tests/nn/checkpoint_test.cpp checks it).
///
/// The scheduler is restored by its epoch counter: build it on an optimizer that still has the
/// initial learning rate (as in the original run), then load; the checkpoint's learning rates then
/// replace the current ones.

#include <cstdint>
#include <string>

#include "autograd/generator.h"
#include "io/checkpoint.h"
#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"

namespace shrink::nn {

/// The checkpoint of a training run. `optimizer`, `scheduler` and `rng` may be null (not saved);
/// the generator's state is stored under the name "generator". Callers add compressor state to
/// the result before io::save_checkpoint.
io::Checkpoint make_checkpoint(const Module& model, const optim::Optimizer* optimizer,
                               const optim::LRScheduler* scheduler, std::int64_t epoch,
                               const Generator* rng = &default_generator());

/// Restores `model` and every non-null one of `optimizer`, `scheduler`, `rng` from `checkpoint`
/// and returns its epoch. Everything is validated before anything changes: ValueError (prefixed
/// with `where`) when the epoch is negative, when the model's keys, shapes or dtypes differ (all
/// differences in one message, see io::StateDictDiff), when a requested part is not in the
/// checkpoint, when the optimizer's groups differ (count, parameter names, option names — e.g. an
/// Adam state for an SGD optimizer) or hold an option that is not a finite number >= 0 (a negative
/// lr), when the optimizer state is incomplete (a parameter lacks a slot its optimizer keeps, e.g.
/// one momentum buffer missing while the others are there; a parameter may lack all of them only
/// if it does not require grad or no parameter of its group has state yet), or when the
/// generator state does not parse or is all zeros. Parts of the checkpoint nobody asks for are
/// ignored.
std::int64_t restore_checkpoint(const io::Checkpoint& checkpoint, Module& model, optim::Optimizer* optimizer,
                                optim::LRScheduler* scheduler, Generator* rng = &default_generator(),
                                const std::string& where = "restore_checkpoint");

/// make_checkpoint + io::save_checkpoint (atomic).
void save_checkpoint(const std::string& path, const Module& model, const optim::Optimizer* optimizer,
                     const optim::LRScheduler* scheduler, std::int64_t epoch,
                     const Generator* rng = &default_generator());

/// io::load_checkpoint + restore_checkpoint; errors name the file. Returns the saved epoch.
std::int64_t load_checkpoint(const std::string& path, Module& model, optim::Optimizer* optimizer,
                             optim::LRScheduler* scheduler, Generator* rng = &default_generator());

/// Writes the model's state_dict as an HDF5 state_dict file (docs/architecture.md), atomically; PyTorch
/// reads it with `{k: torch.from_numpy(f[k][()]) for k in h5py.File(path)}`.
void save_weights(const Module& model, const std::string& path);

/// Loads a state_dict file (Shrink's or a PyTorch state_dict written with h5py) into `model`.
/// Validated before anything is copied: IOError naming the file and the key on a shape or dtype
/// mismatch, and with `strict` on missing or unexpected keys. Without `strict`, only the keys
/// present in both are loaded.
void load_weights(Module& model, const std::string& path, bool strict = true);

}  // namespace shrink::nn
