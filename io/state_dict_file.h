#pragma once
/// \file
/// HDF5 state_dict and masks files (docs/architecture.md).
///
/// State_dict file: one dataset per entry at the root, named exactly by the dotted key
/// (`features.0.weight`), PyTorch layout and shape, stored in the tensor's own dtype (float32,
/// int64, int8, uint8); root attributes `format = "shrink.state_dict"`, `format_version = 1`,
/// `producer = "shrink 0.1.0"`. In Python `{k: torch.from_numpy(f[k][()]) for k in h5py.File(p)}`
/// is a valid state_dict.
///
/// 0-d tensors (BatchNorm's `num_batches_tracked`) are stored with shape [1] and a dataset
/// attribute `ndim = 0`: h5py returns a numpy scalar, not an array, for a scalar dataset, and
/// torch.from_numpy refuses scalars. PyTorch's load_state_dict accepts a [1] tensor for a 0-d
/// entry, and load_state_dict here restores the shape [] from the attribute.
///
/// Masks file: the same layout with `format = "shrink.masks"`, one uint8 0/1 dataset per masked
/// tensor, named like the tensor it masks, gzip-compressed.
///
/// The header and entry convention is io/shrink_file.h's. Writers are atomic (see
/// atomic_write.h). Readers treat files as hostile (see hdf5_file.h) and validate the format attribute, the version,
/// every dataset's dtype (and a mask's values) and throw IOError naming the file, the key, what
/// was expected and what was found. Files without a `format` attribute (a PyTorch state_dict
/// written with plain h5py) are accepted as they are; a file with another format is refused.

#include <cstdint>
#include <string>

#include "io/file_format.h"
#include "io/state_dict.h"

namespace shrink::io {

/// gzip level of masks datasets.
inline constexpr int kMasksGzipLevel = 6;

/// Writes `state_dict` to `path` (atomically). Keys must be non-empty and contain no '/'.
void save_state_dict(const StateDict& state_dict, const std::string& path);
/// Reads a state_dict file (also accepts the weights of a "shrink.model" file), in the order the
/// entries were written.
StateDict load_state_dict(const std::string& path);

/// Reads a state_dict file and checks it against `expected` (typically `model.state_dict()`)
/// before reading any data: every entry must have the expected shape and dtype, and with `strict`
/// the keys must match exactly. One IOError names the file and lists every problem at once
/// (missing, unexpected and mismatched keys, each list capped; see StateDictDiff::message). The
/// result follows `expected`'s key order (without `strict`, it holds only the keys present in
/// both).
StateDict load_state_dict(const std::string& path, const StateDict& expected, bool strict = true);

/// Writes masks (any dtype whose values are all 0 or 1; stored as uint8, gzip) to `path`.
void save_masks(const StateDict& masks, const std::string& path);
/// Reads a masks file; every mask is a uint8 tensor of 0/1.
StateDict load_masks(const std::string& path);

}  // namespace shrink::io
