#include "io/checkpoint.h"

#include <array>
#include <utility>

#include "io/atomic_write.h"
#include "io/checkpoint_meta.h"
#include "io/shrink_file.h"

namespace shrink::io {
namespace {

/// The root attribute holding the JSON of everything that is not a tensor.
constexpr const char* kMetaAttr = "meta";

/// The dataset name prefixes, one per part of a checkpoint.
constexpr const char* kModelPart = "model";
constexpr const char* kOptimizerPart = "optimizer";
constexpr const char* kCompressorPart = "compressor";

void check_part(const StateDict& part, const char* part_name) {
  for (const auto& [key, tensor] : part) {
    SHRINK_CHECK(!key.empty() && key != "." && key.find('/') == std::string::npos, "save_checkpoint: ", part_name,
                 ": expected keys that are non-empty, not '.' and without '/', got '", key, "'");
    SHRINK_CHECK(tensor.defined(), "save_checkpoint: ", part_name, ": expected a defined tensor for '", key,
                 "', got an undefined Tensor");
  }
}

void write_part(H5File& file, const StateDict& part, const char* part_name) {
  for (const auto& [key, tensor] : part) write_entry(file, std::string(part_name) + ":" + key, tensor);
}

/// Reads the meta JSON into `c` (checked field by field in checkpoint_meta.cpp).
void read_meta(const H5File& file, Checkpoint& c) {
  const std::optional<std::string> text = file.string_attr("", kMetaAttr);
  if (!text) throw IOError(file.prefix() + "expected an attribute 'meta', got none");
  parse_checkpoint_meta(*text, file.prefix() + "attribute 'meta': ", c);
}

}  // namespace

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  check_part(checkpoint.model, kModelPart);
  check_part(checkpoint.optimizer, kOptimizerPart);
  check_part(checkpoint.compressor_tensors, kCompressorPart);
  SHRINK_CHECK(checkpoint.optimizer.empty() || checkpoint.optimizer_groups.has_value(),
               "save_checkpoint: expected optimizer_groups with the optimizer's ", checkpoint.optimizer.size(),
               " tensors, got none (Hint: fill both from optim::Optimizer::state_dict())");
  SHRINK_CHECK(!checkpoint.optimizer_groups || checkpoint.optimizer_groups->is_array(),
               "save_checkpoint: expected optimizer_groups to be a JSON array, got ",
               checkpoint.optimizer_groups ? checkpoint.optimizer_groups->type_name() : "none");
  SHRINK_CHECK(checkpoint.epoch >= 0, "save_checkpoint: expected an epoch >= 0, got ", checkpoint.epoch);
  const std::string meta = checkpoint_meta(checkpoint).dump();
  SHRINK_CHECK(json_nesting_depth(meta, kMaxMetaDepth) <= kMaxMetaDepth, "save_checkpoint: expected compressor and "
               "extra JSON nested at most ", kMaxMetaDepth - 1, " levels deep, got deeper (the reader would refuse it)");
  write_atomically(path, "save_checkpoint", [&](const std::string& tmp) {
    H5File file = H5File::create(tmp, "save_checkpoint", path);
    write_header(file, kCheckpointFormat);
    file.set_string_attr("", kMetaAttr, meta);
    write_part(file, checkpoint.model, kModelPart);
    write_part(file, checkpoint.optimizer, kOptimizerPart);
    write_part(file, checkpoint.compressor_tensors, kCompressorPart);
    file.close();
  });
}

Checkpoint load_checkpoint(const std::string& path) {
  const char* where = "load_checkpoint";
  const std::string prefix = std::string(where) + ": '" + path + "': ";
  const H5File file = open_shrink_file(path, where, {kCheckpointFormat}, false);
  Checkpoint c;
  read_meta(file, c);
  const std::array<std::pair<const char*, StateDict*>, 3> parts{
      {{kModelPart, &c.model}, {kOptimizerPart, &c.optimizer}, {kCompressorPart, &c.compressor_tensors}}};
  for (const std::string& name : file.names()) {
    if (!file.is_dataset(name))
      throw IOError(prefix + "expected only datasets at the root, got the group '" + name + "'");
    const auto colon = name.find(':');
    StateDict* part = nullptr;
    if (colon != std::string::npos && colon + 1 < name.size())
      for (const auto& [part_name, dict] : parts)
        if (name.compare(0, colon, part_name) == 0 && colon == std::char_traits<char>::length(part_name)) part = dict;
    if (part == nullptr)
      throw IOError(prefix + "dataset '" + name +
                    "': expected a name starting with 'model:', 'optimizer:' or 'compressor:' followed by a key, got " +
                    (colon == std::string::npos ? std::string("no prefix") : "'" + name.substr(0, colon + 1) + "'"));
    part->insert(name.substr(colon + 1), read_entry(file, name));
  }
  if (!c.optimizer.empty() && !c.optimizer_groups)
    throw IOError(
        prefix + "dataset 'optimizer:" + c.optimizer.keys().front() +
        "': expected no optimizer tensors in a checkpoint without optimizer groups (meta 'optimizer' is null)");
  return c;
}

}  // namespace shrink::io
