// io/checkpoint.h: the checkpoint file format (round trip of every part, the documented layout,
// atomic writes, and the validating reader's errors). Named checkpoint_file_test because
// tests/nn/checkpoint_test.cpp tests nn/checkpoint.h and test executables are named by file.
#include <gtest/gtest.h>

#include <filesystem>

#include "autograd/generator.h"
#include "io/checkpoint.h"
#include "io/hdf5_file.h"
#include "io/state_dict_file.h"
#include "tests/support/errors.h"
#include "tests/io/temp_dir.h"
#include "tests/support/fixtures.h"

namespace shrink::io {
namespace {

using testing::TempDir;

using testing::error_of;

Tensor int64_scalar(std::int64_t v) { return from_vector(std::vector<std::int64_t>{v}, {}).view_as_shape({}); }

Checkpoint sample_checkpoint() {
  Generator gen(3);
  Checkpoint c;
  c.model.insert("features.0.weight", randn({4, 1, 3, 3}, &gen));
  c.model.insert("features.1.num_batches_tracked", int64_scalar(42));
  c.model.insert("fc1.weight", randn({5, 6}, &gen));
  c.optimizer.insert("fc1.weight.momentum_buffer", randn({5, 6}, &gen));
  c.optimizer.insert("fc1.weight.step", int64_scalar(7));
  // 0.1 and 1/3 are not exact binary fractions: the JSON must still restore the same doubles.
  c.optimizer_groups = nlohmann::json::array(
      {{{"lr", 0.1}, {"momentum", 0.9}, {"weight_decay", 1.0 / 3.0}, {"params", {"features.0.weight", "fc1.weight"}}}});
  c.scheduler_last_epoch = 5;
  c.epoch = 6;
  gen.uniform();
  c.rng["generator"] = gen.state();
  c.compressor = {{"algorithm", "level"}, {"sparsity", 0.5}, {"schedule_position", 3}};
  c.compressor_tensors.insert("conv1.weight", from_vector(std::vector<std::uint8_t>{0, 1, 1, 0}, {2, 2}));
  c.compressor_tensors.insert("fc1.scale", from_vector(std::vector<float>{0.25f}, {1}));
  c.extra = {{"best_accuracy", 0.9125}};
  return c;
}

void expect_same(const StateDict& got, const StateDict& expected) {
  ASSERT_EQ(got.keys(), expected.keys());
  for (const auto& [key, t] : expected) {
    EXPECT_EQ(got.at(key).dtype(), t.dtype()) << key;
    EXPECT_EQ(got.at(key).shape(), t.shape()) << key;
    EXPECT_EQ(got.at(key).to_vector(), t.to_vector()) << key;
  }
}

/// A file with the checkpoint's root attributes (each optional) and the given datasets.
void write_custom(const std::string& path, const std::optional<std::string>& format,
                  const std::optional<std::int64_t>& version, const std::optional<std::string>& meta,
                  const StateDict& entries = {}) {
  std::filesystem::remove(path);  // H5File::create never replaces a file
  H5File file = H5File::create(path, "test");
  if (format) file.set_string_attr("", "format", *format);
  if (version) file.set_int_attr("", "format_version", *version);
  if (meta) file.set_string_attr("", "meta", *meta);
  for (const auto& [k, t] : entries) file.write_tensor(k, t);
  file.close();
}

TEST(CheckpointFile, RoundTripsEveryPartExactly) {
  TempDir dir;
  const std::string path = dir.file("run.ckpt.h5");
  const Checkpoint c = sample_checkpoint();
  save_checkpoint(c, path);
  const Checkpoint back = load_checkpoint(path);
  expect_same(back.model, c.model);
  expect_same(back.optimizer, c.optimizer);
  expect_same(back.compressor_tensors, c.compressor_tensors);
  EXPECT_EQ(back.model.at("features.1.num_batches_tracked").dim(), 0);
  EXPECT_EQ(back.optimizer.at("fc1.weight.step").dim(), 0);
  EXPECT_TRUE(testing::tensors_identical(back.model.at("fc1.weight"), c.model.at("fc1.weight")));
  ASSERT_TRUE(back.optimizer_groups.has_value());
  EXPECT_EQ(*back.optimizer_groups, *c.optimizer_groups);
  EXPECT_EQ((*back.optimizer_groups)[0]["weight_decay"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(back.scheduler_last_epoch, 5);
  EXPECT_EQ(back.epoch, 6);
  EXPECT_EQ(back.rng, c.rng);
  EXPECT_EQ(back.compressor, c.compressor);
  EXPECT_EQ(back.extra, c.extra);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"run.ckpt.h5"});
}

TEST(CheckpointFile, WritesTheDocumentedLayout) {
  TempDir dir;
  const std::string path = dir.file("run.ckpt.h5");
  save_checkpoint(sample_checkpoint(), path);
  H5File file = H5File::open_read(path, "test");
  EXPECT_EQ(file.string_attr("", "format"), "shrink.checkpoint");
  EXPECT_EQ(file.int_attr("", "format_version"), 1);
  EXPECT_EQ(file.string_attr("", "producer"), "shrink 0.1.0");
  EXPECT_EQ(file.names(),
            (std::vector<std::string>{"model:features.0.weight", "model:features.1.num_batches_tracked",
                                      "model:fc1.weight", "optimizer:fc1.weight.momentum_buffer",
                                      "optimizer:fc1.weight.step", "compressor:conv1.weight", "compressor:fc1.scale"}));
  // 0-d tensors as in state_dict files: shape [1] plus ndim = 0.
  EXPECT_EQ(file.dataset_info("optimizer:fc1.weight.step").shape, Shape{1});
  EXPECT_EQ(file.int_attr("optimizer:fc1.weight.step", "ndim"), 0);
  EXPECT_EQ(file.dataset_info("model:features.1.num_batches_tracked").dtype, DType::Int64);
  const auto meta = nlohmann::json::parse(*file.string_attr("", "meta"));
  EXPECT_EQ(meta["epoch"], 6);
  EXPECT_EQ(meta["scheduler"]["last_epoch"], 5);
  EXPECT_EQ(meta["optimizer"]["groups"][0]["lr"], 0.1);
  EXPECT_TRUE(meta["rng"]["generator"].is_string());
  EXPECT_EQ(meta["compressor"]["algorithm"], "level");
  EXPECT_EQ(meta["extra"]["best_accuracy"], 0.9125);
}

TEST(CheckpointFile, OptionalPartsStayAbsent) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  Checkpoint c;
  c.model.insert("w", ones({2}));
  c.epoch = 1;
  save_checkpoint(c, path);
  const Checkpoint back = load_checkpoint(path);
  expect_same(back.model, c.model);
  EXPECT_TRUE(back.optimizer.empty());
  EXPECT_FALSE(back.optimizer_groups.has_value());
  EXPECT_FALSE(back.scheduler_last_epoch.has_value());
  EXPECT_TRUE(back.rng.empty());
  EXPECT_TRUE(back.compressor.is_null());
  EXPECT_TRUE(back.compressor_tensors.empty());
  EXPECT_TRUE(back.extra.is_null());
  EXPECT_EQ(back.epoch, 1);
}

TEST(CheckpointFile, KeysMayContainTheSeparator) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  Checkpoint c;
  c.model.insert("a:b", ones({1}));
  c.compressor_tensors.insert("model:x", zeros({1}));
  save_checkpoint(c, path);
  const Checkpoint back = load_checkpoint(path);
  EXPECT_EQ(back.model.keys(), std::vector<std::string>{"a:b"});
  EXPECT_EQ(back.compressor_tensors.keys(), std::vector<std::string>{"model:x"});
}

