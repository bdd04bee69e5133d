// pipeline/runner.cpp on a slice of Fashion-MNIST: the stages run as the examples drive them,
// the record is filled, the export stage writes its files, a run stopped after any epoch resumes
// to bitwise the same weights and accuracies, and bad input leaves nothing behind.
#include "pipeline/runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "autograd/error.h"
#include "speedup/model_file.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/run_testing.h"
#include "tests/support/errors.h"

namespace shrink::pipeline {
namespace {

using testing::accuracies;
using testing::expect_same_weights;
using testing::quiet;
using testing::TempDir;

StageSpec stage(StageType type, std::string name, std::int64_t epochs = 0) {
  StageSpec s;
  s.type = type;
  s.name = std::move(name);
  s.epochs = epochs;
  s.training.lr = 0.01;
  return s;
}

/// Fills the timeline: start/end epochs of the stages in order.
PipelineSpec timeline(PipelineSpec spec) {
  std::int64_t epoch = 0;
  for (StageSpec& s : spec.stages) {
    s.start_epoch = epoch;
    epoch += s.epochs + s.pruning_epochs;
    s.end_epoch = epoch;
  }
  spec.total_epochs = epoch;
  return spec;
}

/// naive on 256 training and 200 test images: train 2, prune (l1norm 0.5, 1 epoch), qat 1.
PipelineSpec small(std::vector<StageSpec> extra = {}) {
  PipelineSpec spec;
  spec.source = "small.json";
  spec.model.zoo = "naive";
  spec.data.train_limit = 256;
  spec.data.test_limit = 200;
  spec.data.batch_size = 64;
  spec.training.lr = 0.05;
  StageSpec train = stage(StageType::Train, "dense", 2);
  train.training.lr = 0.05;
  StageSpec prune = stage(StageType::Prune, "prune", 1);
  prune.pruner = "l1norm";
  prune.config_list = nlohmann::json::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5}])");
  spec.stages = {train, prune};
  for (auto& s : extra) spec.stages.push_back(s);
  StageSpec qat = stage(StageType::Quantize, "qat", 1);
  qat.quantizer = "qat";
  qat.config_list = nlohmann::json::parse(
      R"([{"op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input", "output"], "quant_bits": 8}])");
  spec.stages.push_back(qat);
  spec.stages.push_back(stage(StageType::Export, "export"));
  return timeline(spec);
}

TEST(RunPipeline, RunsTheStagesAndFillsTheRecord) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const RunRecord r = run_pipeline(small({stage(StageType::Speedup, "speedup")}), quiet(dir.file("run"), out));
  ASSERT_EQ(r.stages.size(), 5u);
  ASSERT_TRUE(r.baseline_accuracy.has_value());
  for (const auto& s : r.stages) EXPECT_TRUE(s.done) << s.name;
  EXPECT_EQ(r.stages[0].epochs.size(), 2u);
  EXPECT_EQ(r.stages[1].epochs.size(), 1u);
  EXPECT_EQ(r.stages[1].epochs[0].epoch, 2);
  EXPECT_GT(*r.stages[0].accuracy, *r.baseline_accuracy);
  // Pruning half the conv filters leaves fewer effective params; speedup removes them.
  EXPECT_LT(r.stages[1].params, r.stages[0].params);
  EXPECT_LT(r.stages[2].macs, r.stages[0].macs);
  EXPECT_EQ(r.stages[2].accuracy, r.stages[1].accuracy) << "the shrunk model computes what the masked one did";
  EXPECT_GT(r.stages[2].file_bytes, 0);
  EXPECT_FALSE(r.stages[4].accuracy.has_value());
  EXPECT_EQ(r.stages[4].files, (std::vector<std::string>{"export.weights.h5", "export.calibration.json",
                                                          "export.int8.h5", "export.model.h5"}));
  for (const char* f : {"run.json", "checkpoint.h5", "report.html", "speedup.model.h5", "export.model.h5", "export.int8.h5"})
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "run" / f)) << f;
  // The exported model file loads without the model's code.
  EXPECT_GT(io::load_model(dir.file("run/export.model.h5"))->parameters().size(), 0u);
  for (const auto& s : r.stages) EXPECT_TRUE(s.latency_ms.has_value()) << s.name;
}

