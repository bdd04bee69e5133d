// RunRecord: run.json written and read back, every field checked with its JSON path.
#include "pipeline/run_record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::pipeline {
namespace {

using nlohmann::json;
using testing::expect_message;
using testing::TempDir;

RunRecord sample_record() {
  RunRecord r;
  r.pipeline = "demo.json";
  r.model = "naive";
  r.baseline_accuracy = 0.1;
  r.baseline_params = 1000;
  r.baseline_macs = 20000;
  StageRecord train;
  train.name = "dense";
  train.type = "train";
  train.end_epoch = 2;
  train.done = true;
  train.accuracy = 0.875;
  train.params = 1000;
  train.macs = 20000;
  train.latency_ms = 0.25;
  train.seconds = 12.5;
  train.epochs = {{0, 0.75, 0.7, 0.8, 5000, 0.05}, {1, 0.5, 0.8, 0.875, 5100, 0.025}};
  train.layers = {{"features.0", "Conv2d", 160, 0.5, 125440}};
  train.files = {"dense.ckpt.h5"};
  train.notes = {"a note"};
  StageRecord sens;
  sens.name = "sensitivity";
  sens.type = "sensitivity";
  sens.start_epoch = sens.end_epoch = 2;
  sens.sensitivity = SensitivityRecord{0.875, {0.25, 0.5}, {{"features.0", {0.86, 0.8}}}};
  r.stages = {train, sens};
  return r;
}

/// from_json's message for `record` with `edit` applied to its JSON.
template <typename Edit>
void expect_record_error(Edit edit, const std::string& message) {
  json j = sample_record().to_json();
  edit(j);
  expect_message<ValueError>([&] { RunRecord::from_json(j, "run.json"); }, message.c_str());
}

TEST(RunRecord, ToJsonAndBackGivesTheSameRecord) {
  const RunRecord r = sample_record();
  const RunRecord back = RunRecord::from_json(r.to_json());
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.stages[0].epochs[1].test_accuracy, 0.875);
  EXPECT_EQ(back.stages[0].layers[0].macs, 125440);
  ASSERT_TRUE(back.stages[1].sensitivity.has_value());
  EXPECT_EQ(back.stages[1].sensitivity->accuracy.at("features.0"), (std::vector<double>{0.86, 0.8}));
  EXPECT_FALSE(back.stages[1].accuracy.has_value());
  EXPECT_FALSE(back.stages[1].latency_ms.has_value());
}

TEST(RunRecord, AbsentValuesAreWrittenAsNull) {
  const json j = sample_record().to_json();
  EXPECT_TRUE(j["stages"][1]["accuracy"].is_null());
  EXPECT_TRUE(j["stages"][1]["latency_ms"].is_null());
  EXPECT_TRUE(j["stages"][0]["sensitivity"].is_null());
}

TEST(RunRecord, ADivergedLossSurvivesTheRoundTripAsNaN) {
  RunRecord r = sample_record();
  r.stages[0].epochs[0].train_loss = std::nan("");
  const json j = r.to_json();
  EXPECT_TRUE(j["stages"][0]["epochs"][0]["train_loss"].is_null());
  EXPECT_TRUE(std::isnan(RunRecord::from_json(j).stages[0].epochs[0].train_loss));
}

TEST(RunRecord, OptionalKeysTakeTheirDefaults) {
  const RunRecord r = RunRecord::from_json(
      json::parse(R"({"pipeline": "p", "model": "m", "stages": [{"name": "s", "type": "export"}]})"));
  EXPECT_FALSE(r.baseline_accuracy.has_value());
  EXPECT_EQ(r.stages[0].params, 0);
  EXPECT_FALSE(r.stages[0].done);
  EXPECT_TRUE(r.stages[0].epochs.empty());
}

TEST(RunRecord, SaveAndLoadGiveTheSameRecord) {
  TempDir dir;
  const std::string path = dir.file("run.json");
  sample_record().save(path);
  EXPECT_EQ(RunRecord::load(path).to_json(), sample_record().to_json());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"run.json"});  // no temporary left
}

TEST(RunRecord, AnUnknownKeyIsNamed) {
  expect_record_error([](json& j) { j["stages"][0]["acuracy"] = 0.5; },
                      "run.json: stages[0].acuracy: expected a key among name, type, start_epoch, end_epoch, done, "
                      "accuracy, params, macs, file_bytes, latency_ms, seconds, epochs, layers, sensitivity, files, "
                      "notes, got an unknown key (Hint: did you mean \"accuracy\"?)");
}

