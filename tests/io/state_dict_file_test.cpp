#include "io/state_dict_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "autograd/generator.h"
#include "io/atomic_write.h"
#include "io/hdf5_file.h"
#include "tests/support/errors.h"
#include "tests/io/temp_dir.h"
#include "tests/support/fixtures.h"

namespace shrink::io {
namespace {

using ::testing::StartsWith;
using testing::TempDir;

using testing::error_of;

StateDict sample_state_dict() {
  Generator gen(11);
  StateDict sd;
  sd.insert("features.0.weight", randn({4, 1, 3, 3}, &gen));
  sd.insert("features.0.bias", randn({4}, &gen));
  sd.insert("bn.num_batches_tracked", from_vector(std::vector<std::int64_t>{17}, {}).view_as_shape({}));
  sd.insert("q.weight", from_vector(std::vector<std::int8_t>{-128, -1, 0, 127}, {2, 2}));
  sd.insert("q.mask", from_vector(std::vector<std::uint8_t>{0, 1, 255}, {3}));
  sd.insert("classifier.weight", randn({10, 7}, &gen));
  return sd;
}

void expect_same(const StateDict& got, const StateDict& expected) {
  ASSERT_EQ(got.keys(), expected.keys());
  for (const auto& [key, t] : expected) {
    const Tensor& g = got.at(key);
    EXPECT_EQ(g.dtype(), t.dtype()) << key;
    EXPECT_EQ(g.shape(), t.shape()) << key;
    EXPECT_EQ(g.to_vector(), t.to_vector()) << key;
  }
}

/// Writes a file with the given root attributes and datasets, bypassing the validating writer.
void write_custom(const std::string& path, const std::optional<std::string>& format,
                  const std::optional<std::int64_t>& version, const StateDict& entries) {
  std::filesystem::remove(path);  // H5File::create never replaces a file
  H5File file = H5File::create(path, "test");
  if (format) file.set_string_attr("", "format", *format);
  if (version) file.set_int_attr("", "format_version", *version);
  for (const auto& [k, t] : entries) file.write_tensor(k, t);
  file.close();
}

TEST(StateDictFile, RoundTripsEveryDtypeInOrder) {
  TempDir dir;
  const std::string path = dir.file("sd.h5");
  const StateDict sd = sample_state_dict();
  save_state_dict(sd, path);
  const StateDict back = load_state_dict(path);
  expect_same(back, sd);
  EXPECT_EQ(back.at("bn.num_batches_tracked").dim(), 0);
  EXPECT_EQ(back.at("bn.num_batches_tracked").item<std::int64_t>(), 17);
  EXPECT_TRUE(testing::tensors_identical(back.at("features.0.weight"), sd.at("features.0.weight")));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"sd.h5"});
}

TEST(StateDictFile, WritesTheDocumentedLayout) {
  TempDir dir;
  const std::string path = dir.file("sd.h5");
  save_state_dict(sample_state_dict(), path);
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.string_attr("", "format"), "shrink.state_dict");
  EXPECT_EQ(file.int_attr("", "format_version"), 1);
  EXPECT_EQ(file.string_attr("", "producer"), "shrink 0.1.0");
  EXPECT_EQ(file.names(), sample_state_dict().keys());
  EXPECT_EQ(file.dataset_info("features.0.weight").shape, (Shape{4, 1, 3, 3}));
  EXPECT_EQ(file.dataset_info("features.0.weight").type_name, "float32");
  EXPECT_EQ(file.dataset_info("q.weight").type_name, "int8");
  EXPECT_EQ(file.dataset_info("q.mask").type_name, "uint8");
  // 0-d tensors: shape [1] plus ndim = 0, so that h5py returns an array torch.from_numpy takes.
  EXPECT_EQ(file.dataset_info("bn.num_batches_tracked").shape, (Shape{1}));
  EXPECT_EQ(file.dataset_info("bn.num_batches_tracked").type_name, "int64");
  EXPECT_EQ(file.int_attr("bn.num_batches_tracked", "ndim"), 0);
  EXPECT_FALSE(file.has_attr("features.0.bias", "ndim"));
}

TEST(StateDictFile, SavesEmptyStateDictsAndEmptyTensors) {
  TempDir dir;
  const std::string path = dir.file("e.h5");
  save_state_dict(StateDict{}, path);
  EXPECT_TRUE(load_state_dict(path).empty());
  StateDict sd;
  sd.insert("nothing", zeros({0, 4}));
  save_state_dict(sd, path);
  EXPECT_EQ(load_state_dict(path).at("nothing").shape(), (Shape{0, 4}));
}

