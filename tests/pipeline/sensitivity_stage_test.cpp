// The sensitivity stage of run_pipeline on a slice of Fashion-MNIST: per-layer curves in the
// record and in <stage>.sensitivity.json, on the requested number of test images, and the model
// unchanged by it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "nn/modules/basic.h"
#include "nn/modules/container.h"
#include "nn/modules/linear.h"
#include "pipeline/runner.h"
#include "speedup/model_file.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/run_testing.h"
#include "tests/support/errors.h"

namespace shrink::pipeline {
namespace {

using testing::quiet;
using testing::TempDir;

/// naive on 256/200 images: train 1, [sensitivity at 0.5 and 0.9 on `images` test images], export.
PipelineSpec pipeline(bool sensitivity, std::int64_t images) {
  const std::string stage = sensitivity ? R"({"type": "sensitivity", "ratios": [0.5, 0.9], "sensitivity_images": )" +
                                              std::to_string(images) + "},"
                                        : "";
  return PipelineSpec::parse_text(R"({"model": {"zoo": "naive"},
    "data": {"train_limit": 256, "test_limit": 200, "batch_size": 64},
    "stages": [{"type": "train", "name": "dense", "epochs": 1},)" + stage + R"(
               {"type": "export", "exports": ["weights"]}]})",
                                  "sensitivity.json");
}

TEST(SensitivityStage, RecordsACurvePerLayerAndLeavesTheModelAsItWas) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const RunRecord plain = run_pipeline(pipeline(false, 0), quiet(dir.file("plain"), out));
  const RunRecord r = run_pipeline(pipeline(true, 0), quiet(dir.file("run"), out));
  ASSERT_EQ(r.stages.size(), 3u);
  const StageRecord& s = r.stages[1];
  ASSERT_TRUE(s.sensitivity.has_value());
  EXPECT_EQ(s.sensitivity->ratios, (std::vector<double>{0.5, 0.9}));
  // Every Conv2d and the Linear before the classifier; on the run's 200 test images the baseline
  // is the stage's top-1.
  std::vector<std::string> layers;
  for (const auto& [layer, curve] : s.sensitivity->accuracy) {
    layers.push_back(layer);
    EXPECT_EQ(curve.size(), 2u) << layer;
  }
  EXPECT_EQ(layers, (std::vector<std::string>{"conv1", "conv2", "fc1"}));
  EXPECT_EQ(s.sensitivity->baseline, *s.accuracy);
  EXPECT_NE(s.sensitivity->accuracy.at("conv1")[1], s.sensitivity->baseline) << "90% of conv1's filters gone";
  // The model is untouched: the same top-1 as the train stage's and the same exported weights.
  EXPECT_EQ(*s.accuracy, *r.stages[0].accuracy);
  testing::expect_same_weights(dir.file("run/export.weights.h5"), dir.file("plain/export.weights.h5"));
  // The file holds the same curves.
  EXPECT_EQ(s.files, std::vector<std::string>{"sensitivity.sensitivity.json"});
  std::ifstream in(dir.file("run/sensitivity.sensitivity.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("images"), 200);
  EXPECT_EQ(j.at("baseline").get<double>(), s.sensitivity->baseline);
  EXPECT_EQ(j.at("accuracy").at("conv2").get<std::vector<double>>(), s.sensitivity->accuracy.at("conv2"));
}

TEST(SensitivityStage, EvaluatesOnTheRequestedTestImages) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  run_pipeline(pipeline(true, 50), quiet(dir.file("fewer"), out));
  run_pipeline(pipeline(true, 300), quiet(dir.file("more"), out));  // beyond data.test_limit
  for (const auto& [run, images] : {std::pair{"fewer", 50}, std::pair{"more", 300}}) {
    std::ifstream in(dir.file(std::string(run) + "/sensitivity.sensitivity.json"));
    EXPECT_EQ(nlohmann::json::parse(in).at("images"), images) << run;
  }
}

TEST(SensitivityStage, AModelWithOnlyAClassifierHasNothingToAnalyse) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  nn::Sequential linear{std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(784, 10)};
  io::save_model(linear, zeros({1, 1, 28, 28}), dir.file("linear.h5"));
  const PipelineSpec spec = PipelineSpec::parse_text(R"({"model": {"file": ")" + dir.file("linear.h5") + R"("},
      "data": {"train_limit": 64, "test_limit": 64}, "stages": [{"type": "sensitivity"}]})",
                                                     "linear.json");
  testing::expect_message<ValueError>(
      [&] { run_pipeline(spec, quiet(dir.file("run"), out)); },
      "linear.json: stages[0]: expected a model with a Conv2d layer or a Linear layer before the last one, got none "
      "(nothing to prune)");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

}  // namespace
}  // namespace shrink::pipeline
