#include "io/hdf5_file.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "io/hdf5_detail.h"

namespace shrink::io {
namespace detail {

std::string with_hdf5_detail(const std::string& what) {
  const std::string detail = hdf5_error_text();
  return detail.empty() ? what : what + " (HDF5: " + detail + ")";
}

std::string type_name_of(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  switch (cls) {
    case H5T_FLOAT:
      return "float" + std::to_string(size * 8);
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(size * 8);
    case H5T_ENUM:
      return size == 1 ? "bool" : "enum";
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "vlen";
    default:
      return "opaque";
  }
}

std::optional<DType> dtype_of_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT && size == 4) return DType::Float32;
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) != H5T_SGN_NONE;
    if (size == 8 && is_signed) return DType::Int64;
    if (size == 1) return is_signed ? DType::Int8 : DType::UInt8;
  }
  if (cls == H5T_ENUM && size == 1) return DType::UInt8;  // numpy bool as written by h5py
  return std::nullopt;
}

hid_t memory_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return H5T_NATIVE_FLOAT;
    case DType::Int64: return H5T_NATIVE_INT64;
    case DType::Int8: return H5T_NATIVE_INT8;
    case DType::UInt8: return H5T_NATIVE_UINT8;
  }
  return H5T_NATIVE_UINT8;
}

hid_t file_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return H5T_IEEE_F32LE;
    case DType::Int64: return H5T_STD_I64LE;
    case DType::Int8: return H5T_STD_I8LE;
    case DType::UInt8: return H5T_STD_U8LE;
  }
  return H5T_STD_U8LE;
}

}  // namespace detail

namespace {

using detail::type_name_of;
using detail::with_hdf5_detail;

herr_t take_innermost(unsigned n, const H5E_error2_t* err, void* out) {
  // Walking upward, entry 0 is the function where HDF5 detected the error: the most specific.
  if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

/// Root link names and whether each is a hard link, as H5Literate lists them.
struct LinkList {
  std::vector<std::string> names;
  std::vector<std::pair<std::int64_t, std::string>> by_order;  // (creation order, name) when tracked
  std::string first_non_hard;
  H5L_type_t non_hard_type = H5L_TYPE_HARD;
};

herr_t collect_link(hid_t, const char* name, const H5L_info_t* info, void* out) {
  auto* list = static_cast<LinkList*>(out);
  if (info->type != H5L_TYPE_HARD) {
    list->first_non_hard = name;
    list->non_hard_type = info->type;
    return 1;  // stop: the file is refused anyway
  }
  list->names.emplace_back(name);
  if (info->corder_valid) list->by_order.emplace_back(info->corder, name);
  return 0;
}

std::string link_kind(H5L_type_t type) {
  if (type == H5L_TYPE_SOFT) return "a soft link";
  if (type == H5L_TYPE_EXTERNAL) return "an external link";
  return "a user-defined link";
}

const char* object_path(const std::string& object) { return object.empty() ? "." : object.c_str(); }

/// "an array of N" or the type name: what a non-scalar or mistyped attribute holds.
std::string attr_kind(hid_t type, hid_t space) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  return n != 1 ? "an array of " + std::to_string(n) : type_name_of(type);
}

}  // namespace

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string hdf5_error_text() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

H5Id& H5Id::operator=(H5Id&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool H5Id::reset() {
  bool ok = true;
  if (id_ >= 0 && closer_ != nullptr) ok = closer_(id_) >= 0;
  id_ = H5I_INVALID_HID;
  return ok;
}

std::string H5File::prefix() const { return where_ + ": '" + path_ + "': "; }

void H5File::fail(const std::string& what) const { throw IOError(prefix() + with_hdf5_detail(what)); }

H5File H5File::open_read(const std::string& path, const std::string& where) {
  silence_hdf5_errors();
  const std::string pre = where + ": '" + path + "': ";
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) throw IOError(pre + "no such file");
  if (std::filesystem::is_directory(status)) throw IOError(pre + "expected a file, got a directory");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 == 0) {
    hdf5_error_text();
    throw IOError(pre + "not an HDF5 file (no HDF5 signature found)");
  }
  if (is_hdf5 < 0) throw IOError(pre + with_hdf5_detail("cannot be read"));
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw IOError(pre + with_hdf5_detail("cannot be opened"));
  return H5File(path, where, H5Id(id, H5Fclose));
}