TEST(StateDictFile, ReadsFilesWrittenWithoutShrinkAttributes) {
  // What a PyTorch user writes with plain h5py: datasets only, 0-d entries as scalar datasets.
  TempDir dir;
  const std::string path = dir.file("torch.h5");
  StateDict sd;
  sd.insert("fc.weight", ones({2, 3}));
  sd.insert("bn.num_batches_tracked", scalar_tensor(5, DType::Int64));
  write_custom(path, std::nullopt, std::nullopt, sd);
  const StateDict back = load_state_dict(path);
  EXPECT_EQ(back.at("bn.num_batches_tracked").shape(), Shape{});
  EXPECT_EQ(back.at("bn.num_batches_tracked").item<std::int64_t>(), 5);
  EXPECT_EQ(back.at("fc.weight").shape(), (Shape{2, 3}));
}

TEST(StateDictFile, ReadsTheWeightsOfAModelFile) {
  TempDir dir;
  const std::string path = dir.file("model.h5");
  StateDict sd;
  sd.insert("w", ones({2}));
  write_custom(path, "shrink.model", 1, sd);
  EXPECT_EQ(load_state_dict(path).keys(), std::vector<std::string>{"w"});
}

TEST(StateDictFile, ReadErrorsNameTheFileKeyExpectedAndFound) {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(missing); }), "load_state_dict: '" + missing + "': no such file");
  const std::string text = dir.write_bytes("weights.h5", "PK\x03\x04 a zip, perhaps a torch.save file");
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(text); }),
            "load_state_dict: '" + text + "': not an HDF5 file (no HDF5 signature found)");

  StateDict one;
  one.insert("w", ones({2}));
  const std::string other = dir.file("other.h5");
  write_custom(other, "keras", 1, one);
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(other); }),
            "load_state_dict: '" + other + "': expected format 'shrink.state_dict', got 'keras'");
  const std::string masks = dir.file("masks.h5");
  save_masks(StateDict{}, masks);
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(masks); }),
            "load_state_dict: '" + masks +
                "': expected format 'shrink.state_dict', got 'shrink.masks' (Hint: this is a masks file; read it "
                "with io::load_masks)");
  const std::string v2 = dir.file("v2.h5");
  write_custom(v2, "shrink.state_dict", 2, one);
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(v2); }),
            "load_state_dict: '" + v2 +
                "': unsupported format_version 2 (this Shrink reads version 1; Hint: a newer Shrink wrote it, upgrade "
                "to read it)");
  const std::string noversion = dir.file("nov.h5");
  write_custom(noversion, "shrink.state_dict", std::nullopt, one);
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(noversion); }),
            "load_state_dict: '" + noversion + "': expected an attribute 'format_version', got none");

  const std::string f64 = dir.file("f64.h5");
  {
    H5File file = H5File::create(f64, "test");
    file.set_string_attr("", "format", "shrink.state_dict");
    file.set_int_attr("", "format_version", 1);
    file.write_tensor("ok", ones({1}));
    const hsize_t n = 2;
    const double data[2] = {1, 2};
    H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    H5Id d(H5Dcreate2(file.id(), "conv.weight", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
    H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(f64); }),
            "load_state_dict: '" + f64 + "': dataset 'conv.weight': expected float32, int64, int8 or uint8 data, got float64");

  const std::string grouped = dir.file("grouped.h5");
  {
    H5File file = H5File::create(grouped, "test");
    H5Id g(H5Gcreate2(file.id(), "features", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(grouped); }),
            "load_state_dict: '" + grouped + "': expected only datasets at the root, got the group 'features'");

  const std::string badndim = dir.file("ndim.h5");
  {
    H5File file = H5File::create(badndim, "test");
    file.write_tensor("w", ones({2}));
    file.set_int_attr("w", "ndim", 0);
    file.close();
  }
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(badndim); }),
            "load_state_dict: '" + badndim + "': dataset 'w': expected ndim = 0 only on shape [1], got ndim = 0 on shape [2]");
}