TEST(RunPipeline, AResumedRunEndsBitwiseWhereTheStraightRunEnds) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = small();
  const RunRecord straight = run_pipeline(spec, quiet(dir.file("straight"), out));
  for (std::int64_t stop : {1, 3}) {
    const std::string run = dir.file("stopped" + std::to_string(stop));
    RunOptions o = quiet(run, out);
    o.stop_after_epochs = stop;
    const RunRecord partial = run_pipeline(spec, o);
    EXPECT_FALSE(partial.stages.size() == spec.stages.size() && partial.stages.back().done);
    EXPECT_FALSE(std::filesystem::exists(run + "/export.weights.h5"));
    o.stop_after_epochs.reset();
    o.resume = true;
    const RunRecord resumed = run_pipeline(spec, o);
    EXPECT_EQ(accuracies(resumed), accuracies(straight)) << "stopped after " << stop;
    expect_same_weights(run + "/export.weights.h5", dir.file("straight/export.weights.h5"));
  }
}

TEST(RunPipeline, AStoppedRunLeavesWhatANormalRunLeavesButTheReport) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = small({stage(StageType::Speedup, "speedup")});
  run_pipeline(spec, quiet(dir.file("straight"), out));
  // Stopped after the prune stage's epoch: the speedup that follows it still runs.
  RunOptions o = quiet(dir.file("stopped"), out);
  o.stop_after_epochs = 3;
  const RunRecord partial = run_pipeline(spec, o);
  EXPECT_EQ(partial.to_json(), RunRecord::load(dir.file("stopped/run.json")).to_json());
  ASSERT_EQ(partial.stages.size(), 3u);
  EXPECT_TRUE(partial.stages[2].done);
  EXPECT_TRUE(std::filesystem::exists(dir.file("stopped/speedup.model.h5")));
  // Stopped with no epoch left: everything but report.html.
  o.output_dir = dir.file("all_epochs");
  o.stop_after_epochs = spec.total_epochs;
  const RunRecord complete = run_pipeline(spec, o);
  for (const auto& s : complete.stages) EXPECT_TRUE(s.done) << s.name;
  std::vector<std::string> straight, stopped;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("straight")))
    if (e.path().filename() != "report.html") straight.push_back(e.path().filename().string());
  for (const auto& e : std::filesystem::directory_iterator(dir.file("all_epochs")))
    stopped.push_back(e.path().filename().string());
  std::sort(straight.begin(), straight.end());
  std::sort(stopped.begin(), stopped.end());
  EXPECT_EQ(stopped, straight);
  expect_same_weights(dir.file("all_epochs/export.weights.h5"), dir.file("straight/export.weights.h5"));
}

TEST(RunPipeline, TheShrunkArchitectureSurvivesAResume) {
  // Stopped inside the qat stage, after the speedup: the resumed run loads the shrunk model file.
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = small({stage(StageType::Speedup, "speedup")});
  const RunRecord straight = run_pipeline(spec, quiet(dir.file("straight"), out));
  RunOptions o = quiet(dir.file("stopped"), out);
  o.stop_after_epochs = 4;
  run_pipeline(spec, o);
  o.stop_after_epochs.reset();
  o.resume = true;
  const RunRecord resumed = run_pipeline(spec, o);
  EXPECT_EQ(accuracies(resumed), accuracies(straight));
  EXPECT_EQ(resumed.stages[3].params, straight.stages[3].params);
  expect_same_weights(dir.file("stopped/export.weights.h5"), dir.file("straight/export.weights.h5"));
}

