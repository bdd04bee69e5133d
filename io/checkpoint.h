#pragma once
/// \file
/// Checkpoint files: everything a training run needs to resume exactly, in one HDF5 file.
///
/// `Checkpoint` is plain data (it knows nothing of modules or optimizers; nn/checkpoint.h fills it
/// from them and restores them from it). On disk:
/// - one root dataset per tensor, named `<part>:<key>` with the parts `model` (the model's
///   state_dict), `optimizer` (the optimizer's per-parameter tensors, e.g.
///   `optimizer:fc1.weight.momentum_buffer`) and `compressor` (masks, scales... of a compression
///   algorithm). The separator is ':' because '/' would make HDF5 groups. 0-d tensors follow the
///   state_dict file convention: stored with shape [1] and a dataset attribute `ndim = 0`.
/// - root attributes `format = "shrink.checkpoint"`, `format_version = 1`,
///   `producer = "shrink <ver>"`, and `meta`: a JSON string
///   `{"epoch": e, "optimizer": {"groups": [...]} | null, "scheduler": {"last_epoch": n} | null,
///     "rng": {"<name>": "<Generator::state()>", ...}, "compressor": <any JSON>, "extra": <any JSON>}`.
///
/// In Python: `{k[6:]: torch.from_numpy(f[k][()]) for k in f if k.startswith("model:")}` is the
/// model's state_dict and `json.loads(f.attrs["meta"])` the rest.
///
/// The writer is atomic (a crash never leaves a half-written checkpoint); the reader validates the
/// format, the version, the meta JSON and every dataset name and dtype, and throws IOError naming
/// the file and the offending key.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "io/file_format.h"
#include "io/state_dict.h"

namespace shrink::io {

struct Checkpoint {
  /// The model's state_dict (parameters and buffers by dotted name).
  StateDict model;
  /// The optimizer's tensors ("<param>.<slot>", "<param>.step"); empty without an optimizer.
  StateDict optimizer;
  /// The optimizer's parameter groups (hyper-parameters and parameter names) as
  /// optim::OptimizerState::groups; empty when the checkpoint holds no optimizer.
  std::optional<nlohmann::json> optimizer_groups;
  /// The LR scheduler's epoch counter (last_epoch); empty without a scheduler.
  std::optional<std::int64_t> scheduler_last_epoch;
  /// The training epoch the checkpoint was taken at (by convention: epochs completed).
  std::int64_t epoch = 0;
  /// Random generator states by name (Generator::state()), e.g. {"generator": "..."}.
  std::map<std::string, std::string> rng;
  /// Free-form state of a compression algorithm (schedule position, config...); null when none.
  nlohmann::json compressor;
  /// Tensors of a compression algorithm (masks, scales, zero points...) by name.
  StateDict compressor_tensors;
  /// Anything else the caller wants to keep (best accuracy, command line...); null when none.
  nlohmann::json extra;
};

/// Writes `checkpoint` to `path` atomically. ValueError on a key that is empty or contains '/',
/// a negative epoch, compressor/extra JSON nested deeper than the reader accepts, an undefined
/// tensor, optimizer tensors without optimizer_groups, or optimizer_groups that are not a JSON
/// array.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

/// Reads a checkpoint file. IOError naming the file (and the key or meta field) when it is not a
/// checkpoint (missing or other `format`), has another `format_version`, a missing or malformed
/// `meta` (every field type- and range-checked, see checkpoint_meta.h), a dataset without a known
/// `<part>:` prefix, a group or link at the root, or a tensor of an unsupported dtype or forged
/// shape (see hdf5_file.h). Never any other exception type on a hostile file.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace shrink::io