TEST(StateDictFile, LoadAgainstAModelFollowsItsOrderAndChecksShapesAndDtypes) {
  TempDir dir;
  const std::string path = dir.file("sd.h5");
  const StateDict sd = sample_state_dict();
  save_state_dict(sd, path);
  StateDict like;  // the model's own order differs from the file's
  for (const char* key : {"classifier.weight", "bn.num_batches_tracked", "features.0.weight", "features.0.bias",
                          "q.weight", "q.mask"})
    like.insert(key, zeros_like(sd.at(key)));
  const StateDict back = load_state_dict(path, like);
  EXPECT_EQ(back.keys(), like.keys());
  EXPECT_EQ(back.at("bn.num_batches_tracked").item<std::int64_t>(), 17);
  EXPECT_TRUE(testing::tensors_identical(back.at("classifier.weight"), sd.at("classifier.weight")));

  StateDict partial;
  partial.insert("features.0.bias", zeros({4}));
  partial.insert("extra.weight", zeros({2}));
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path, partial); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got missing keys: extra.weight; unexpected "
                "keys: features.0.weight, bn.num_batches_tracked, q.weight, q.mask, classifier.weight");
  const StateDict loose = load_state_dict(path, partial, /*strict=*/false);
  EXPECT_EQ(loose.keys(), std::vector<std::string>{"features.0.bias"});

  StateDict wrong_shape;
  wrong_shape.insert("classifier.weight", zeros({10, 8}));
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path, wrong_shape, false); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got shape/dtype mismatch: classifier.weight "
                "(expected [10, 8] float32, got [10, 7] float32)");
  StateDict wrong_scalar;
  wrong_scalar.insert("bn.num_batches_tracked", zeros({1}, DType::Int64));
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path, wrong_scalar, false); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got shape/dtype mismatch: "
                "bn.num_batches_tracked (expected [1] int64, got [] int64)");
  StateDict wrong_dtype;
  wrong_dtype.insert("q.weight", zeros({2, 2}));
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path, wrong_dtype, false); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got shape/dtype mismatch: q.weight (expected "
                "[2, 2] float32, got [2, 2] int8)");
  StateDict only_missing;
  only_missing.insert("nope", zeros({1}));
  for (const auto& [k, t] : sd) only_missing.insert(k, t);
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path, only_missing); }),
            "load_state_dict: '" + path + "': expected the keys, shapes and dtypes of the model, got missing keys: nope");
  // Every problem at once, each list capped: a wrong file of many tensors stays readable.
  StateDict many;
  for (int i = 0; i < 47; ++i) many.insert("layer" + std::to_string(i) + ".weight", zeros({1}));
  many.insert("classifier.weight", zeros({10, 8}));
  EXPECT_EQ(error_of<IOError>([&] { load_state_dict(path, many); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got missing keys: layer0.weight, "
                "layer1.weight, layer2.weight, layer3.weight, layer4.weight, layer5.weight, layer6.weight, "
                "layer7.weight, layer8.weight, layer9.weight, ... and 37 more; unexpected keys: features.0.weight, "
                "features.0.bias, bn.num_batches_tracked, q.weight, q.mask; shape/dtype mismatch: "
                "classifier.weight (expected [10, 8] float32, got [10, 7] float32)");
}

TEST(StateDictFile, SaveRefusesBadKeysAndUndefinedTensors) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  StateDict slash;
  slash.insert("features/0.weight", ones({1}));
  EXPECT_EQ(error_of<ValueError>([&] { save_state_dict(slash, path); }),
            "save_state_dict: expected keys that are non-empty, not '.' and without '/', got 'features/0.weight'");
  StateDict undefined;
  undefined.insert("w", Tensor());
  EXPECT_EQ(error_of<ValueError>([&] { save_state_dict(undefined, path); }),
            "save_state_dict: expected a defined tensor for 'w', got an undefined Tensor");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(StateDictFile, AFailingSaveLeavesTheOldFileIntactAndNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("sd.h5");
  const StateDict old = sample_state_dict();
  save_state_dict(old, path);
  StateDict fresh;
  fresh.insert("w", ones({3}));
  // A failure inside HDF5 (no such directory) names the user's path, not the temporary name.
  const std::string nodir = dir.file("no/such/dir/sd.h5");
  EXPECT_THAT(error_of<IOError>([&] { save_state_dict(fresh, nodir); }),
              StartsWith("save_state_dict: '" + nodir + "': cannot be created"));
  // The rename fails after the data is written (a non-empty directory is in the way).
  const std::string blocked = dir.file("blocked");
  std::filesystem::create_directories(blocked + "/keep");
  EXPECT_THAT(error_of<IOError>([&] { save_state_dict(fresh, blocked); }),
              StartsWith("save_state_dict: '" + blocked + "': cannot replace the file: "));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"blocked", "sd.h5"}));
  expect_same(load_state_dict(path), old);
  // A successful save then replaces the old file.
  save_state_dict(fresh, path);
  expect_same(load_state_dict(path), fresh);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"blocked", "sd.h5"}));
}

