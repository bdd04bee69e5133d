// shrink inspect <file>: what a Shrink file holds, as a table. HDF5 files announce their kind in
// their `format` attribute (io/shrink_file.h); JSON files are recognised by their shape.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "autograd/error.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/inspect.h"
#include "io/json_reader.h"

namespace shrink::cli {
namespace {

/// At most this much JSON is read (a graph or a sensitivity cache of a big model stays far below).
constexpr std::size_t kMaxJsonBytes = std::size_t{64} << 20;

/// Whether the file starts with HDF5's signature (at offset 0, where Shrink and h5py put it).
bool has_hdf5_signature(const std::string& path) {
  static constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  return in.read(head, 8) && std::equal(head, head + 8, kSignature);
}

std::string inspect(const std::string& path) {
  if (has_hdf5_signature(path)) return inspect_hdf5(path);
  const std::string text = io::read_text_file(path, "Shrink file", kMaxJsonBytes);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || (text[first] != '{' && text[first] != '['))
    throw IOError("'" + path +
                  "': expected a Shrink HDF5 file (state_dict, masks, checkpoint, model, int8 quantized) or JSON file "
                  "(pipeline, run record, sensitivity cache, graph, calibration config, config_list), got neither (no HDF5 "
                  "signature, no JSON object or list)");
  return inspect_json(path, io::parse_json_text(text, "'" + path + "'"));
}

}  // namespace

Command add_inspect_command(CLI::App& shrink) {
  auto path = std::make_shared<std::string>();
  CLI::App* app = shrink.add_subcommand(
      "inspect", "Describe any Shrink file as a table: state_dict, masks, checkpoint, model, int8 quantized (HDF5); "
                 "pipeline, run record, sensitivity cache, graph, calibration config, config_list (JSON)");
  app->add_option("file", *path, "The file")->required()->check(existing_file());
  return {app, [path] { std::fputs(inspect(*path).c_str(), stdout); }};
}

}  // namespace shrink::cli
