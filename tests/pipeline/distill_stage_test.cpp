// The distill overlay of run_pipeline on a slice of Fashion-MNIST: the prune stage's loss is the
// Distiller's during the overlay's epochs, the teacher_stage's snapshot is written and used, a
// run stopped inside the distilled epochs resumes bitwise, and an unfit config fails before any
// output is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "autograd/error.h"
#include "pipeline/runner.h"
#include "speedup/model_file.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/run_testing.h"
#include "tests/support/errors.h"

namespace shrink::pipeline {
namespace {

using testing::accuracies;
using testing::quiet;
using testing::TempDir;

const char* kSoftLabels = R"([{"loss": "soft_label", "temperature": 4, "alpha": 0.5}])";

/// A distill stage from the train stage with `config`.
std::string from_dense(const std::string& config = kSoftLabels) {
  return R"({"type": "distill", "teacher_stage": "dense", "distill_config": )" + config + "},";
}

/// naive on 256/200 images: train 1, `overlays` (distill stages, each followed by a comma),
/// prune l1norm with 2 epochs of fine-tuning, export weights.
PipelineSpec pipeline(const std::string& overlays) {
  return PipelineSpec::parse_text(R"({"model": {"zoo": "naive"},
    "data": {"train_limit": 256, "test_limit": 200, "batch_size": 64},
    "training": {"lr": 0.05},
    "stages": [{"type": "train", "name": "dense", "epochs": 1},)" + overlays + R"(
               {"type": "prune", "pruner": "l1norm", "config_list": [{"op_types": ["Conv2d"], "sparsity": 0.5}],
                "epochs": 2, "training": {"lr": 0.01}},
               {"type": "export", "exports": ["weights"]}]})",
                                  "distill.json");
}

TEST(DistillStage, ChangesTheLossOfTheStageThatTrainsDuringItsEpochs) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const RunRecord plain = run_pipeline(pipeline(""), quiet(dir.file("plain"), out));
  const RunRecord distilled = run_pipeline(pipeline(from_dense()), quiet(dir.file("distilled"), out));
  ASSERT_EQ(distilled.stages.size(), 4u);
  // The train stage before the overlay is the same run; the prune stage's loss is another one.
  EXPECT_EQ(distilled.stages[0].epochs[0].train_loss, plain.stages[0].epochs[0].train_loss);
  const StageRecord& overlay = distilled.stages[1];
  EXPECT_EQ(overlay.type, "distill");
  EXPECT_EQ(overlay.start_epoch, 1);
  EXPECT_EQ(overlay.end_epoch, 3);
  EXPECT_TRUE(overlay.done);
  ASSERT_EQ(distilled.stages[2].epochs.size(), 2u);
  for (std::size_t e = 0; e < 2; ++e)
    EXPECT_NE(distilled.stages[2].epochs[e].train_loss, plain.stages[1].epochs[e].train_loss) << "epoch " << e;
  // The teacher is the train stage's model, kept as a model file.
  EXPECT_EQ(distilled.stages[0].files, std::vector<std::string>{"dense.teacher.h5"});
  EXPECT_GT(io::load_model(dir.file("distilled/dense.teacher.h5"))->parameters().size(), 0u);
}

TEST(DistillStage, AResumedRunEndsBitwiseWhereTheStraightRunEnds) {
  // Stopped after the train stage's epoch (the snapshot is not written yet) and inside the
  // distilled fine-tuning.
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = pipeline(from_dense());
  const RunRecord straight = run_pipeline(spec, quiet(dir.file("straight"), out));
  for (std::int64_t stop : {1, 2}) {
    const std::string run = dir.file("stopped" + std::to_string(stop));
    RunOptions o = quiet(run, out);
    o.stop_after_epochs = stop;
    run_pipeline(spec, o);
    o.stop_after_epochs.reset();
    o.resume = true;
    const RunRecord resumed = run_pipeline(spec, o);
    EXPECT_EQ(accuracies(resumed), accuracies(straight)) << "stopped after " << stop;
    testing::expect_same_weights(run + "/export.weights.h5", dir.file("straight/export.weights.h5"));
  }
}

TEST(DistillStage, AConfigThatDoesNotFitTheModelsFailsBeforeAnyOutput) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = pipeline(from_dense(R"([{"loss": "l2", "student": "conv9", "teacher": "conv1"}])"));
  testing::expect_message<ValueError>(
      [&] { run_pipeline(spec, quiet(dir.file("run"), out)); },
      "distill.json: stages[1].distill_config: Distiller: distill config[0].student: expected a module of the student "
      "(Naive), got 'conv9'; its modules: conv1, conv2, fc1, fc2, relu1, relu2, relu3, max_pool1, max_pool2");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
  const std::string absent = dir.file("absent.h5");
  PipelineSpec missing = pipeline(from_dense());  // the parser checks the file; here it went away since
  missing.stages[1].teacher_stage.clear();
  missing.stages[1].teacher = {.zoo = "naive", .file = "", .weights = absent};
  const std::string message = testing::error_of<IOError>([&] { run_pipeline(missing, quiet(dir.file("run"), out)); });
  EXPECT_NE(message.find(absent), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

TEST(DistillStage, OverlappingDistillStagesAreAnError) {
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = pipeline(from_dense() + R"({"type": "distill", "name": "again", "start_epoch": 2,
      "teacher": {"zoo": "lenet5"}, "distill_config": )" + kSoftLabels + "},");
  testing::expect_message<ValueError>([&] { run_pipeline(spec, quiet(dir.file("run"), out)); },
                                      "distill.json: stages[2]: expected distill stages on epochs no other distill "
                                      "stage has, got epochs 2 to 2, which overlap those of stages[1] (1 to 2)");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

}  // namespace
}  // namespace shrink::pipeline
