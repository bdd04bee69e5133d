#pragma once
/// \file
/// The names and version of Shrink's file formats (the `format`, `format_version` and `producer`
/// root attributes of every Shrink HDF5 file; see io/shrink_file.h for the convention).

#include <cstdint>

namespace shrink::io {

/// The `format_version` these readers understand and these writers write.
inline constexpr std::int64_t kFormatVersion = 1;
/// The `producer` attribute.
inline constexpr const char* kProducer = "shrink 0.1.0";
/// The `format` of state_dict files.
inline constexpr const char* kStateDictFormat = "shrink.state_dict";
/// The `format` of masks files.
inline constexpr const char* kMasksFormat = "shrink.masks";
/// The `format` of model files (a state_dict file plus a `graph` attribute).
inline constexpr const char* kModelFormat = "shrink.model";
/// The `format` of quantized-model files.
inline constexpr const char* kQuantizedFormat = "shrink.quantized";
/// The `format` of checkpoint files.
inline constexpr const char* kCheckpointFormat = "shrink.checkpoint";

}  // namespace shrink::io