H5File H5File::create(const std::string& path, const std::string& where, const std::string& shown_path) {
  silence_hdf5_errors();
  const std::string& shown = shown_path.empty() ? path : shown_path;
  H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  // Root links stay in the object header (checksummed) up to kMaxCompactLinks instead of moving
  // to dense storage (fractal heap + B-trees) after 8, whose corruption libhdf5 handles worst.
  H5Pset_link_phase_change(fcpl.get(), kMaxCompactLinks, kMaxCompactLinks - 1);
  // The 1.8 file format stores an attribute larger than an object header (64 KiB; a big
  // checkpoint meta as a fixed-length string) in dense storage instead of failing.
  H5Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  // H5F_ACC_EXCL opens with O_CREAT|O_EXCL: an existing file or a planted symlink makes it fail.
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl.get());
  if (id < 0) {
    std::error_code ec;
    const bool exists = std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found;
    throw IOError(where + ": '" + shown + "': " +
                  with_hdf5_detail(exists ? "cannot be created: something already exists at '" + path + "'"
                                          : std::string("cannot be created")));
  }
  return H5File(shown, where, H5Id(id, H5Fclose));
}

std::vector<std::string> H5File::names() const {
  H5G_info_t root{};
  if (H5Gget_info(id(), &root) < 0) fail("cannot read the root group");
  if (root.nlinks > kMaxRootLinks)
    throw IOError(prefix() + "expected at most " + std::to_string(kMaxRootLinks) + " objects at the root, got " +
                  std::to_string(root.nlinks));
  // H5_ITER_NATIVE walks an indexed dense group's B-tree directly; any other order makes libhdf5
  // build a link table first, and on a corrupted group it frees uninitialised entries of that
  // table (a crash the fuzz targets found). The names are sorted here instead: by creation order
  // when the file tracks it, else by name.
  LinkList list;
  hsize_t idx = 0;
  herr_t rc = H5Literate(id(), H5_INDEX_CRT_ORDER, H5_ITER_NATIVE, &idx, collect_link, &list);
  if (rc < 0) {
    // The file does not track creation order: fall back to name order.
    hdf5_error_text();
    list = LinkList{};
    idx = 0;
    rc = H5Literate(id(), H5_INDEX_NAME, H5_ITER_NATIVE, &idx, collect_link, &list);
    if (rc < 0) fail("cannot list the root group");
    std::sort(list.names.begin(), list.names.end());
  } else if (list.by_order.size() == list.names.size()) {
    // Native order is not guaranteed to be creation order (compact groups): sort by it.
    std::sort(list.by_order.begin(), list.by_order.end());
    for (std::size_t i = 0; i < list.names.size(); ++i) list.names[i] = list.by_order[i].second;
  }
  if (list.names.size() > root.nlinks)
    throw IOError(prefix() + "expected " + std::to_string(root.nlinks) + " objects at the root, got " +
                  std::to_string(list.names.size()) + " while listing them");
  if (!list.first_non_hard.empty())
    throw IOError(prefix() + "'" + list.first_non_hard + "': expected a dataset stored in this file, got " +
                  link_kind(list.non_hard_type) + " (links are not followed)");
  return list.names;
}

bool H5File::contains(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos) return false;
  const htri_t r = H5Lexists(id(), name.c_str(), H5P_DEFAULT);
  if (r < 0) hdf5_error_text();
  return r > 0;
}

void H5File::require_hard_link(const std::string& name) const {
  H5L_info_t info{};
  if (H5Lget_info(id(), name.c_str(), &info, H5P_DEFAULT) < 0) fail("cannot inspect the link '" + name + "'");
  if (info.type != H5L_TYPE_HARD)
    throw IOError(prefix() + "'" + name + "': expected a dataset stored in this file, got " + link_kind(info.type) +
                  " (links are not followed)");
}