TEST(RunRecord, RequiredKeysAreNamed) {
  expect_record_error([](json& j) { j.erase("stages"); },
                      "run.json: expected a key 'stages' (the stages run so far), got none");
  expect_record_error([](json& j) { j["stages"][0].erase("type"); },
                      "run.json: stages[0]: expected a key 'type' (the stage's type), got none");
  expect_record_error([](json& j) { j["stages"][0]["epochs"][0].erase("epoch"); },
                      "run.json: stages[0].epochs[0]: expected a key 'epoch' (the epoch on the timeline), got none");
}

TEST(RunRecord, AccuraciesLieInZeroOne) {
  expect_record_error([](json& j) { j["stages"][0]["accuracy"] = 87.5; },
                      "run.json: stages[0].accuracy: expected a number in [0, 1], got 87.5");
  expect_record_error([](json& j) { j["stages"][0]["epochs"][1]["test_accuracy"] = -0.1; },
                      "run.json: stages[0].epochs[1].test_accuracy: expected a number in [0, 1], got -0.1");
  expect_record_error([](json& j) { j["baseline_accuracy"] = "high"; },
                      "run.json: baseline_accuracy: expected a number in [0, 1], got \"high\" (a string)");
}

TEST(RunRecord, CountsAreNonNegativeIntegers) {
  expect_record_error([](json& j) { j["stages"][0]["params"] = -1; },
                      "run.json: stages[0].params: expected an integer >= 0, got -1");
  expect_record_error([](json& j) { j["stages"][0]["layers"][0]["macs"] = 1.5; },
                      "run.json: stages[0].layers[0].macs: expected an integer >= 0, got 1.5");
}

TEST(RunRecord, AStageEndsNoEarlierThanItStarts) {
  expect_record_error([](json& j) { j["stages"][0]["start_epoch"] = 3; },
                      "run.json: stages[0].end_epoch: expected an integer >= start_epoch (3), got 2");
}

TEST(RunRecord, AStageTypeMustBeKnown) {
  expect_record_error([](json& j) { j["stages"][0]["type"] = "finetune"; },
                      "run.json: stages[0].type: expected one of train, prune, quantize, distill, speedup, export, "
                      "sensitivity, got \"finetune\"");
}

TEST(RunRecord, SensitivityCurvesHaveOneAccuracyPerRatio) {
  expect_record_error([](json& j) { j["stages"][1]["sensitivity"]["accuracy"]["features.0"] = {0.5}; },
                      "run.json: stages[1].sensitivity.accuracy[\"features.0\"]: expected a list of accuracies, one per "
                      "ratio with exactly 2 entries, got 1");
  expect_record_error([](json& j) { j["stages"][1]["sensitivity"]["accuracy"] = json::array(); },
                      "run.json: stages[1].sensitivity.accuracy: expected an object {layer: [accuracy at each ratio]}, "
                      "got [] (a list)");
}

TEST(RunRecord, ListsOfStringsHoldStrings) {
  expect_record_error([](json& j) { j["stages"][0]["files"] = {1}; },
                      "run.json: stages[0].files[0]: expected a non-empty string, got 1");
}

TEST(RunRecord, ARecordThatIsNotAnObjectIsRefused) {
  expect_message<ValueError>([] { RunRecord::from_json(json::array()); },
                             "run record: expected a run record object {\"pipeline\": ..., \"stages\": [...]}, got [] "
                             "(a list)");
}

TEST(RunRecord, LoadNamesTheFile) {
  TempDir dir;
  const std::string path = dir.write_bytes("run.json", R"({"pipeline": "p", "model": "m", "stages": [{"name": 1}]})");
  expect_message<ValueError>([&] { RunRecord::load(path); },
                             (path + ": stages[0].name: expected a non-empty string, got 1").c_str());
}

TEST(RunRecord, LoadingMalformedJsonGivesLineAndColumn) {
  TempDir dir;
  const std::string path = dir.write_bytes("run.json", "{\"pipeline\": \"p\",\n \"model\" \"m\"}");
  expect_message<ValueError>([&] { RunRecord::load(path); },
                             (path + ": malformed JSON at line 2, column 12: syntax error while parsing object "
                                     "separator - unexpected string literal; expected ':'")
                                 .c_str());
}

TEST(RunRecord, LoadingAMissingFileIsAnIOError) {
  TempDir dir;
  const std::string path = dir.file("none.json");
  expect_message<IOError>([&] { RunRecord::load(path); }, (path + ": cannot open the run record for reading").c_str());
}

}  // namespace
}  // namespace shrink::pipeline
