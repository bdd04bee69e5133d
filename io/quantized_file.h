#pragma once
/// \file
/// The quantized export (docs/architecture.md, "quantized export"): an HDF5 file in the common
/// layout (io/shrink_file.h) with root attributes `format = "shrink.quantized"`,
/// `format_version = 1`, `producer`, and at the root:
///
/// - per quantized tensor `<name>` (QuantizedTensor): an int8 or uint8 dataset `<name>` in the
///   tensor's shape, stored uncompressed, with int64 attributes `axis` (−1 per tensor), `bits`,
///   `qmin`, `qmax`; a float32 dataset `<name>.scale` and a float32 (whole numbers) or int64
///   dataset `<name>.zero_point`, both of shape [1] per tensor or [C] per channel (C = the size of
///   `axis`);
/// - every other tensor of the model (biases, BatchNorm statistics...) as in a state_dict file.
///
/// A dataset is a quantized tensor when it carries any of the four attributes (it must then
/// carry all of them and both companions); `<k>.scale` / `<k>.zero_point` are companions of `<k>`.
///
/// No gzip: 8-bit weights hardly compress, and the chunk index of a deflated dataset costs more
/// than it saves (vgg_small with per-channel int8 weights: 27.4% of the float32 weights file
/// uncompressed, 29.5% with gzip level 6 at initialisation, 27.6% with gaussian weights).
///
/// The writer is atomic and validates what the reader validates; the reader treats the file as
/// hostile (hdf5_file.h) and checks the format, the version, every dtype and shape, the axis, the
/// grid, that scales are finite > 0, zero points whole and on the grid, and every integer value
/// within [qmin, qmax]. Errors name the file and the key: ValueError when writing, IOError when
/// reading.

#include <string>
#include <vector>

#include "io/quantized_tensor.h"
#include "io/state_dict.h"

namespace shrink::io {

/// The content of a quantized export.
struct QuantizedFile {
  /// The quantized tensors, in file order.
  std::vector<QuantizedTensor> quantized;
  /// The tensors left in float (any state_dict dtype), keyed like a state_dict, in file order.
  StateDict unquantized;
};

/// Writes `file` to `path` atomically. ValueError "save_quantized: '<path>': ..." naming the key
/// when a tensor is invalid (quantized_tensor_problem), when a name is empty, '.' or contains
/// '/', or when two datasets would share a name (a quantized tensor twice, an unquantized key
/// equal to a quantized name or companion, an unquantized key that looks like a companion).
void save_quantized(const std::string& path, const QuantizedFile& file);

/// Reads and validates a quantized export (see above). IOError "load_quantized_file: '<path>': ..."
/// naming the key and what was expected and found.
QuantizedFile load_quantized_file(const std::string& path);

/// The state_dict a quantized export stands for: every quantized tensor dequantized (float32,
/// equal bit for bit to the fake-quantized weight it was exported from) and every other tensor
/// as stored, in file order. `model->load_state_dict(io::load_quantized(path))` gives a float
/// model that computes with the int8 weights. Errors as load_quantized_file().
StateDict load_quantized(const std::string& path);

}  // namespace shrink::io
