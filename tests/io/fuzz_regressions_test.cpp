// The inputs the fuzz targets once crashed or hung on (fuzz/regressions/<reader>/) must each be
// refused with a shrink::Error, and the order of the keys a reader lists must survive the
// native-order link iteration that fixed one of them (io/hdf5_file.cpp, H5File::names).
#include <hdf5.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/state_dict_file.h"
#include "tests/io/temp_dir.h"

namespace shrink::io {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> regressions(const std::string& reader) {
  // SHRINK_FIXTURES_DIR is <repository>/tests/fixtures.
  const fs::path dir = fs::path(SHRINK_FIXTURES_DIR) / ".." / ".." / "fuzz" / "regressions" / reader;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  return files;
}

TEST(FuzzRegressions, EveryFoundInputIsAShrinkError) {
  const auto state_dicts = regressions("state_dict");
  const auto masks = regressions("masks");
  const auto checkpoints = regressions("checkpoint");
  ASSERT_FALSE(state_dicts.empty() || masks.empty() || checkpoints.empty());
  for (const auto& f : state_dicts) EXPECT_THROW(load_state_dict(f), Error) << f;
  for (const auto& f : masks) EXPECT_THROW(load_masks(f), Error) << f;
  for (const auto& f : checkpoints) EXPECT_THROW(load_checkpoint(f), Error) << f;
}

TEST(FuzzRegressions, ManyKeysKeepTheirWritingOrder) {
  // 40 entries written out of name order.
  StateDict sd;
  for (int i = 39; i >= 0; --i) sd.insert("layer" + std::to_string(i * 7 % 40) + ".weight", full({1}, i));
  testing::TempDir dir;
  save_state_dict(sd, dir.file("dense.h5"));
  EXPECT_EQ(load_state_dict(dir.file("dense.h5")).keys(), sd.keys());
}

TEST(FuzzRegressions, AFileWithoutCreationOrderListsKeysByName) {
  // As h5py writes by default: no creation order tracked.
  testing::TempDir dir;
  const std::string path = dir.file("plain.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hsize_t dims[1] = {2};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const float values[2] = {1, 2};
  for (const char* name : {"fc2.bias", "conv.weight", "fc1.bias"}) {
    const hid_t ds = H5Dcreate2(file, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(ds);
  }
  H5Sclose(space);
  H5Fclose(file);
  EXPECT_EQ(load_state_dict(path).keys(), (std::vector<std::string>{"conv.weight", "fc1.bias", "fc2.bias"}));
}

}  // namespace
}  // namespace shrink::io