bool H5File::is_dataset(const std::string& name) const {
  if (!contains(name)) return false;
  require_hard_link(name);
  H5O_info_t info{};
  if (H5Oget_info_by_name2(id(), name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    hdf5_error_text();
    return false;
  }
  return info.type == H5O_TYPE_DATASET;
}

bool H5File::has_attr(const std::string& object, const std::string& attr) const {
  if (!object.empty() && contains(object)) require_hard_link(object);
  const htri_t r = H5Aexists_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT);
  if (r < 0) fail("cannot look up attribute '" + attr + "' of '" + object_path(object) + "'");
  return r > 0;
}

void H5File::set_string_attr(const std::string& object, const std::string& attr, const std::string& value) {
  if (has_attr(object, attr)) H5Adelete_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT);
  // Fixed length: readers never touch HDF5's global heap, where corruption can crash libhdf5.
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id a(H5Acreate_by_name(id(), object_path(object), attr.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT),
         H5Aclose);
  std::string buffer = value;
  buffer.resize(std::max<std::size_t>(value.size(), 1), '\0');
  if (!a.valid() || H5Awrite(a.get(), type.get(), buffer.data()) < 0) fail("cannot write attribute '" + attr + "'");
}

void H5File::set_int_attr(const std::string& object, const std::string& attr, std::int64_t value) {
  if (has_attr(object, attr)) H5Adelete_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT);
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id a(H5Acreate_by_name(id(), object_path(object), attr.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                           H5P_DEFAULT, H5P_DEFAULT),
         H5Aclose);
  if (!a.valid() || H5Awrite(a.get(), H5T_NATIVE_INT64, &value) < 0) fail("cannot write attribute '" + attr + "'");
}

std::optional<std::string> H5File::string_attr(const std::string& object, const std::string& attr) const {
  if (!has_attr(object, attr)) return std::nullopt;
  H5Id a(H5Aopen_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.valid()) fail("cannot open attribute '" + attr + "'");
  H5Id type(H5Aget_type(a.get()), H5Tclose);
  H5Id space(H5Aget_space(a.get()), H5Sclose);
  if (!type.valid() || !space.valid()) fail("cannot open attribute '" + attr + "'");
  const std::string pre = prefix() + "attribute '" + attr + "': ";
  if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1)
    throw IOError(pre + "expected a string, got " + attr_kind(type.get(), space.get()));
  if (H5Tis_variable_str(type.get()) != 0)
    throw IOError(pre + "expected a fixed-length string, got a variable-length string (Hint: Shrink reads only "
                        "fixed-length strings; from h5py write numpy.bytes_(text))");
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || size > kMaxStringAttrBytes)
    throw IOError(pre + "expected a string of 1 to " + std::to_string(kMaxStringAttrBytes) + " bytes, got " +
                  std::to_string(size));
  // Read in a memory type of the same size: no conversion, no padding surprises.
  H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), size);
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
  std::string buf(size, '\0');
  if (H5Aread(a.get(), mem.get(), buf.data()) < 0) fail("cannot read attribute '" + attr + "'");
  std::string value = buf.substr(0, buf.find('\0'));
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD)
    while (!value.empty() && value.back() == ' ') value.pop_back();
  return value;
}

std::optional<std::int64_t> H5File::int_attr(const std::string& object, const std::string& attr) const {
  if (!has_attr(object, attr)) return std::nullopt;
  H5Id a(H5Aopen_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.valid()) fail("cannot open attribute '" + attr + "'");
  H5Id type(H5Aget_type(a.get()), H5Tclose);
  H5Id space(H5Aget_space(a.get()), H5Sclose);
  if (!type.valid() || !space.valid()) fail("cannot open attribute '" + attr + "'");
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.get()) != 1)
    throw IOError(prefix() + "attribute '" + attr + "': expected an integer, got " +
                  attr_kind(type.get(), space.get()));
  std::int64_t value = 0;
  if (H5Aread(a.get(), H5T_NATIVE_INT64, &value) < 0) fail("cannot read attribute '" + attr + "'");
  return value;
}

void H5File::close() {
  if (!file_.valid()) return;
  const bool flushed = H5Fflush(file_.get(), H5F_SCOPE_LOCAL) >= 0;
  const bool closed = file_.reset();
  if (!flushed || !closed) fail("cannot be written completely");
}

}  // namespace shrink::io
