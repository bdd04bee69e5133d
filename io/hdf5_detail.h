#pragma once
/// \file
/// Internal helpers shared by the HDF5 wrapper's source files (hdf5_file.cpp, hdf5_dataset.cpp);
/// not part of the public io API.

#include <hdf5.h>

#include <optional>
#include <string>

#include "autograd/tensor.h"

namespace shrink::io::detail {

/// `what`, followed by " (HDF5: <innermost error>)" when HDF5 recorded one (and clears it).
std::string with_hdf5_detail(const std::string& what);
/// numpy-style name of an HDF5 datatype ("float32", "int8", "string", "compound", ...).
std::string type_name_of(hid_t type);
/// The tensor dtype an HDF5 datatype is read as, if any.
std::optional<DType> dtype_of_type(hid_t type);
/// The native in-memory HDF5 type of a dtype.
hid_t memory_type(DType dtype);
/// The little-endian file type a dtype is written as.
hid_t file_type(DType dtype);

}  // namespace shrink::io::detail
