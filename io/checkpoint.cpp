#include "io/checkpoint.h"

#include <array>
#include <utility>

#include "io/atomic_write.h"
#include "io/hdf5_file.h"
#include "io/state_dict_file.h"

namespace shrink::io {
namespace {

/// Dataset attribute marking a 0-d tensor stored with shape [1] (as in state_dict files).
constexpr const char* kNdimAttr = "ndim";
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
  for (const auto& [key, tensor] : part) {
    const std::string name = std::string(part_name) + ":" + key;
    if (tensor.dim() == 0) {
      file.write_tensor(name, tensor.view_as_shape({1}));
      file.set_int_attr(name, kNdimAttr, 0);
    } else {
      file.write_tensor(name, tensor);
    }
  }
}

nlohmann::json meta_of(const Checkpoint& c) {
  nlohmann::json meta = nlohmann::json::object();
  meta["epoch"] = c.epoch;
  meta["optimizer"] = c.optimizer_groups ? nlohmann::json{{"groups", *c.optimizer_groups}} : nlohmann::json();
  meta["scheduler"] =
      c.scheduler_last_epoch ? nlohmann::json{{"last_epoch", *c.scheduler_last_epoch}} : nlohmann::json();
  meta["rng"] = nlohmann::json::object();
  for (const auto& [name, state] : c.rng) meta["rng"][name] = state;
  meta["compressor"] = c.compressor;
  meta["extra"] = c.extra;
  return meta;
}

/// Reads the meta JSON into `c`, checking every field's type.
void read_meta(const H5File& file, const std::string& prefix, Checkpoint& c) {
  const std::optional<std::string> text = file.string_attr("", kMetaAttr);
  if (!text) throw IOError(prefix + "expected an attribute 'meta', got none");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    throw IOError(prefix + "attribute 'meta': expected JSON, got a parse error (" + e.what() + ")");
  }
  auto bad = [&](const std::string& field, const std::string& expected, const nlohmann::json& got) {
    return IOError(prefix + "attribute 'meta': expected " + field + " to be " + expected + ", got " + got.type_name());
  };
  if (!meta.is_object()) throw bad("the meta", "an object", meta);
  if (!meta.contains("epoch") || !meta["epoch"].is_number_integer())
    throw bad("'epoch'", "an integer", meta.value("epoch", nlohmann::json()));
  c.epoch = meta["epoch"].get<std::int64_t>();

  const nlohmann::json optimizer = meta.value("optimizer", nlohmann::json());
  if (!optimizer.is_null()) {
    if (!optimizer.is_object() || !optimizer.contains("groups") || !optimizer["groups"].is_array())
      throw bad("'optimizer'", "null or an object with an array 'groups'",
                optimizer.is_object() ? optimizer.value("groups", nlohmann::json()) : optimizer);
    c.optimizer_groups = optimizer["groups"];
  }
  const nlohmann::json scheduler = meta.value("scheduler", nlohmann::json());
  if (!scheduler.is_null()) {
    if (!scheduler.is_object() || !scheduler.contains("last_epoch") || !scheduler["last_epoch"].is_number_integer())
      throw bad("'scheduler'", "null or an object with an integer 'last_epoch'",
                scheduler.is_object() ? scheduler.value("last_epoch", nlohmann::json()) : scheduler);
    c.scheduler_last_epoch = scheduler["last_epoch"].get<std::int64_t>();
  }
  const nlohmann::json rng = meta.value("rng", nlohmann::json::object());
  if (!rng.is_object()) throw bad("'rng'", "an object of strings", rng);
  for (const auto& [name, state] : rng.items()) {
    if (!state.is_string()) throw bad("'rng." + name + "'", "a string", state);
    c.rng[name] = state.get<std::string>();
  }
  c.compressor = meta.value("compressor", nlohmann::json());
  c.extra = meta.value("extra", nlohmann::json());
}

/// Reads the dataset `name`, restoring a 0-d tensor stored as [1] + ndim = 0.
Tensor read_entry(const H5File& file, const std::string& name, const std::string& prefix) {
  Tensor t = file.read_tensor(name);
  if (const auto ndim = file.int_attr(name, kNdimAttr)) {
    if (*ndim != 0 || t.shape() != Shape{1})
      throw IOError(prefix + "dataset '" + name + "': expected ndim = 0 only on shape [1], got ndim = " +
                    std::to_string(*ndim) + " on shape " + shape_str(t.shape()));
    t = t.view_as_shape({});
  }
  return t;
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
  const std::string meta = meta_of(checkpoint).dump();
  write_atomically(path, "save_checkpoint", [&](const std::string& tmp) {
    H5File file = H5File::create(tmp, "save_checkpoint");
    file.set_string_attr("", "format", kCheckpointFormat);
    file.set_int_attr("", "format_version", kFormatVersion);
    file.set_string_attr("", "producer", kProducer);
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
  H5File file = H5File::open_read(path, where);

  const std::optional<std::string> format = file.string_attr("", "format");
  if (format != std::optional<std::string>(kCheckpointFormat)) {
    const bool weights = format == std::optional<std::string>(kStateDictFormat) || !format;
    throw IOError(prefix + "expected format '" + kCheckpointFormat + "', got " +
                  (format ? "'" + *format + "'" : std::string("none")) +
                  (weights ? " (Hint: this looks like a weights file; read it with nn::load_weights or "
                             "io::load_state_dict)"
                           : ""));
  }
  const std::optional<std::int64_t> version = file.int_attr("", "format_version");
  if (!version) throw IOError(prefix + "expected an attribute 'format_version', got none");
  if (*version != kFormatVersion)
    throw IOError(prefix + "unsupported format_version " + std::to_string(*version) + " (this Shrink reads version " +
                  std::to_string(kFormatVersion) + "; Hint: a newer Shrink wrote it, upgrade to read it)");

  Checkpoint c;
  read_meta(file, prefix, c);
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
    part->insert(name.substr(colon + 1), read_entry(file, name, prefix));
  }
  if (!c.optimizer.empty() && !c.optimizer_groups)
    throw IOError(
        prefix + "dataset 'optimizer:" + c.optimizer.keys().front() +
        "': expected no optimizer tensors in a checkpoint without optimizer groups (meta 'optimizer' is null)");
  return c;
}

}  // namespace shrink::io
