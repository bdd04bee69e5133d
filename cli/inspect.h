#pragma once
/// \file
/// `shrink inspect`'s readers (internal to cli/): each returns the text that describes one kind
/// of Shrink file — a header line naming the file and its kind, then a table.

#include <nlohmann/json.hpp>
#include <string>

namespace shrink::cli {

/// An HDF5 file, by its `format` attribute (io/file_format.h): state_dict (also without
/// `format`, as h5py writes a PyTorch state_dict), masks, checkpoint, model, quantized. The
/// readers validate the file as hostile (io/); IOError naming the file otherwise.
std::string inspect_hdf5(const std::string& path);

/// A JSON file by its shape: pipeline, run record, sensitivity cache, graph, calibration config or
/// config_list. ValueError naming the file and the kinds it could have been otherwise.
std::string inspect_json(const std::string& path, const nlohmann::json& json);

}  // namespace shrink::cli
