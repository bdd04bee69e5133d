#include "io/shrink_file.h"

namespace shrink::io {
namespace {

/// Dataset attribute marking a 0-d tensor stored with shape [1].
constexpr const char* kNdimAttr = "ndim";

std::string file_prefix(const std::string& where, const std::string& path) { return where + ": '" + path + "': "; }

/// " (Hint: ...)" naming the reader of a file of `format` ("" when there is none to name).
std::string reader_hint(const std::optional<std::string>& format) {
  if (!format) return " (Hint: this looks like a weights file; read it with nn::load_weights or io::load_state_dict)";
  if (*format == kMasksFormat) return " (Hint: this is a masks file; read it with io::load_masks)";
  if (*format == kStateDictFormat)
    return " (Hint: this is a weights file; read it with nn::load_weights or io::load_state_dict)";
  if (*format == kQuantizedFormat)
    return " (Hint: this is a quantized export; read it with io::load_quantized_file)";
  if (*format == kModelFormat)
    return " (Hint: this is a model file; load it with io::load_model, or its weights with io::load_state_dict)";
  if (*format == kCheckpointFormat)
    return " (Hint: this is a checkpoint; read it with nn::load_checkpoint or io::load_checkpoint)";
  return "";
}

/// The `ndim` attribute of `name`, checked: only 0, and only on shape [1].
bool is_stored_scalar(const H5File& file, const std::string& name, const Shape& stored_shape) {
  const std::optional<std::int64_t> ndim = file.int_attr(name, kNdimAttr);
  if (!ndim) return false;
  if (*ndim != 0 || stored_shape != Shape{1})
    throw IOError(file.prefix() + "dataset '" + name +
                  "': expected ndim = 0 only on shape [1], got ndim = " + std::to_string(*ndim) + " on shape " +
                  shape_str(stored_shape));
  return true;
}

void require_dataset(const H5File& file, const std::string& name) {
  if (!file.is_dataset(name))
    throw IOError(file.prefix() + "expected only datasets at the root, got the group '" +
                  name + "'");
}

}  // namespace

void write_header(H5File& file, const std::string& format) {
  file.set_string_attr("", "format", format);
  file.set_int_attr("", "format_version", kFormatVersion);
  file.set_string_attr("", "producer", kProducer);
}

H5File open_shrink_file(const std::string& path, const std::string& where, std::initializer_list<const char*> accepted,
                        bool allow_unformatted) {
  H5File file = H5File::open_read(path, where);
  const std::string prefix = file_prefix(where, path);
  const std::optional<std::string> format = file.string_attr("", "format");
  if (!format && allow_unformatted) return file;
  bool known = false;
  for (const char* f : accepted) known = known || format == std::optional<std::string>(f);
  if (!known)
    throw IOError(prefix + "expected format '" + *accepted.begin() + "', got " +
                  (format ? "'" + *format + "'" : std::string("none")) + reader_hint(format));
  const std::optional<std::int64_t> version = file.int_attr("", "format_version");
  if (!version) throw IOError(prefix + "expected an attribute 'format_version', got none");
  if (*version != kFormatVersion)
    throw IOError(prefix + "unsupported format_version " + std::to_string(*version) + " (this Shrink reads version " +
                  std::to_string(kFormatVersion) + "; Hint: a newer Shrink wrote it, upgrade to read it)");
  return file;
}

void write_entry(H5File& file, const std::string& name, const Tensor& tensor, int gzip_level) {
  if (tensor.defined() && tensor.dim() == 0) {
    file.write_tensor(name, tensor.view_as_shape({1}), gzip_level);
    file.set_int_attr(name, kNdimAttr, 0);
  } else {
    file.write_tensor(name, tensor, gzip_level);
  }
}

Tensor read_entry(const H5File& file, const std::string& name) {
  require_dataset(file, name);
  Tensor t = file.read_tensor(name);
  return is_stored_scalar(file, name, t.shape()) ? t.view_as_shape({}) : t;
}

EntrySpec entry_spec(const H5File& file, const std::string& name, const std::string& key) {
  require_dataset(file, name);
  DatasetInfo info = file.dataset_info(name);
  if (is_stored_scalar(file, name, info.shape)) info.shape = {};
  // Types read as a tensor dtype compare by that dtype (numpy bool is read as uint8).
  return {key, info.shape, info.dtype ? std::string(dtype_name(*info.dtype)) : info.type_name};
}

}  // namespace shrink::io
