#include "io/hdf5_file.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace shrink::io {
namespace {

/// Deflate chunks are capped at this many bytes so huge tensors compress in pieces.
constexpr std::size_t kMaxChunkBytes = std::size_t{1} << 20;

herr_t take_innermost(unsigned n, const H5E_error2_t* err, void* out) {
  // Walking upward, entry 0 is the function where HDF5 detected the error: the most specific.
  if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

/// numpy-style name of an HDF5 datatype.
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

/// The tensor dtype an HDF5 datatype is read as, if any.
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

std::string with_detail(const std::string& what) {
  const std::string detail = hdf5_error_text();
  return detail.empty() ? what : what + " (HDF5: " + detail + ")";
}

const char* object_path(const std::string& object) { return object.empty() ? "." : object.c_str(); }

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

void H5File::fail(const std::string& what) const { throw IOError(prefix() + with_detail(what)); }

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
  if (is_hdf5 < 0) throw IOError(pre + with_detail("cannot be read"));
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw IOError(pre + with_detail("cannot be opened"));
  return H5File(path, where, H5Id(id, H5Fclose));
}

H5File H5File::create(const std::string& path, const std::string& where) {
  silence_hdf5_errors();
  H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT);
  if (id < 0) throw IOError(where + ": '" + path + "': " + with_detail("cannot be created"));
  return H5File(path, where, H5Id(id, H5Fclose));
}

std::vector<std::string> H5File::names() const {
  std::vector<std::string> out;
  hsize_t idx = 0;
  if (H5Literate(id(), H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, collect_name, &out) < 0) {
    // The file does not track creation order: fall back to name order.
    hdf5_error_text();
    out.clear();
    idx = 0;
    if (H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &out) < 0) fail("cannot list the root group");
  }
  return out;
}

bool H5File::contains(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos) return false;
  const htri_t r = H5Lexists(id(), name.c_str(), H5P_DEFAULT);
  if (r < 0) hdf5_error_text();
  return r > 0;
}

bool H5File::is_dataset(const std::string& name) const {
  if (!contains(name)) return false;
  H5Id obj(H5Oopen(id(), name.c_str(), H5P_DEFAULT), H5Oclose);
  if (!obj.valid()) {
    hdf5_error_text();
    return false;
  }
  return H5Iget_type(obj.get()) == H5I_DATASET;
}

