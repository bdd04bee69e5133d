// H5File's datasets: writing tensors, and reading them only after checking that the dataset's
// layout, filters, shape and real storage make sense (a hostile file must fail with an IOError
// before anything is allocated or any other file is touched).
#include <algorithm>

#include "io/hdf5_detail.h"
#include "io/hdf5_file.h"

namespace shrink::io {
namespace {

using detail::dtype_of_type;
using detail::file_type;
using detail::memory_type;
using detail::type_name_of;

/// Deflate chunks are capped at this many bytes so huge tensors compress in pieces.
constexpr std::size_t kMaxChunkBytes = std::size_t{1} << 20;

/// "[a, b]" of unsigned HDF5 sizes (which may exceed int64).
std::string dims_str(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

/// Product of `dims` times `elem`, or nullopt when it does not fit in int64.
std::optional<std::uint64_t> checked_bytes(const std::vector<hsize_t>& dims, std::uint64_t elem) {
  unsigned __int128 n = elem;
  for (hsize_t d : dims) {
    if (d == 0) return 0;
  }
  for (hsize_t d : dims) {
    n *= d;
    if (n > static_cast<unsigned __int128>(INT64_MAX)) return std::nullopt;
  }
  return static_cast<std::uint64_t>(n);
}

/// Why the dataset's creation properties are unsafe to read ("" when they are fine), and the
/// largest expansion its filters allow (1 without compression).
std::string layout_problem(hid_t dcpl, std::uint64_t& max_ratio) {
  max_ratio = 1;
  const H5D_layout_t layout = H5Pget_layout(dcpl);
  if (layout == H5D_VIRTUAL) return "expected data stored in this file, got a virtual dataset (it maps other files)";
  if (layout < 0) return "cannot read its storage layout";
  const int external = H5Pget_external_count(dcpl);
  if (external != 0)
    return "expected data stored in this file, got external storage in " + std::to_string(external) + " other file(s)";
  const int nfilters = H5Pget_nfilters(dcpl);
  if (nfilters < 0) return "cannot read its filters";
  for (int i = 0; i < nfilters; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t nvalues = 0;
    char name[64] = {0};
    const H5Z_filter_t f = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nvalues, nullptr, sizeof name, name,
                                          &config);
    if (f == H5Z_FILTER_DEFLATE) {
      max_ratio = kMaxDeflateRatio;
    } else if (f != H5Z_FILTER_SHUFFLE && f != H5Z_FILTER_FLETCHER32) {
      return "expected no filter or deflate (gzip), shuffle, fletcher32, got filter " + std::to_string(f);
    }
  }
  return "";
}

/// Why the chunk shape is unsafe ("" when fine): HDF5 allocates one whole chunk per read, so a
/// chunk must not be larger than the dataset it belongs to.
std::string chunk_problem(hid_t dcpl, const std::vector<hsize_t>& dims) {
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) return "";
  std::vector<hsize_t> chunk(dims.size() + 1, 0);
  const int rank = H5Pget_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  if (rank != static_cast<int>(dims.size())) return "expected chunks of the dataset's rank, got rank " + std::to_string(rank);
  for (std::size_t d = 0; d < dims.size(); ++d)
    if (chunk[d] > std::max<hsize_t>(dims[d], 1))
      return "expected chunks no larger than the dataset " + dims_str(dims) + ", got " +
             dims_str(std::vector<hsize_t>(chunk.begin(), chunk.begin() + rank));
  return "";
}

}  // namespace

H5Id H5File::open_dataset(const std::string& name) const {
  if (!is_dataset(name)) throw IOError(prefix() + "no dataset '" + name + "'");
  H5Id dset(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dset.valid()) fail("cannot open dataset '" + name + "'");
  H5Id dcpl(H5Dget_create_plist(dset.get()), H5Pclose);
  if (!dcpl.valid()) fail("cannot inspect dataset '" + name + "'");
  std::uint64_t ratio = 1;
  const std::string problem = layout_problem(dcpl.get(), ratio);
  if (!problem.empty()) throw IOError(prefix() + "dataset '" + name + "': " + problem);
  return dset;
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
  H5Id dset = open_dataset(name);
  H5Id type(H5Dget_type(dset.get()), H5Tclose);
  H5Id space(H5Dget_space(dset.get()), H5Sclose);
  if (!type.valid() || !space.valid()) fail("cannot inspect dataset '" + name + "'");
  const int ndims = H5Sget_simple_extent_ndims(space.get());
  if (ndims < 0) fail("cannot read the shape of dataset '" + name + "'");
  std::vector<hsize_t> dims(static_cast<std::size_t>(ndims));
  if (ndims > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    fail("cannot read the shape of dataset '" + name + "'");
  if (!checked_bytes(dims, 1))
    throw IOError(prefix() + "dataset '" + name + "': expected a shape whose element count fits in int64, got " +
                  dims_str(dims));
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
  H5Id dset = open_dataset(name);
  H5Id type(H5Dget_type(dset.get()), H5Tclose);
  H5Id dcpl(H5Dget_create_plist(dset.get()), H5Pclose);
  if (!type.valid() || !dcpl.valid()) fail("cannot inspect dataset '" + name + "'");
  // The shape must be backed by real bytes in the file: a forged shape fails here, naming the
  // key, instead of as a huge allocation (std::bad_alloc) or a read of fill values.
  const std::vector<hsize_t> dims(info.shape.begin(), info.shape.end());
  const std::optional<std::uint64_t> needed = checked_bytes(dims, H5Tget_size(type.get()));
  std::uint64_t ratio = 1;
  layout_problem(dcpl.get(), ratio);
  if (const std::string problem = chunk_problem(dcpl.get(), dims); !problem.empty())
    throw IOError(prefix() + "dataset '" + name + "': " + problem);
  const std::uint64_t stored = H5Dget_storage_size(dset.get());
  if (!needed || static_cast<unsigned __int128>(*needed) > static_cast<unsigned __int128>(stored) * ratio)
    throw IOError(prefix() + "dataset '" + name + "': shape " + shape_str(info.shape) + " of " + info.type_name +
                  " needs " + (needed ? std::to_string(*needed) : std::string("more than 2^63")) + " bytes, got " +
                  std::to_string(stored) + " bytes stored" +
                  (ratio > 1 ? " (at most " + std::to_string(ratio) + ":1 when deflated)" : std::string()) +
                  " (Hint: the file is truncated or forged)");
  Tensor out = Tensor::empty(info.shape, *info.dtype);
  if (out.numel() == 0) return out;
  // Enums (numpy bool) are read in their own 1-byte type: no conversion is involved.
  const hid_t mem = H5Tget_class(type.get()) == H5T_ENUM ? type.get() : memory_type(*info.dtype);
  if (H5Dread(dset.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.raw_data()) < 0)
    fail("cannot read dataset '" + name + "'");
  return out;
}

}  // namespace shrink::io
