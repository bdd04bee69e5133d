// Crafted HDF5 files (built here with the HDF5 C API, small, in a temp dir) that once crashed,
// exhausted memory or silently read other files: each must be an IOError naming the file and
// the key, raised before anything large is allocated.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "io/checkpoint.h"
#include "io/hdf5_file.h"
#include "io/state_dict_file.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::io {
namespace {

using testing::error_of;
using testing::TempDir;

/// A new file with the root attributes of a state_dict file, for crafting datasets by hand.
H5Id new_state_dict_file(const std::string& path) {
  H5Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  EXPECT_TRUE(file.valid());
  return file;
}

/// A dataset `name` of `dims` and `type` with the creation properties `dcpl`, optionally
/// writing `data` into the hyperslab [0, n) of its first dimension.
void create_dataset(hid_t file, const std::string& name, std::vector<hsize_t> dims, hid_t type, hid_t dcpl,
                    const void* data = nullptr, hsize_t n = 0) {
  H5Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Id dset(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose);
  ASSERT_TRUE(dset.valid()) << hdf5_error_text();
  if (data == nullptr) return;
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  count[0] = n;
  H5Id mem(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose);
  ASSERT_GE(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), 0);
  ASSERT_GE(H5Dwrite(dset.get(), type, mem.get(), space.get(), H5P_DEFAULT, data), 0) << hdf5_error_text();
}

H5Id chunked(std::vector<hsize_t> chunk, int gzip = 0) {
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  if (gzip > 0) H5Pset_deflate(dcpl.get(), static_cast<unsigned>(gzip));
  return dcpl;
}

TEST(HostileHdf5, AShapeWhoseElementCountOverflowsIsRefused) {
  TempDir dir;
  const std::string path = dir.file("overflow.h5");
  {
    H5Id file = new_state_dict_file(path);
    // 2^62 + 1 rows of 4: the element count wraps around to 4 in 64 bits.
    create_dataset(file.get(), "w", {(hsize_t{1} << 62) + 1, 4}, H5T_STD_U8LE, chunked({1, 4}).get());
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path); }),
            "load_state_dict: '" + path +
                "': dataset 'w': expected a shape whose element count fits in int64, got [4611686018427387905, 4]");
}

TEST(HostileHdf5, AShapeLargerThanItsStorageIsRefusedBeforeAllocating) {
  TempDir dir;
  const std::string path = dir.file("huge.h5");
  {
    H5Id file = new_state_dict_file(path);
    // [2^40] float32 (4 TiB) with no chunk written: reading it once gave std::bad_alloc.
    create_dataset(file.get(), "w", {hsize_t{1} << 40}, H5T_IEEE_F32LE, chunked({1024}).get());
    // Deflated: one chunk of zeros written; deflate cannot stretch it over 4 TiB.
    const std::vector<float> zeros(1024, 0.0f);
    create_dataset(file.get(), "z", {hsize_t{1} << 40}, H5T_IEEE_F32LE, chunked({1024}, 9).get(), zeros.data(), 1024);
  }
  const H5File file = H5File::open_read(path, "load");
  EXPECT_EQ(error_of<IOError>([&] { file.read_tensor("w"); }),
            "load: '" + path +
                "': dataset 'w': shape [1099511627776] of float32 needs 4398046511104 bytes, got 0 bytes stored "
                "(Hint: the file is truncated or forged)");
  const std::string z = error_of<IOError>([&] { file.read_tensor("z"); });
  EXPECT_THAT(z, ::testing::MatchesRegex("load: '.*': dataset 'z': shape \\[1099511627776\\] of float32 needs "
                                         "4398046511104 bytes, got [0-9]+ bytes stored \\(at most 1032:1 when "
                                         "deflated\\) \\(Hint: the file is truncated or forged\\)"));
  EXPECT_EQ(file.dataset_info("w").shape, (Shape{std::int64_t{1} << 40}));  // inspecting is fine
}

TEST(HostileHdf5, ExternalStorageIsRefused) {
  TempDir dir;
  const std::string path = dir.file("external.h5");
  std::ofstream(dir.file("secret.bin")) << "0123456789abcdef";
  {
    H5Id file = new_state_dict_file(path);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    ASSERT_GE(H5Pset_external(dcpl.get(), dir.file("secret.bin").c_str(), 0, 16), 0);
    create_dataset(file.get(), "w", {16}, H5T_STD_U8LE, dcpl.get());
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path); }),
            "load_state_dict: '" + path +
                "': dataset 'w': expected data stored in this file, got external storage in 1 other file(s)");
}