TEST(RunPipeline, ResumeNeedsTheCheckpointOfTheSamePipeline) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  RunOptions o = quiet(dir.file("run"), out);
  o.resume = true;
  testing::expect_message<StateError>(
      [&] { run_pipeline(small(), o); },
      ("run_pipeline: resume: expected a checkpoint '" + dir.file("run/checkpoint.h5") +
       "' from an earlier run, got none (hint: run without resume to start)")
          .c_str());
  o.resume = false;
  o.stop_after_epochs = 1;
  run_pipeline(small(), o);
  PipelineSpec other = small();
  other.source = "other.json";
  other.stages[0].epochs = 3;
  other = timeline(other);
  o.resume = true;
  o.stop_after_epochs.reset();
  testing::expect_message<StateError>(
      [&] { run_pipeline(other, o); },
      ("run_pipeline: resume: expected a checkpoint of pipeline 'other.json', got '" + dir.file("run/checkpoint.h5") +
       "' written by pipeline 'small.json' (different stages or settings; hint: use another output directory, or "
       "resume with the pipeline that wrote it)")
          .c_str());
  // A fresh run into a directory holding a run is refused.
  o.resume = false;
  testing::expect_message<StateError>(
      [&] { run_pipeline(small(), o); },
      ("run_pipeline: output_dir: expected a directory without an earlier run, got '" +
       dir.file("run/checkpoint.h5") + "' (hint: resume it, or remove it or choose another output directory)")
          .c_str());
}

TEST(RunPipeline, BadInputLeavesNoOutputBehind) {
  TempDir dir;
  std::ostringstream out;
  const std::string run = dir.file("run");
  PipelineSpec missing = small();
  missing.data.root = dir.file("no-data");
  const std::string message = testing::error_of<IOError>([&] { run_pipeline(missing, quiet(run, out)); });
  EXPECT_EQ(message.rfind("FashionMNIST: '" + missing.data.root + "': no such directory", 0), 0u) << message;
  EXPECT_FALSE(std::filesystem::exists(run));
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  PipelineSpec weights = small();
  weights.model.weights = dir.file("absent.h5");
  // (the parser checks the file; here it went away since)
  testing::expect_message<IOError>([&] { run_pipeline(weights, quiet(run, out)); },
                                   ("load_state_dict: '" + weights.model.weights + "': no such file").c_str());
  EXPECT_FALSE(std::filesystem::exists(run));
  PipelineSpec bad_config = small();
  bad_config.stages[1].config_list = nlohmann::json::parse(R"([{"op_types": ["Conv2d"], "sparsity": 1.5}])");
  testing::expect_message<ValueError>(
      [&] { run_pipeline(bad_config, quiet(run, out)); },
      "small.json: stages[1].config_list[0]['sparsity']: expected a number in [0, 1), got 1.5");
  EXPECT_FALSE(std::filesystem::exists(run));
}

TEST(RunPipeline, CombinationsTheRunnerCannotRunAreErrorsNamingTheStage) {
  std::ostringstream out;
  TempDir dir;
  PipelineSpec late = small();
  late.stages.insert(late.stages.end() - 1, stage(StageType::Speedup, "speedup"));
  testing::expect_message<ValueError>([&] { run_pipeline(timeline(late), quiet(dir.file("run"), out)); },
                                      "small.json: stages[3]: expected the speedup before the quantize stage, got it "
                                      "after");
  PipelineSpec ptq = small();
  ptq.stages[2].quantizer = "ptq";
  ptq.stages[2].epochs = 0;
  testing::expect_message<ValueError>([&] { run_pipeline(timeline(ptq), quiet(dir.file("run"), out)); },
                                      "small.json: stages[2].calibration_batches: expected > 0 for ptq, got 0");
  PipelineSpec masks = small();
  masks.stages.back().exports = {"masks"};
  testing::expect_message<ValueError>(
      [&] { run_pipeline(masks, quiet(dir.file("run"), out)); },
      "small.json: stages[3].exports: expected \"masks\" only while a pruner is attached (after a prune stage, "
      "before a speedup or quantize stage), got it without one");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

}  // namespace
}  // namespace shrink::pipeline
