#pragma once
/// \file
/// A small RAII wrapper over the HDF5 C API: files, root-level datasets holding tensors
/// (optionally gzip-compressed), and string / integer attributes on the root or on a dataset.
///
/// Every HDF5 failure becomes a shrink::IOError whose message starts with the caller's name
/// (`where`, e.g. "load_state_dict") and names the file and the key. HDF5's own error printing
/// to stderr is switched off (H5Eset_auto); its innermost error description is appended to our
/// messages instead where it helps.

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace shrink::io {

/// Turns HDF5's automatic error printing off for this process (idempotent, thread-safe).
void silence_hdf5_errors();

/// An owning HDF5 identifier, released by its matching H5?close function on destruction.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Id() { reset(); }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = H5I_INVALID_HID; }
  H5Id& operator=(H5Id&& other) noexcept;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes the identifier now; returns false if HDF5 reported an error while closing.
  bool reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

/// Shape and element type of a dataset as stored in the file.
struct DatasetInfo {
  Shape shape;
  /// The matching tensor dtype, empty when the stored type has none (float64, int32, strings...).
  std::optional<DType> dtype;
  /// numpy-style name of the stored type: "float32", "float64", "int16", "uint8", "bool",
  /// "string", "compound", ...
  std::string type_name;
};

/// An open HDF5 file. Moving is allowed, copying is not; the file is closed on destruction
/// (use close() when the caller must know that everything reached the disk).
class H5File {
 public:
  /// Opens an existing file read-only. IOError when it is missing, not an HDF5 file or unreadable.
  static H5File open_read(const std::string& path, const std::string& where);
  /// Creates `path` (truncating any existing file) for writing. Root links keep their creation
  /// order, so readers list datasets in the order they were written.
  static H5File create(const std::string& path, const std::string& where);

  H5File(H5File&&) noexcept = default;
  H5File& operator=(H5File&&) noexcept = default;

  const std::string& path() const { return path_; }
  hid_t id() const { return file_.get(); }

  /// Names of the root-level objects, in creation order when the file tracks it (files written
  /// here do), otherwise in name order (files written by other tools).
  std::vector<std::string> names() const;
  /// Whether the root has a link called `name`.
  bool contains(const std::string& name) const;
  /// Whether the root-level object `name` is a dataset (false for groups and missing names).
  bool is_dataset(const std::string& name) const;

  /// Writes `tensor` as a new root-level dataset `name` in its own dtype (little endian).
  /// `gzip_level` 1..9 compresses with deflate in chunks of at most 1 MiB; 0 stores contiguous.
  void write_tensor(const std::string& name, const Tensor& tensor, int gzip_level = 0);
  /// Shape and type of the root-level dataset `name`; IOError when there is no such dataset.
  DatasetInfo dataset_info(const std::string& name) const;
  /// Reads the dataset `name` into a new tensor of its shape (scalar datasets give shape []).
  /// Stored float32/int64/int8/uint8 (and numpy bool, read as uint8) are accepted; any other
  /// type is an IOError naming the key and the stored type.
  Tensor read_tensor(const std::string& name) const;

  /// Attributes of the object `object` ("" = the root group).
  bool has_attr(const std::string& object, const std::string& attr) const;
  void set_string_attr(const std::string& object, const std::string& attr, const std::string& value);
  void set_int_attr(const std::string& object, const std::string& attr, std::int64_t value);
  /// The string attribute (fixed or variable length); empty when absent; IOError when it is not
  /// a single string.
  std::optional<std::string> string_attr(const std::string& object, const std::string& attr) const;
  /// The integer attribute; empty when absent; IOError when it is not a single integer.
  std::optional<std::int64_t> int_attr(const std::string& object, const std::string& attr) const;

  /// Flushes and closes the file; IOError when HDF5 reports a failure. Idempotent.
  void close();

 private:
  H5File(std::string path, std::string where, H5Id file) : path_(std::move(path)), where_(std::move(where)), file_(std::move(file)) {}
  /// "<where>: '<path>': " — the prefix of every message about this file.
  std::string prefix() const;
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  std::string where_;
  H5Id file_;
};

/// The innermost description on HDF5's current error stack ("" when empty), then clears it.
std::string hdf5_error_text();

}  // namespace shrink::io
