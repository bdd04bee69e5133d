#pragma once
/// \file
/// The convention every Shrink HDF5 file follows (state_dict, masks, checkpoint, and the
/// quantized and model files built on them): root attributes `format` (e.g. "shrink.state_dict"),
/// `format_version` and `producer`; one root dataset per tensor entry, 0-d tensors stored with
/// shape [1] and a dataset attribute `ndim = 0` (h5py returns numpy scalars for scalar datasets,
/// which torch.from_numpy refuses).
///
/// Readers open files with open_shrink_file, which checks the format (with a hint naming the
/// right reader when the file is another Shrink format) and the version, and read entries with
/// read_entry / entry_spec; every failure is an IOError "<where>: '<path>': ...".

#include <cstdint>
#include <initializer_list>
#include <string>

#include "io/file_format.h"
#include "io/hdf5_file.h"
#include "io/state_dict_diff.h"

namespace shrink::io {

/// Writes the root attributes `format`, `format_version` = kFormatVersion and `producer`.
void write_header(H5File& file, const std::string& format);

/// Opens `path` read-only and checks its header: `format` must be one of `accepted` (a file
/// without `format` is accepted only with `allow_unformatted`, e.g. a PyTorch state_dict written
/// with plain h5py) and `format_version` must be kFormatVersion. The first accepted format is the
/// one named in errors.
H5File open_shrink_file(const std::string& path, const std::string& where, std::initializer_list<const char*> accepted,
                        bool allow_unformatted);

/// Writes `tensor` as the root dataset `name` (0-d as [1] + ndim = 0), deflated at `gzip_level`.
void write_entry(H5File& file, const std::string& name, const Tensor& tensor, int gzip_level = 0);

/// Reads the root dataset `name`, restoring a 0-d tensor from [1] + ndim = 0. IOError when
/// `name` is not a dataset (a group, a link) or `ndim` is inconsistent.
Tensor read_entry(const H5File& file, const std::string& name);

/// Key, shape (0-d restored) and stored type name of the root dataset `name`, without reading
/// its data.
EntrySpec entry_spec(const H5File& file, const std::string& name, const std::string& key);

}  // namespace shrink::io
