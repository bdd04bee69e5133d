#include "io/state_dict_file.h"

#include <sstream>

#include "io/atomic_write.h"
#include "io/shrink_file.h"
#include "io/state_dict_diff.h"

namespace shrink::io {
namespace {

void check_entries(const StateDict& entries, const char* where) {
  for (const auto& [key, tensor] : entries) {
    SHRINK_CHECK(!key.empty() && key != "." && key.find('/') == std::string::npos, where,
                 ": expected keys that are non-empty, not '.' and without '/', got '", key, "'");
    SHRINK_CHECK(tensor.defined(), where, ": expected a defined tensor for '", key, "', got an undefined Tensor");
  }
}

/// Writes the header and one dataset per entry.
void write_entries(const StateDict& entries, const std::string& path, const char* where, const char* format,
                   int gzip_level) {
  write_atomically(path, where, [&](const std::string& tmp) {
    H5File file = H5File::create(tmp, where, path);
    write_header(file, format);
    for (const auto& [key, tensor] : entries) write_entry(file, key, tensor, gzip_level);
    file.close();
  });
}

/// Reads every root dataset in file order.
StateDict read_entries(const H5File& file) {
  StateDict out;
  for (const std::string& key : file.names()) out.insert(key, read_entry(file, key));
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
  const H5File file = open_shrink_file(path, "load_state_dict", {kStateDictFormat, kModelFormat}, true);
  return read_entries(file);
}

StateDict load_state_dict(const std::string& path, const StateDict& expected, bool strict) {
  const H5File file = open_shrink_file(path, "load_state_dict", {kStateDictFormat, kModelFormat}, true);
  std::vector<EntrySpec> stored;
  for (const std::string& key : file.names()) stored.push_back(entry_spec(file, key, key));
  StateDictDiff diff = diff_entries(entry_specs(expected), stored);
  if (!strict) {
    diff.missing.clear();
    diff.unexpected.clear();
  }
  if (!diff.empty())
    throw IOError(file.prefix() + "expected the keys, shapes and dtypes of the model, got " + diff.message());
  // Everything matches: read only the requested entries, in the expected order.
  StateDict out;
  for (const auto& [key, like] : expected)
    if (file.contains(key)) out.insert(key, read_entry(file, key));
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
  const H5File file = open_shrink_file(path, "load_masks", {kMasksFormat}, true);
  const std::string prefix = file.prefix();
  // Check every dtype before reading any data, so a wrong file fails fast.
  for (const std::string& key : file.names()) {
    const EntrySpec spec = entry_spec(file, key, key);
    if (spec.dtype != "uint8") throw IOError(prefix + "mask '" + key + "': expected uint8 data, got " + spec.dtype);
  }
  StateDict masks = read_entries(file);
  for (const auto& [key, mask] : masks) {
    const std::int64_t bad = first_non_binary<std::uint8_t>(mask);
    if (bad >= 0)
      throw IOError(prefix + "mask '" + key + "': expected values 0 or 1, got " + element_str(mask, bad) +
                    " at flat index " + std::to_string(bad));
  }
  return masks;
}

}  // namespace shrink::io
