#include "io/state_dict_file.h"

#include <sstream>

#include "io/atomic_write.h"
#include "io/hdf5_file.h"

namespace shrink::io {
namespace {

/// Dataset attribute marking a 0-d tensor stored with shape [1].
constexpr const char* kNdimAttr = "ndim";

void check_entries(const StateDict& entries, const char* where) {
  for (const auto& [key, tensor] : entries) {
    SHRINK_CHECK(!key.empty() && key != "." && key.find('/') == std::string::npos, where,
                 ": expected keys that are non-empty, not '.' and without '/', got '", key, "'");
    SHRINK_CHECK(tensor.defined(), where, ": expected a defined tensor for '", key, "', got an undefined Tensor");
  }
}

/// Writes the root attributes and one dataset per entry; 0-d tensors become [1] + ndim = 0.
void write_entries(const StateDict& entries, const std::string& path, const char* where, const char* format,
                   int gzip_level) {
  write_atomically(path, where, [&](const std::string& tmp) {
    H5File file = H5File::create(tmp, where);
    file.set_string_attr("", "format", format);
    file.set_int_attr("", "format_version", kFormatVersion);
    file.set_string_attr("", "producer", kProducer);
    for (const auto& [key, tensor] : entries) {
      if (tensor.dim() == 0) {
        file.write_tensor(key, tensor.view_as_shape({1}), gzip_level);
        file.set_int_attr(key, kNdimAttr, 0);
      } else {
        file.write_tensor(key, tensor, gzip_level);
      }
    }
    file.close();
  });
}

/// Opens `path` and checks its format (one of `accepted`, or absent) and version.
H5File open_checked(const std::string& path, const char* where, std::initializer_list<const char*> accepted) {
  H5File file = H5File::open_read(path, where);
  const std::string prefix = std::string(where) + ": '" + path + "': ";
  const std::optional<std::string> format = file.string_attr("", "format");
  if (!format) return file;  // written without Shrink (e.g. a PyTorch state_dict through h5py)
  bool known = false;
  for (const char* f : accepted) known = known || *format == f;
  if (!known) {
    std::string hint;
    if (*format == kMasksFormat) hint = " (Hint: this is a masks file; read it with io::load_masks)";
    if (*format == kStateDictFormat) hint = " (Hint: this is a state_dict file; read it with io::load_state_dict)";
    throw IOError(prefix + "expected format '" + *accepted.begin() + "', got '" + *format + "'" + hint);
  }
  const std::optional<std::int64_t> version = file.int_attr("", "format_version");
  if (!version) throw IOError(prefix + "expected an attribute 'format_version', got none");
  if (*version != kFormatVersion)
    throw IOError(prefix + "unsupported format_version " + std::to_string(*version) + " (this Shrink reads version " +
                  std::to_string(kFormatVersion) + "; Hint: a newer Shrink wrote it, upgrade to read it)");
  return file;
}

/// Reads the root dataset `key`, restoring a 0-d tensor stored as [1] + ndim = 0.
Tensor read_entry(const H5File& file, const std::string& key, const std::string& prefix) {
  if (!file.is_dataset(key)) throw IOError(prefix + "expected only datasets at the root, got the group '" + key + "'");
  Tensor t = file.read_tensor(key);
  if (const auto ndim = file.int_attr(key, kNdimAttr)) {
    if (*ndim != 0 || t.shape() != Shape{1})
      throw IOError(prefix + "dataset '" + key + "': expected ndim = 0 only on shape [1], got ndim = " +
                    std::to_string(*ndim) + " on shape " + shape_str(t.shape()));
    t = t.view_as_shape({});
  }
  return t;
}

/// Reads every root dataset in file order.
StateDict read_entries(const H5File& file, const char* where) {
  const std::string prefix = std::string(where) + ": '" + file.path() + "': ";
  StateDict out;
  for (const std::string& key : file.names()) out.insert(key, read_entry(file, key, prefix));
  return out;
}

/// The first element that is neither 0 nor 1, or -1.
template <typename T>
std::int64_t first_non_binary(const Tensor& t) {
  const T* p = t.data<T>();
  for (std::int64_t i = 0; i < t.numel(); ++i)
    if (p[i] != T(0) && p[i] != T(1)) return i;
  return -1;
}

std::int64_t first_non_binary_any(const Tensor& t) {
  switch (t.dtype()) {
    case DType::Float32: return first_non_binary<float>(t);
    case DType::Int64: return first_non_binary<std::int64_t>(t);
    case DType::Int8: return first_non_binary<std::int8_t>(t);
    case DType::UInt8: return first_non_binary<std::uint8_t>(t);
  }
  return -1;
}

std::string element_str(const Tensor& t, std::int64_t i) {
  const double v = t.view_as_shape({t.numel()}).at({i});
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace

void save_state_dict(const StateDict& state_dict, const std::string& path) {
  check_entries(state_dict, "save_state_dict");
  write_entries(state_dict, path, "save_state_dict", kStateDictFormat, 0);
}

StateDict load_state_dict(const std::string& path) {
  H5File file = open_checked(path, "load_state_dict", {kStateDictFormat, kModelFormat});
  return read_entries(file, "load_state_dict");
}

StateDict load_state_dict(const std::string& path, const StateDict& expected, bool strict) {
  const char* where = "load_state_dict";
  H5File file = open_checked(path, where, {kStateDictFormat, kModelFormat});
  const std::string prefix = std::string(where) + ": '" + path + "': ";
  if (strict) {
    const std::vector<std::string> names = file.names();
    std::vector<std::string> missing, unexpected;
    for (const auto& [key, t] : expected)
      if (!file.contains(key)) missing.push_back(key);
    for (const std::string& key : names)
      if (!expected.contains(key)) unexpected.push_back(key);
    if (!missing.empty() || !unexpected.empty()) {
      auto list = [](const std::vector<std::string>& keys) {
        std::string s;
        for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
        return s;
      };
      std::string msg = prefix + "expected the keys of the model, got";
      if (!missing.empty()) msg += " missing keys: " + list(missing) + (unexpected.empty() ? "" : ";");
      if (!unexpected.empty()) msg += " unexpected keys: " + list(unexpected);
      throw IOError(msg);
    }
  }
  StateDict out;
  for (const auto& [key, like] : expected) {
    if (!file.contains(key)) continue;
    if (!file.is_dataset(key)) throw IOError(prefix + "expected only datasets at the root, got the group '" + key + "'");
    DatasetInfo info = file.dataset_info(key);
    if (file.int_attr(key, kNdimAttr) == std::optional<std::int64_t>(0) && info.shape == Shape{1}) info.shape = {};
    if (info.shape != like.shape())
      throw IOError(prefix + "dataset '" + key + "': expected shape " + shape_str(like.shape()) + ", got " +
                    shape_str(info.shape));
    if (info.dtype != like.dtype())
      throw IOError(prefix + "dataset '" + key + "': expected " + std::string(dtype_name(like.dtype())) + ", got " +
                    info.type_name);
  }
  // Everything matches: read only the requested entries, in the expected order.
  for (const auto& [key, like] : expected)
    if (file.contains(key)) out.insert(key, read_entry(file, key, prefix));
  return out;
}

void save_masks(const StateDict& masks, const std::string& path) {
  check_entries(masks, "save_masks");
  StateDict bytes;
  for (const auto& [key, mask] : masks) {
    const std::int64_t bad = first_non_binary_any(mask);
    SHRINK_CHECK(bad < 0, "save_masks: mask '", key, "': expected values 0 or 1, got ", element_str(mask, bad),
                 " at flat index ", bad);
    bytes.insert(key, mask.dtype() == DType::UInt8 ? mask : mask.to(DType::UInt8));
  }
  write_entries(bytes, path, "save_masks", kMasksFormat, kMasksGzipLevel);
}

StateDict load_masks(const std::string& path) {
  H5File file = open_checked(path, "load_masks", {kMasksFormat});
  const std::string prefix = "load_masks: '" + path + "': ";
  // Check every dtype before reading any data, so a wrong file fails fast.
  for (const std::string& key : file.names()) {
    if (!file.is_dataset(key)) continue;  // read_entries names it
    const DatasetInfo info = file.dataset_info(key);
    if (info.dtype != DType::UInt8)
      throw IOError(prefix + "mask '" + key + "': expected uint8 data, got " + info.type_name);
  }
  StateDict masks = read_entries(file, "load_masks");
  for (const auto& [key, mask] : masks) {
    const std::int64_t bad = first_non_binary<std::uint8_t>(mask);
    if (bad >= 0)
      throw IOError(prefix + "mask '" + key + "': expected values 0 or 1, got " + element_str(mask, bad) +
                    " at flat index " + std::to_string(bad));
  }
  return masks;
}

}  // namespace shrink::io
