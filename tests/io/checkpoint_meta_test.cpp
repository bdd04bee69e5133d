// The checkpoint `meta` JSON from hostile files: every field type- and range-checked, nesting
// capped before parsing, and nothing but IOError naming the file and the field escapes.
#include "io/checkpoint_meta.h"

#include <gtest/gtest.h>

#include "io/hdf5_file.h"
#include "io/shrink_file.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::io {
namespace {

using testing::error_of;
using testing::TempDir;

/// The message of parse_checkpoint_meta on `text`, without the "P: " prefix.
std::string meta_error(const std::string& text) {
  Checkpoint c;
  const std::string msg = error_of<IOError>([&] { parse_checkpoint_meta(text, "P: ", c); });
  return msg.rfind("P: ", 0) == 0 ? msg.substr(3) : "<no prefix> " + msg;
}

TEST(CheckpointMeta, ADocumentNestedAMillionLevelsDeepIsRefusedBeforeParsing) {
  TempDir dir;
  const std::string path = dir.file("deep.h5");
  {
    H5File file = H5File::create(path, "test");
    write_header(file, kCheckpointFormat);
    file.set_string_attr("", "meta", R"({"epoch": 0, "extra": )" + std::string(1000000, '[') +
                                         std::string(1000000, ']') + "}");
    file.close();
  }
  EXPECT_EQ(error_of<IOError>([&] { load_checkpoint(path); }),
            "load_checkpoint: '" + path + "': attribute 'meta': expected JSON nested at most 64 levels deep, got more");
}

TEST(CheckpointMeta, NumbersBeyondDoubleRangeAreIOErrors) {
  const std::string msg = meta_error(R"({"epoch": 1e400})");
  EXPECT_EQ(msg.rfind("expected JSON, got a parse error (", 0), 0u) << msg;
  EXPECT_NE(msg.find("number overflow parsing '1e400'"), std::string::npos) << msg;
}

TEST(CheckpointMeta, IntegersAreRangeChecked) {
  EXPECT_EQ(meta_error(R"({"epoch": -1})"), "expected 'epoch' to be an integer >= 0, got -1");
  EXPECT_EQ(meta_error(R"({"epoch": 18446744073709551615})"),
            "expected 'epoch' to be an integer >= 0, got 18446744073709551615");
  EXPECT_EQ(meta_error(R"({"epoch": 1, "scheduler": {"last_epoch": -2}})"),
            "expected 'scheduler.last_epoch' to be an integer >= 0, got -2");
  Checkpoint c;
  parse_checkpoint_meta(R"({"epoch": 9223372036854775807, "scheduler": {"last_epoch": 0}})", "P: ", c);
  EXPECT_EQ(c.epoch, INT64_MAX);
  EXPECT_EQ(c.scheduler_last_epoch, 0);
}

TEST(CheckpointMeta, OptimizerGroupsAreChecked) {
  EXPECT_EQ(meta_error(R"({"epoch": 1, "optimizer": {"groups": [{"params": ["w"], "lr": -0.1}]}})"),
            "expected 'optimizer.groups[0].lr' to be a finite number >= 0, got -0.1");
  EXPECT_EQ(meta_error(R"({"epoch": 1, "optimizer": {"groups": [{"params": ["w"], "lr": "fast"}]}})"),
            "expected 'optimizer.groups[0].lr' to be a finite number >= 0, got string");
  EXPECT_EQ(meta_error(R"({"epoch": 1, "optimizer": {"groups": [{"lr": 0.1}]}})"),
            "expected 'optimizer.groups[0].params' to be an array of parameter names, got null");
  EXPECT_EQ(meta_error(R"({"epoch": 1, "optimizer": {"groups": [{"params": [3]}]}})"),
            "expected 'optimizer.groups[0].params' to be an array of parameter names, got a number");
  EXPECT_EQ(meta_error(R"({"epoch": 1, "optimizer": {"groups": [7]}})"),
            "expected 'optimizer.groups[0]' to be an object, got number");
}

TEST(CheckpointMeta, UnknownTopLevelFieldsAreRefused) {
  EXPECT_EQ(meta_error(R"({"epoch": 1, "epohc": 2})"),
            "expected only the fields epoch, optimizer, scheduler, rng, compressor, extra, got 'epohc'");
}

TEST(CheckpointMeta, NestingDepthIgnoresBracketsInStrings) {
  EXPECT_EQ(json_nesting_depth(R"({"a": [[1], {"b": "[[[[\"{{"}]})", 64), 3u);
  EXPECT_EQ(json_nesting_depth("1", 64), 0u);
  EXPECT_EQ(json_nesting_depth(std::string(100, '['), 10), 11u);  // stops counting past the limit
}

TEST(CheckpointMeta, RoundTripsThroughTheWriter) {
  Checkpoint c;
  c.epoch = 3;
  c.scheduler_last_epoch = 2;
  c.optimizer_groups = nlohmann::json::array({{{"params", {"w"}}, {"lr", 0.5}}});
  c.rng["generator"] = "1 2 3";
  c.extra = {{"best", 0.75}};
  Checkpoint back;
  parse_checkpoint_meta(checkpoint_meta(c).dump(), "P: ", back);
  EXPECT_EQ(back.epoch, 3);
  EXPECT_EQ(back.scheduler_last_epoch, 2);
  EXPECT_EQ(back.optimizer_groups, c.optimizer_groups);
  EXPECT_EQ(back.rng, c.rng);
  EXPECT_EQ(back.extra, c.extra);
  EXPECT_TRUE(back.compressor.is_null());
}

TEST(CheckpointMeta, SaveRefusesWhatTheReaderWouldRefuse) {
  TempDir dir;
  Checkpoint negative;
  negative.epoch = -1;
  EXPECT_EQ(error_of<ValueError>([&] { save_checkpoint(negative, dir.file("n.h5")); }),
            "save_checkpoint: expected an epoch >= 0, got -1");
  Checkpoint deep;
  deep.extra = nlohmann::json::parse(std::string(70, '[') + std::string(70, ']'));
  EXPECT_EQ(error_of<ValueError>([&] { save_checkpoint(deep, dir.file("d.h5")); }),
            "save_checkpoint: expected compressor and extra JSON nested at most 63 levels deep, got deeper (the "
            "reader would refuse it)");
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace shrink::io