TEST(CheckpointFile, SaveRefusesBadKeysTensorsAndGroups) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  Checkpoint slash;
  slash.model.insert("features/0.weight", ones({1}));
  EXPECT_EQ(
      error_of<ValueError>([&] { save_checkpoint(slash, path); }),
      "save_checkpoint: model: expected keys that are non-empty, not '.' and without '/', got 'features/0.weight'");
  Checkpoint undefined;
  undefined.compressor_tensors.insert("mask", Tensor());
  EXPECT_EQ(error_of<ValueError>([&] { save_checkpoint(undefined, path); }),
            "save_checkpoint: compressor: expected a defined tensor for 'mask', got an undefined Tensor");
  Checkpoint no_groups;
  no_groups.optimizer.insert("w.momentum_buffer", ones({1}));
  EXPECT_EQ(error_of<ValueError>([&] { save_checkpoint(no_groups, path); }),
            "save_checkpoint: expected optimizer_groups with the optimizer's 1 tensors, got none (Hint: fill both "
            "from optim::Optimizer::state_dict())");
  Checkpoint object_groups;
  object_groups.optimizer_groups = nlohmann::json::object();
  EXPECT_EQ(error_of<ValueError>([&] { save_checkpoint(object_groups, path); }),
            "save_checkpoint: expected optimizer_groups to be a JSON array, got object");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(CheckpointFile, AFailingSaveLeavesTheOldCheckpointIntact) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  const Checkpoint c = sample_checkpoint();
  save_checkpoint(c, path);
  // A directory where the file should go makes the final rename fail after the data is written.
  const std::string blocked = dir.file("blocked");
  std::filesystem::create_directory(blocked);
  std::filesystem::create_directory(blocked + "/keep");
  EXPECT_NE(error_of<IOError>([&] { save_checkpoint(c, blocked); }).find("save_checkpoint: '" + blocked + "': cannot replace"),
            std::string::npos);
  Checkpoint bad = sample_checkpoint();
  bad.model.insert("x/y", ones({1}));
  EXPECT_THROW(save_checkpoint(bad, path), ValueError);
  expect_same(load_checkpoint(path).model, c.model);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"blocked", "c.h5"}));
}

