#include "io/hdf5_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "tests/support/errors.h"
#include "tests/io/temp_dir.h"
#include "tests/support/fixtures.h"

namespace shrink::io {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

using testing::error_of;

/// Writes a dataset of an arbitrary HDF5 type with the C API (what other tools may produce).
void write_raw(const std::string& path, const std::string& name, hid_t file_type, hid_t mem_type, const void* data,
               hsize_t n) {
  H5Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5Id dset(H5Dcreate2(file.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  ASSERT_GE(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
}

TEST(H5File, RoundTripsEveryDtypeAndShape) {
  TempDir dir;
  const std::string path = dir.file("t.h5");
  Generator gen(3);
  const Tensor f = randn({3, 5, 2}, &gen);
  const Tensor i64 = from_vector(std::vector<std::int64_t>{-5, 0, 1LL << 40}, {3});
  const Tensor i8 = from_vector(std::vector<std::int8_t>{-128, 0, 127, 3}, {2, 2});
  const Tensor u8 = from_vector(std::vector<std::uint8_t>{0, 255, 7}, {3, 1});
  const Tensor scalar = scalar_tensor(2.5);
  const Tensor empty_t = zeros({0, 3});
  {
    H5File file = H5File::create(path, "test");
    file.write_tensor("f", f);
    file.write_tensor("f.gz", f, 6);
    file.write_tensor("i64", i64);
    file.write_tensor("i8", i8, 1);
    file.write_tensor("u8", u8);
    file.write_tensor("scalar", scalar);
    file.write_tensor("empty", empty_t, 6);
    file.close();
  }
  H5File file = H5File::open_read(path, "test");
  EXPECT_TRUE(testing::tensors_identical(file.read_tensor("f"), f));
  EXPECT_TRUE(testing::tensors_identical(file.read_tensor("f.gz"), f));
  for (const auto& [name, expected] : {std::pair{"i64", i64}, {"i8", i8}, {"u8", u8}}) {
    const Tensor got = file.read_tensor(name);
    EXPECT_EQ(got.dtype(), expected.dtype()) << name;
    EXPECT_EQ(got.shape(), expected.shape()) << name;
    for (std::int64_t k = 0; k < expected.numel(); ++k)
      EXPECT_EQ(got.view_as_shape({got.numel()}).at({k}), expected.view_as_shape({expected.numel()}).at({k})) << name;
  }
  EXPECT_EQ(file.read_tensor("i64").data<std::int64_t>()[2], 1LL << 40);
  const Tensor s = file.read_tensor("scalar");
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.item(), 2.5f);
  EXPECT_EQ(file.read_tensor("empty").shape(), (Shape{0, 3}));
  const DatasetInfo info = file.dataset_info("i8");
  EXPECT_EQ(info.shape, (Shape{2, 2}));
  EXPECT_EQ(info.dtype, DType::Int8);
  EXPECT_EQ(info.type_name, "int8");
}

TEST(H5File, CompressesLargeTensorsInChunks) {
  TempDir dir;
  const std::string path = dir.file("big.h5");
  Tensor big = zeros({700, 1000}, DType::UInt8);  // 700 KB of zeros plus a pattern
  for (std::int64_t k = 0; k < 700; ++k) big.data<std::uint8_t>()[k * 1000 + k] = 1;
  Tensor wide = randn({3, 300000});  // one row exceeds the 1 MiB chunk cap
  {
    H5File file = H5File::create(path, "test");
    file.write_tensor("big", big, 6);
    file.write_tensor("wide", wide, 1);
    file.close();
  }
  EXPECT_LT(std::filesystem::file_size(path), 700000u + 3u * 300000u * 4u);  // zeros compress well
  H5File file = H5File::open_read(path, "test");
  const Tensor got = file.read_tensor("big");
  EXPECT_EQ(std::memcmp(got.raw_data(), big.raw_data(), 700000), 0);
  EXPECT_TRUE(testing::tensors_identical(file.read_tensor("wide"), wide));
}

TEST(H5File, ListsNamesInCreationOrder) {
  TempDir dir;
  const std::string path = dir.file("o.h5");
  {
    H5File file = H5File::create(path, "test");
    for (const char* name : {"layer2.weight", "a", "layer10.bias", "B"}) file.write_tensor(name, ones({1}));
    file.close();
  }
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"layer2.weight", "a", "layer10.bias", "B"}));
  EXPECT_TRUE(file.contains("a"));
  EXPECT_TRUE(file.is_dataset("a"));
  EXPECT_FALSE(file.contains("missing"));
  EXPECT_FALSE(file.contains("x/y"));
  EXPECT_FALSE(file.is_dataset("missing"));
}