TEST(MasksFile, RoundTripsAsUInt8Gzipped) {
  TempDir dir;
  const std::string path = dir.file("masks.h5");
  StateDict masks;
  masks.insert("conv1.weight", from_vector(std::vector<float>{1, 0, 0, 1, 1, 1}, {2, 3}));
  masks.insert("conv1.bias", from_vector(std::vector<std::uint8_t>{1, 0}, {2}));
  masks.insert("fc.weight", from_vector(std::vector<std::int64_t>{0, 1, 1, 0}, {4, 1}));
  save_masks(masks, path);
  const StateDict back = load_masks(path);
  ASSERT_EQ(back.keys(), masks.keys());
  for (const auto& [key, m] : masks) {
    EXPECT_EQ(back.at(key).dtype(), DType::UInt8) << key;
    EXPECT_EQ(back.at(key).shape(), m.shape()) << key;
    EXPECT_EQ(back.at(key).to_vector(), m.to_vector()) << key;
  }
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.string_attr("", "format"), "shrink.masks");
  EXPECT_EQ(file.int_attr("", "format_version"), 1);
  H5Id dset(H5Dopen2(file.id(), "conv1.weight", H5P_DEFAULT), H5Dclose);
  H5Id dcpl(H5Dget_create_plist(dset.get()), H5Pclose);
  ASSERT_EQ(H5Pget_nfilters(dcpl.get()), 1);
  unsigned flags = 0;
  size_t nelmts = 0;
  EXPECT_EQ(H5Pget_filter2(dcpl.get(), 0, &flags, &nelmts, nullptr, 0, nullptr, nullptr), H5Z_FILTER_DEFLATE);
}

TEST(MasksFile, SaveRefusesValuesOtherThanZeroAndOne) {
  TempDir dir;
  StateDict masks;
  masks.insert("conv1.weight", from_vector(std::vector<float>{1, 0, 0.5f}, {3}));
  EXPECT_EQ(error_of<ValueError>([&] { save_masks(masks, dir.file("m.h5")); }),
            "save_masks: mask 'conv1.weight': expected values 0 or 1, got 0.5 at flat index 2");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(MasksFile, ReadErrorsNameTheFileKeyExpectedAndFound) {
  TempDir dir;
  StateDict bad_values;
  bad_values.insert("ok", from_vector(std::vector<std::uint8_t>{0, 1}, {2}));
  bad_values.insert("conv1.weight", from_vector(std::vector<std::uint8_t>{1, 0, 1, 0, 1, 2}, {2, 3}));
  const std::string values = dir.file("values.h5");
  write_custom(values, "shrink.masks", 1, bad_values);
  EXPECT_EQ(error_of<IOError>([&] { load_masks(values); }),
            "load_masks: '" + values + "': mask 'conv1.weight': expected values 0 or 1, got 2 at flat index 5");

  StateDict floats;
  floats.insert("fc.weight", ones({2}));
  const std::string wrong_dtype = dir.file("floats.h5");
  write_custom(wrong_dtype, "shrink.masks", 1, floats);
  EXPECT_EQ(error_of<IOError>([&] { load_masks(wrong_dtype); }),
            "load_masks: '" + wrong_dtype + "': mask 'fc.weight': expected uint8 data, got float32");

  const std::string sd = dir.file("sd.h5");
  save_state_dict(floats, sd);
  EXPECT_EQ(error_of<IOError>([&] { load_masks(sd); }),
            "load_masks: '" + sd +
                "': expected format 'shrink.masks', got 'shrink.state_dict' (Hint: this is a weights file; read it "
                "with nn::load_weights or io::load_state_dict)");
  const std::string v3 = dir.file("v3.h5");
  write_custom(v3, "shrink.masks", 3, StateDict{});
  EXPECT_EQ(error_of<IOError>([&] { load_masks(v3); }),
            "load_masks: '" + v3 +
                "': unsupported format_version 3 (this Shrink reads version 1; Hint: a newer Shrink wrote it, upgrade to "
                "read it)");
  EXPECT_EQ(error_of<IOError>([&] { load_masks(dir.file("none.h5")); }), "load_masks: '" + dir.file("none.h5") + "': no such file");
}

}  // namespace
}  // namespace shrink::io