TEST(CheckpointFile, RefusesFilesOfOtherFormatsAndVersions) {
  TempDir dir;
  const std::string sd = dir.file("sd.h5");
  save_state_dict(StateDict(), sd);
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(sd); }),
            "load_checkpoint: '" + sd +
                "': expected format 'shrink.checkpoint', got 'shrink.state_dict' (Hint: this "
                "is a weights file; read it with nn::load_weights or io::load_state_dict)");
  const std::string plain = dir.file("plain.h5");
  write_custom(plain, std::nullopt, std::nullopt, std::nullopt, [] {
    StateDict s;
    s.insert("fc.weight", ones({1}));
    return s;
  }());
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(plain); }),
            "load_checkpoint: '" + plain +
                "': expected format 'shrink.checkpoint', got none (Hint: this looks like a "
                "weights file; read it with nn::load_weights or io::load_state_dict)");
  const std::string masks = dir.file("masks.h5");
  save_masks(StateDict(), masks);
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(masks); }),
            "load_checkpoint: '" + masks +
                "': expected format 'shrink.checkpoint', got 'shrink.masks' (Hint: this is a masks file; read it with "
                "io::load_masks)");
  const std::string v2 = dir.file("v2.h5");
  write_custom(v2, "shrink.checkpoint", 2, R"({"epoch": 0})");
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(v2); }),
            "load_checkpoint: '" + v2 +
                "': unsupported format_version 2 (this Shrink reads version 1; Hint: a newer "
                "Shrink wrote it, upgrade to read it)");
  const std::string noversion = dir.file("nov.h5");
  write_custom(noversion, "shrink.checkpoint", std::nullopt, R"({"epoch": 0})");
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(noversion); }),
            "load_checkpoint: '" + noversion + "': expected an attribute 'format_version', got none");
  const std::string missing = dir.file("missing.h5");
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(missing); }), "load_checkpoint: '" + missing + "': no such file");
}

TEST(CheckpointFile, RefusesMissingOrMalformedMeta) {
  TempDir dir;
  auto error_with_meta = [&](const std::optional<std::string>& meta) {
    const std::string path = dir.file("m.h5");
    write_custom(path, "shrink.checkpoint", 1, meta);
    std::string msg = error_of<IOError>([&] { load_checkpoint(path); });
    const std::string prefix = "load_checkpoint: '" + path + "': ";
    return msg.rfind(prefix, 0) == 0 ? msg.substr(prefix.size()) : "<no file prefix> " + msg;
  };
  EXPECT_EQ(error_with_meta(std::nullopt), "expected an attribute 'meta', got none");
  // The parser's own description follows (its wording belongs to nlohmann::json).
  const std::string parse = error_with_meta(R"({"epoch": )");
  const std::string parse_prefix = "attribute 'meta': expected JSON, got a parse error (";
  EXPECT_EQ(parse.substr(0, parse_prefix.size()), parse_prefix);
  EXPECT_NE(parse.find("unexpected end of input"), std::string::npos) << parse;
  EXPECT_EQ(error_with_meta("[1, 2]"), "attribute 'meta': expected the meta to be an object, got array");
  EXPECT_EQ(error_with_meta("{}"), "attribute 'meta': expected 'epoch' to be an integer, got null");
  EXPECT_EQ(error_with_meta(R"({"epoch": 1.5})"), "attribute 'meta': expected 'epoch' to be an integer, got number");
  EXPECT_EQ(error_with_meta(R"({"epoch": 1, "optimizer": {"groups": 3}})"),
            "attribute 'meta': expected 'optimizer' to be null or an object with an array 'groups', got number");
  EXPECT_EQ(error_with_meta(R"({"epoch": 1, "scheduler": 4})"),
            "attribute 'meta': expected 'scheduler' to be null or an object with an integer 'last_epoch', got number");
  EXPECT_EQ(error_with_meta(R"({"epoch": 1, "rng": {"generator": 5}})"),
            "attribute 'meta': expected 'rng.generator' to be a string, got number");
}