TEST(H5File, ListsNamesInNameOrderWhenTheFileDoesNotTrackCreation) {
  TempDir dir;
  const std::string path = dir.file("plain.h5");
  {
    H5Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    H5Id group(H5Gcreate2(file.get(), "zgroup", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    H5Id g2(H5Gcreate2(file.get(), "agroup", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  }
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.names(), (std::vector<std::string>{"agroup", "zgroup"}));
  EXPECT_TRUE(file.contains("zgroup"));
  EXPECT_FALSE(file.is_dataset("zgroup"));
}

TEST(H5File, StoresStringAndIntegerAttributesOnRootAndDatasets) {
  TempDir dir;
  const std::string path = dir.file("a.h5");
  {
    H5File file = H5File::create(path, "test");
    file.write_tensor("w", ones({2}));
    file.set_string_attr("", "format", "first");
    file.set_string_attr("", "format", "shrink.state_dict");  // overwriting replaces
    file.set_int_attr("", "format_version", 1);
    file.set_int_attr("w", "ndim", -7);
    file.set_string_attr("w", "note", "é ünïcode");
    file.close();
  }
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.string_attr("", "format"), "shrink.state_dict");
  EXPECT_EQ(file.int_attr("", "format_version"), 1);
  EXPECT_EQ(file.int_attr("w", "ndim"), -7);
  EXPECT_EQ(file.string_attr("w", "note"), "é ünïcode");
  EXPECT_TRUE(file.has_attr("", "format"));
  EXPECT_FALSE(file.has_attr("w", "format"));
  EXPECT_EQ(file.string_attr("", "absent"), std::nullopt);
  EXPECT_EQ(file.int_attr("", "absent"), std::nullopt);
}

TEST(H5File, ReadsFixedLengthStringAttributes) {
  TempDir dir;
  const std::string path = dir.file("fixed.h5");
  {
    H5Id file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), 12);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
    H5Id attr(H5Acreate2(file.get(), "format", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const char value[12] = "shrink.x";
    ASSERT_GE(H5Awrite(attr.get(), type.get(), value), 0);
  }
  EXPECT_EQ(H5File::open_read(path, "test").string_attr("", "format"), "shrink.x");
}

TEST(H5File, ReadsNumpyBoolDatasetsAsUInt8) {
  TempDir dir;
  const std::string path = dir.file("bool.h5");
  H5Id type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  std::int8_t f = 0, t = 1;
  H5Tenum_insert(type.get(), "FALSE", &f);
  H5Tenum_insert(type.get(), "TRUE", &t);
  const std::int8_t data[4] = {1, 0, 0, 1};
  write_raw(path, "mask", type.get(), type.get(), data, 4);
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.dataset_info("mask").type_name, "bool");
  const Tensor m = file.read_tensor("mask");
  EXPECT_EQ(m.dtype(), DType::UInt8);
  EXPECT_EQ(m.to_vector(), (std::vector<float>{1, 0, 0, 1}));
}

TEST(H5File, ReadsBigEndianFloatsConverted) {
  TempDir dir;
  const std::string path = dir.file("be.h5");
  const float data[3] = {1.5f, -2.0f, 3.25f};
  write_raw(path, "x", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, data, 3);
  EXPECT_EQ(H5File::open_read(path, "test").read_tensor("x").to_vector(), (std::vector<float>{1.5f, -2.0f, 3.25f}));
}

TEST(H5File, RefusesUnsupportedDatasetTypes) {
  TempDir dir;
  const std::string path = dir.file("f64.h5");
  const double data[2] = {1.0, 2.0};
  write_raw(path, "w", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, 2);
  H5File file = H5File::open_read(path, "load");
  EXPECT_EQ(file.dataset_info("w").type_name, "float64");
  EXPECT_FALSE(file.dataset_info("w").dtype.has_value());
  EXPECT_EQ(error_of<IOError>([&] { file.read_tensor("w"); }),
            "load: '" + path + "': dataset 'w': expected float32, int64, int8 or uint8 data, got float64");
  const std::string path32 = dir.file("i32.h5");
  const std::int32_t ints[1] = {4};
  write_raw(path32, "n", H5T_STD_I32LE, H5T_NATIVE_INT32, ints, 1);
  EXPECT_EQ(error_of<IOError>([&] { H5File::open_read(path32, "load").read_tensor("n"); }),
            "load: '" + path32 + "': dataset 'n': expected float32, int64, int8 or uint8 data, got int32");
}

TEST(H5File, OpenErrorsNameTheFileAndTheProblem) {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  EXPECT_EQ(error_of<IOError>([&] { H5File::open_read(missing, "load"); }), "load: '" + missing + "': no such file");
  EXPECT_EQ(error_of<IOError>([&] { H5File::open_read(dir.path().string(), "load"); }),
            "load: '" + dir.path().string() + "': expected a file, got a directory");
  const std::string text = dir.write_bytes("text.h5", "this is not HDF5 at all, just some text\n");
  EXPECT_EQ(error_of<IOError>([&] { H5File::open_read(text, "load"); }),
            "load: '" + text + "': not an HDF5 file (no HDF5 signature found)");
  const std::string empty = dir.write_bytes("empty.h5", "");
  EXPECT_EQ(error_of<IOError>([&] { H5File::open_read(empty, "load"); }),
            "load: '" + empty + "': not an HDF5 file (no HDF5 signature found)");
  const std::string nodir = dir.file("no/such/dir/x.h5");
  EXPECT_THAT(error_of<IOError>([&] { H5File::create(nodir, "save"); }), StartsWith("save: '" + nodir + "': cannot be created"));
}

TEST(H5File, DatasetAndAttributeErrorsNameTheKey) {
  TempDir dir;
  const std::string path = dir.file("e.h5");
  {
    H5File file = H5File::create(path, "save");
    file.write_tensor("w", ones({2}));
    EXPECT_EQ(error_of<IOError>([&] { file.write_tensor("w", ones({2})); }), "save: '" + path + "': dataset 'w' already exists");
    EXPECT_EQ(error_of<IOError>([&] { file.write_tensor("a/b", ones({2})); }),
              "save: '" + path + "': expected a dataset name that is not empty, not '.' and has no '/', got 'a/b'");
    EXPECT_EQ(error_of<IOError>([&] { file.write_tensor("", ones({2})); }),
              "save: '" + path + "': expected a dataset name that is not empty, not '.' and has no '/', got ''");
    file.set_string_attr("", "format", "x");
    file.set_int_attr("", "version", 2);
    file.close();
    file.close();  // idempotent
  }
  H5File file = H5File::open_read(path, "load");
  EXPECT_EQ(error_of<IOError>([&] { file.read_tensor("nope"); }), "load: '" + path + "': no dataset 'nope'");
  EXPECT_EQ(error_of<IOError>([&] { file.int_attr("", "format"); }),
            "load: '" + path + "': attribute 'format': expected an integer, got string");
  EXPECT_EQ(error_of<IOError>([&] { file.string_attr("", "version"); }),
            "load: '" + path + "': attribute 'version': expected a string, got int64");
  EXPECT_THAT(error_of<IOError>([&] { file.has_attr("nope", "x"); }),
              StartsWith("load: '" + path + "': cannot look up attribute 'x' of 'nope'"));
}

TEST(H5File, HDF5PrintsNothingOnErrors) {
  TempDir dir;
  const std::string text = dir.write_bytes("text.h5", "not hdf5");
  ::testing::internal::CaptureStderr();
  EXPECT_THROW(H5File::open_read(text, "load"), IOError);
  EXPECT_THROW(H5File::create(dir.file("no/dir.h5"), "save"), IOError);
  {
    H5File file = H5File::create(dir.file("ok.h5"), "save");
    EXPECT_THROW(file.has_attr("nope", "x"), IOError);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(H5Id, ClosesOnceAndMoves) {
  H5Id a(H5Screate(H5S_SCALAR), H5Sclose);
  const hid_t raw = a.get();
  EXPECT_TRUE(a.valid());
  H5Id b(std::move(a));
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw);
  H5Id c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_GT(H5Iis_valid(raw), 0);
  EXPECT_TRUE(c.reset());
  EXPECT_FALSE(c.valid());
  EXPECT_LE(H5Iis_valid(raw), 0);
}

}  // namespace
}  // namespace shrink::io