TEST(HostileHdf5, VirtualDatasetsAreRefused) {
  TempDir dir;
  const std::string source = dir.file("source.h5");
  {
    H5Id file = new_state_dict_file(source);
    const std::uint8_t data[4] = {1, 2, 3, 4};
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    create_dataset(file.get(), "src", {4}, H5T_STD_U8LE, dcpl.get(), data, 4);
  }
  const std::string path = dir.file("virtual.h5");
  {
    H5Id file = new_state_dict_file(path);
    const hsize_t n = 4;
    H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    ASSERT_GE(H5Pset_virtual(dcpl.get(), space.get(), source.c_str(), "src", space.get()), 0);
    create_dataset(file.get(), "w", {4}, H5T_STD_U8LE, dcpl.get());
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path); }),
            "load_state_dict: '" + path +
                "': dataset 'w': expected data stored in this file, got a virtual dataset (it maps other files)");
}

TEST(HostileHdf5, SoftAndExternalLinksAreNotFollowed) {
  TempDir dir;
  const std::string other = dir.file("other.h5");
  save_state_dict([] {
    StateDict sd;
    sd.insert("w", ones({2}));
    return sd;
  }(), other);
  const std::string soft = dir.file("soft.h5");
  {
    H5Id file = new_state_dict_file(soft);
    const float data[2] = {1, 2};
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    create_dataset(file.get(), "w", {2}, H5T_IEEE_F32LE, dcpl.get(), data, 2);
    ASSERT_GE(H5Lcreate_soft("/w", file.get(), "alias", H5P_DEFAULT, H5P_DEFAULT), 0);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(soft); }),
            "load_state_dict: '" + soft + "': 'alias': expected a dataset stored in this file, got a soft link (links "
                                          "are not followed)");
  const H5File file = H5File::open_read(soft, "load");
  EXPECT_EQ(error_of<IOError>([&] { file.read_tensor("alias"); }),
            "load: '" + soft + "': 'alias': expected a dataset stored in this file, got a soft link (links are not "
                               "followed)");
  const std::string external = dir.file("external-link.h5");
  {
    H5Id f = new_state_dict_file(external);
    ASSERT_GE(H5Lcreate_external(other.c_str(), "w", f.get(), "w", H5P_DEFAULT, H5P_DEFAULT), 0);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(external); }),
            "load_state_dict: '" + external + "': 'w': expected a dataset stored in this file, got an external link "
                                              "(links are not followed)");
}

TEST(HostileHdf5, UnknownFiltersAreRefused) {
  TempDir dir;
  const std::string path = dir.file("nbit.h5");
  {
    H5Id file = new_state_dict_file(path);
    H5Id dcpl = chunked({4});
    ASSERT_GE(H5Pset_scaleoffset(dcpl.get(), H5Z_SO_INT, H5Z_SO_INT_MINBITS_DEFAULT), 0);
    const std::uint8_t data[4] = {1, 2, 3, 4};
    create_dataset(file.get(), "w", {4}, H5T_STD_U8LE, dcpl.get(), data, 4);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path); }),
            "load_state_dict: '" + path +
                "': dataset 'w': expected no filter or deflate (gzip), shuffle, fletcher32, got filter 6");
}

TEST(HostileHdf5, VariableLengthStringAttributesAreRefused) {
  TempDir dir;
  const std::string path = dir.file("vlen.h5");
  {
    H5Id file = new_state_dict_file(path);
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id a(H5Acreate2(file.get(), "format", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const char* value = "shrink.state_dict";
    ASSERT_GE(H5Awrite(a.get(), type.get(), &value), 0);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path); }),
            "load_state_dict: '" + path +
                "': attribute 'format': expected a fixed-length string, got a variable-length string (Hint: Shrink "
                "reads only fixed-length strings; from h5py write numpy.bytes_(text))");
}

TEST(HostileHdf5, WritersUseFixedLengthStringsAndCompactLinks) {
  TempDir dir;
  const std::string path = dir.file("sd.h5");
  StateDict sd;  // more than the 8 links after which HDF5 would switch to dense storage
  for (int i = 0; i < 20; ++i) sd.insert("w" + std::to_string(19 - i), ones({1}));
  save_state_dict(sd, path);
  EXPECT_EQ(load_state_dict(path).keys(), sd.keys());  // creation order
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  H5G_info_t root{};
  ASSERT_GE(H5Gget_info(file.get(), &root), 0);
  EXPECT_EQ(root.storage_type, H5G_STORAGE_TYPE_COMPACT);
  EXPECT_EQ(root.nlinks, 20u);
  for (const char* attr : {"format", "producer"}) {
    H5Id a(H5Aopen(file.get(), attr, H5P_DEFAULT), H5Aclose);
    H5Id type(H5Aget_type(a.get()), H5Tclose);
    EXPECT_EQ(H5Tget_class(type.get()), H5T_STRING) << attr;
    EXPECT_EQ(H5Tis_variable_str(type.get()), 0) << attr;
  }
  EXPECT_EQ(H5File::open_read(path, "load").string_attr("", "format"), "shrink.state_dict");
}

}  // namespace
}  // namespace shrink::io