void H5File::write_tensor(const std::string& name, const Tensor& tensor, int gzip_level) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos)
    throw IOError(prefix() + "expected a dataset name that is not empty, not '.' and has no '/', got '" + name + "'");
  if (contains(name)) throw IOError(prefix() + "dataset '" + name + "' already exists");
  SHRINK_CHECK(tensor.defined(), where_, ": '", path_, "': expected a defined tensor for '", name, "'");
  const Shape& shape = tensor.shape();
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  H5Id space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
             H5Sclose);
  if (!space.valid()) fail("cannot create the dataspace of '" + name + "' with shape " + shape_str(shape));
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (gzip_level > 0 && !dims.empty() && tensor.numel() > 0) {
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) fail("cannot compress '" + name + "': this HDF5 has no deflate filter");
    // Halve dimensions, outermost first, until one chunk is at most kMaxChunkBytes.
    std::vector<hsize_t> chunk = dims;
    const std::size_t elem = element_size(tensor.dtype());
    auto chunk_bytes = [&] {
      std::size_t b = elem;
      for (hsize_t c : chunk) b *= c;
      return b;
    };
    for (std::size_t d = 0; d < chunk.size(); ++d)
      while (chunk_bytes() > kMaxChunkBytes && chunk[d] > 1) chunk[d] = (chunk[d] + 1) / 2;
    if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0 ||
        H5Pset_deflate(dcpl.get(), static_cast<unsigned>(std::min(gzip_level, 9))) < 0)
      fail("cannot set up compression for '" + name + "'");
  }
  H5Id dset(H5Dcreate2(id(), name.c_str(), file_type(tensor.dtype()), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
            H5Dclose);
  if (!dset.valid()) fail("cannot create dataset '" + name + "'");
  if (tensor.numel() > 0 &&
      H5Dwrite(dset.get(), memory_type(tensor.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT, tensor.raw_data()) < 0)
    fail("cannot write dataset '" + name + "'");
  if (!dset.reset()) fail("cannot finish dataset '" + name + "'");
}

DatasetInfo H5File::dataset_info(const std::string& name) const {
  if (!is_dataset(name)) throw IOError(prefix() + "no dataset '" + name + "'");
  H5Id dset(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dset.valid()) fail("cannot open dataset '" + name + "'");
  H5Id type(H5Dget_type(dset.get()), H5Tclose);
  H5Id space(H5Dget_space(dset.get()), H5Sclose);
  if (!type.valid() || !space.valid()) fail("cannot inspect dataset '" + name + "'");
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  if (ndims < 0) fail("cannot read the shape of dataset '" + name + "'");
  std::vector<hsize_t> dims(static_cast<std::size_t>(ndims));
  if (ndims > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  DatasetInfo info;
  info.shape.assign(dims.begin(), dims.end());
  info.dtype = dtype_of_type(type.get());
  info.type_name = type_name_of(type.get());
  if (H5Sget_simple_extent_type(space.get()) == H5S_NULL) info.type_name = "empty (null dataspace)";
  return info;
}

Tensor H5File::read_tensor(const std::string& name) const {
  const DatasetInfo info = dataset_info(name);
  if (!info.dtype || info.type_name.rfind("empty", 0) == 0)
    throw IOError(prefix() + "dataset '" + name + "': expected float32, int64, int8 or uint8 data, got " +
                  info.type_name);
  Tensor out = Tensor::empty(info.shape, *info.dtype);
  if (out.numel() == 0) return out;
  H5Id dset(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  H5Id type(H5Dget_type(dset.get()), H5Tclose);
  // Enums (numpy bool) are read in their own 1-byte type: no conversion is involved.
  const hid_t mem = H5Tget_class(type.get()) == H5T_ENUM ? type.get() : memory_type(*info.dtype);
  if (H5Dread(dset.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw_data()) < 0)
    fail("cannot read dataset '" + name + "'");
  return out;
}

bool H5File::has_attr(const std::string& object, const std::string& attr) const {
  const htri_t r = H5Aexists_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT);
  if (r < 0) fail("cannot look up attribute '" + attr + "' of '" + object_path(object) + "'");
  return r > 0;
}

void H5File::set_string_attr(const std::string& object, const std::string& attr, const std::string& value) {
  if (has_attr(object, attr)) H5Adelete_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT);
  // Variable-length UTF-8, like h5py writes a Python str: h5py reads it back as str.
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id a(H5Acreate_by_name(id(), object_path(object), attr.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                           H5P_DEFAULT),
         H5Aclose);
  const char* data = value.c_str();
  if (!a.valid() || H5Awrite(a.get(), type.get(), &data) < 0) fail("cannot write attribute '" + attr + "'");
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
  H5Id type(H5Aget_type(a.get()), H5Tclose);
  H5Id space(H5Aget_space(a.get()), H5Sclose);
  if (!a.valid() || !type.valid() || !space.valid()) fail("cannot open attribute '" + attr + "'");
  if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1)
    throw IOError(prefix() + "attribute '" + attr + "': expected a string, got " +
                  (H5Sget_simple_extent_npoints(space.get()) != 1 ? "an array" : type_name_of(type.get())));
  std::string value;
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* buf = nullptr;
    if (H5Aread(a.get(), mem.get(), &buf) < 0) fail("cannot read attribute '" + attr + "'");
    if (buf != nullptr) value = buf;
    H5free_memory(buf);
  } else {
    const std::size_t size = H5Tget_size(type.get());
    std::string buf(size, '\0');
    if (H5Aread(a.get(), type.get(), buf.data()) < 0) fail("cannot read attribute '" + attr + "'");
    value = buf.substr(0, buf.find('\0'));
    while (!value.empty() && value.back() == ' ') value.pop_back();  // space-padded strings
  }
  return value;
}

std::optional<std::int64_t> H5File::int_attr(const std::string& object, const std::string& attr) const {
  if (!has_attr(object, attr)) return std::nullopt;
  H5Id a(H5Aopen_by_name(id(), object_path(object), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  H5Id type(H5Aget_type(a.get()), H5Tclose);
  H5Id space(H5Aget_space(a.get()), H5Sclose);
  if (!a.valid() || !type.valid() || !space.valid()) fail("cannot open attribute '" + attr + "'");
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Sget_simple_extent_npoints(space.get()) != 1)
    throw IOError(prefix() + "attribute '" + attr + "': expected an integer, got " +
                  (H5Sget_simple_extent_npoints(space.get()) != 1 ? "an array" : type_name_of(type.get())));
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
