// RunRecord: run.json written and read back, every field checked with its JSON path.
#include "pipeline/run_record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/report_records.h"
#include "tests/support/errors.h"

namespace shrink::pipeline {
namespace {

using nlohmann::json;
using shrink::testing::expect_message;
using shrink::testing::TempDir;
using testing::sample_run;

/// from_json's message for `record` with `edit` applied to its JSON.
template <typename Edit>
void expect_record_error(Edit edit, const std::string& message) {
  json j = sample_run().to_json();
  edit(j);
  expect_message<ValueError>([&] { RunRecord::from_json(j, "run.json"); }, message.c_str());
}

TEST(RunRecord, ToJsonAndBackGivesTheSameRecord) {
  const RunRecord r = sample_run();
  const RunRecord back = RunRecord::from_json(r.to_json());
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.stages[0].epochs[1].test_accuracy, 0.8812);
  EXPECT_EQ(back.stages[0].layers[1].name, testing::kHostileLayer);
  ASSERT_TRUE(back.stages[1].sensitivity.has_value());
  EXPECT_EQ(back.stages[1].sensitivity->accuracy.at("fc1"), (std::vector<double>{0.88, 0.86, 0.80}));
  EXPECT_FALSE(back.stages[3].accuracy.has_value());
  EXPECT_EQ(back.stages[3].latency_ms, 0.0321);
  EXPECT_EQ(RunRecord::from_json(testing::empty_run().to_json()).to_json(), testing::empty_run().to_json());
}

TEST(RunRecord, AbsentValuesAreWrittenAsNull) {
  const json j = sample_run().to_json();
  EXPECT_TRUE(j["stages"][3]["accuracy"].is_null());
  EXPECT_TRUE(j["stages"][1]["latency_ms"].is_null());
  EXPECT_TRUE(j["stages"][0]["sensitivity"].is_null());
}

TEST(RunRecord, ADivergedLossSurvivesTheRoundTripAsNaN) {
  RunRecord r = sample_run();
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
  sample_run().save(path);
  EXPECT_EQ(RunRecord::load(path).to_json(), sample_run().to_json());
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
  expect_record_error([](json& j) { j["stages"][1]["sensitivity"]["accuracy"]["fc1"] = {0.5}; },
                      "run.json: stages[1].sensitivity.accuracy.fc1: expected a list of accuracies, one per ratio with "
                      "exactly 3 entries, got 1");
  expect_record_error([](json& j) { j["stages"][1]["sensitivity"]["accuracy"]["a.b"] = {0.5, 0.5, 2}; },
                      "run.json: stages[1].sensitivity.accuracy[\"a.b\"][2]: expected a number in [0, 1], got 2");
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