TEST(CheckpointFile, RefusesUnknownPrefixesGroupsAndBadDatasets) {
  TempDir dir;
  auto error_with = [&](const StateDict& entries, const std::string& meta = R"({"epoch": 0})") {
    const std::string path = dir.file("d.h5");
    write_custom(path, "shrink.checkpoint", 1, meta, entries);
    std::string msg = error_of<IOError>([&] { load_checkpoint(path); });
    const std::string prefix = "load_checkpoint: '" + path + "': ";
    return msg.rfind(prefix, 0) == 0 ? msg.substr(prefix.size()) : "<no file prefix> " + msg;
  };
  StateDict unknown;
  unknown.insert("weights:fc.weight", ones({1}));
  EXPECT_EQ(error_with(unknown),
            "dataset 'weights:fc.weight': expected a name starting with 'model:', 'optimizer:' or 'compressor:' "
            "followed by a key, got 'weights:'");
  StateDict bare;
  bare.insert("fc.weight", ones({1}));
  EXPECT_EQ(error_with(bare),
            "dataset 'fc.weight': expected a name starting with 'model:', 'optimizer:' or 'compressor:' followed by a "
            "key, got no prefix");
  StateDict empty_key;
  empty_key.insert("model:", ones({1}));
  EXPECT_EQ(error_with(empty_key),
            "dataset 'model:': expected a name starting with 'model:', 'optimizer:' or 'compressor:' followed by a "
            "key, got 'model:'");
  StateDict orphan;
  orphan.insert("optimizer:fc.weight.momentum_buffer", ones({1}));
  EXPECT_EQ(error_with(orphan),
            "dataset 'optimizer:fc.weight.momentum_buffer': expected no optimizer tensors in a checkpoint without "
            "optimizer groups (meta 'optimizer' is null)");

  const std::string grouped = dir.file("grouped.h5");
  {
    H5File file = H5File::create(grouped, "test");
    file.set_string_attr("", "format", "shrink.checkpoint");
    file.set_int_attr("", "format_version", 1);
    file.set_string_attr("", "meta", R"({"epoch": 0})");
    H5Id g(H5Gcreate2(file.id(), "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(grouped); }),
            "load_checkpoint: '" + grouped + "': expected only datasets at the root, got the group 'model'");

  const std::string f64 = dir.file("f64.h5");
  {
    H5File file = H5File::create(f64, "test");
    file.set_string_attr("", "format", "shrink.checkpoint");
    file.set_int_attr("", "format_version", 1);
    file.set_string_attr("", "meta", R"({"epoch": 0})");
    const hsize_t n = 2;
    const double data[2] = {1, 2};
    H5Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    H5Id d(H5Dcreate2(file.id(), "model:fc.weight", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
    H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  }
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(f64); }),
            "load_checkpoint: '" + f64 +
                "': dataset 'model:fc.weight': expected float32, int64, int8 or uint8 data, "
                "got float64");

  const std::string badndim = dir.file("ndim.h5");
  {
    H5File file = H5File::create(badndim, "test");
    file.set_string_attr("", "format", "shrink.checkpoint");
    file.set_int_attr("", "format_version", 1);
    file.set_string_attr("", "meta", R"({"epoch": 0})");
    file.write_tensor("model:w", ones({2}));
    file.set_int_attr("model:w", "ndim", 0);
    file.close();
  }
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(badndim); }),
            "load_checkpoint: '" + badndim +
                "': dataset 'model:w': expected ndim = 0 only on shape [1], got ndim = 0 "
                "on shape [2]");
}

}  // namespace
}  // namespace shrink::io
