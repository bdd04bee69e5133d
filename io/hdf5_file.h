#pragma once
/// \file
/// A small RAII wrapper over the HDF5 C API: files, root-level datasets holding tensors
/// (optionally gzip-compressed), and string / integer attributes on the root or on a dataset.
///
/// Readers treat every file as hostile (see "io: hostile files" in docs/architecture.md): the root
/// may hold at most kMaxRootLinks links, all hard links (soft and external links are refused, not
/// followed); a dataset must keep its data in this file (external storage and virtual datasets
/// are refused), use no filter but deflate/shuffle/fletcher32, have an element count that fits in
/// int64 and hold that much data in its real storage (at most kMaxDeflateRatio:1 when deflated),
/// so a forged shape fails with an IOError before anything is allocated. String attributes must
/// be fixed-length (libhdf5 can crash on corrupted variable-length ones) of at most
/// kMaxStringAttrBytes; the writers here write fixed-length strings.
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

/// At most this many links at the root of a file that is read (checked before iterating).
inline constexpr hsize_t kMaxRootLinks = 1u << 20;
/// Written files keep up to this many root links compact (in the object header).
inline constexpr unsigned kMaxCompactLinks = 4096;
/// At most this many bytes in a string attribute that is read.
inline constexpr std::size_t kMaxStringAttrBytes = std::size_t{64} << 20;
/// deflate cannot expand its input by more than ~1032:1; a dataset claiming more data than
/// this times its stored bytes is forged.
inline constexpr std::uint64_t kMaxDeflateRatio = 1032;

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
  /// Creates `path` exclusively for writing: IOError when anything (a file, a symlink) already
  /// exists there (H5F_ACC_EXCL, i.e. O_CREAT|O_EXCL). Root links keep their creation order, so
  /// readers list datasets in the order they were written. Messages name `shown_path` when given
  /// (the user's path while writing a temporary file for write_atomically), else `path`.
  static H5File create(const std::string& path, const std::string& where, const std::string& shown_path = "");

  H5File(H5File&&) noexcept = default;
  H5File& operator=(H5File&&) noexcept = default;

  const std::string& path() const { return path_; }
  /// The caller's name given at open/create (e.g. "load_state_dict").
  const std::string& where() const { return where_; }
  /// "<where>: '<path>': " — the prefix of every message about this file.
  std::string prefix() const;
  hid_t id() const { return file_.get(); }

  /// Names of the root-level objects, in creation order when the file tracks it (files written
  /// here do), otherwise in name order (files written by other tools). IOError when the root has
  /// more than kMaxRootLinks links or a link that is not a hard link (soft, external).
  std::vector<std::string> names() const;
  /// Whether the root has a link called `name`.
  bool contains(const std::string& name) const;
  /// Whether the root-level object `name` is a dataset (false for groups and missing names);
  /// IOError when `name` is a soft or external link.
  bool is_dataset(const std::string& name) const;

  /// Writes `tensor` as a new root-level dataset `name` in its own dtype (little endian).
  /// `gzip_level` 1..9 compresses with deflate in chunks of at most 1 MiB; 0 stores contiguous.
  void write_tensor(const std::string& name, const Tensor& tensor, int gzip_level = 0);
  /// Shape and type of the root-level dataset `name`; IOError when there is no such dataset, when
  /// it is a link or keeps its data outside this file, or when its element count overflows int64.
  DatasetInfo dataset_info(const std::string& name) const;
  /// Reads the dataset `name` into a new tensor of its shape (scalar datasets give shape []).
  /// Stored float32/int64/int8/uint8 (and numpy bool, read as uint8) are accepted; any other
  /// type is an IOError naming the key and the stored type, and so is a shape the dataset's
  /// storage cannot hold (checked before allocating).
  Tensor read_tensor(const std::string& name) const;

  /// Attributes of the object `object` ("" = the root group).
  bool has_attr(const std::string& object, const std::string& attr) const;
  /// Writes a fixed-length UTF-8 string attribute (h5py reads it as bytes: `.decode()` it).
  void set_string_attr(const std::string& object, const std::string& attr, const std::string& value);
  void set_int_attr(const std::string& object, const std::string& attr, std::int64_t value);
  /// The fixed-length string attribute; empty when absent; IOError when it is not a single
  /// fixed-length string of at most kMaxStringAttrBytes bytes.
  std::optional<std::string> string_attr(const std::string& object, const std::string& attr) const;
  /// The integer attribute; empty when absent; IOError when it is not a single integer.
  std::optional<std::int64_t> int_attr(const std::string& object, const std::string& attr) const;

  /// Flushes and closes the file; IOError when HDF5 reports a failure. Idempotent.
  void close();

 private:
  H5File(std::string path, std::string where, H5Id file) : path_(std::move(path)), where_(std::move(where)), file_(std::move(file)) {}
  [[noreturn]] void fail(const std::string& what) const;
  /// Opens the root-level dataset `name` after checking that it is a hard link to a dataset
  /// whose data lives in this file.
  H5Id open_dataset(const std::string& name) const;
  /// IOError unless the root link `name` is a hard link.
  void require_hard_link(const std::string& name) const;

  std::string path_;
  std::string where_;
  H5Id file_;
};

/// The innermost description on HDF5's current error stack ("" when empty), then clears it.
std::string hdf5_error_text();

}  // namespace shrink::io
