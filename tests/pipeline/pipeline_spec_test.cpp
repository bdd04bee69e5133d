// PipelineSpec: the file as a whole (model, data, training, stage names, the epoch timeline),
// defaults, round trips and reading files; one stage's keys are in stage_spec_test.cpp.
#include "pipeline/pipeline_spec.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/io/temp_dir.h"
#include "tests/pipeline/spec_testing.h"

namespace shrink::pipeline {
namespace {

using nlohmann::json;
using testing::expect_message;
using testing::expect_spec_error;
using testing::parse_demo;
using testing::TempDir;
using testing::with_stages;

TEST(PipelineSpec, AMinimalFileGetsTheDocumentedDefaults) {
  const PipelineSpec spec = parse_demo(with_stages(R"([{"type": "train", "epochs": 2}])"));
  EXPECT_EQ(spec.source, "demo.json");
  EXPECT_EQ(spec.model.zoo, "naive");
  EXPECT_EQ(spec.data.root, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(spec.data.train_limit, 0);
  EXPECT_EQ(spec.data.batch_size, 128);
  EXPECT_EQ(spec.data.test_batch_size, 500);
  EXPECT_FALSE(spec.data.augment);
  EXPECT_EQ(spec.training.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(spec.training.lr, 0.05);
  EXPECT_DOUBLE_EQ(spec.training.momentum, 0.9);
  EXPECT_DOUBLE_EQ(spec.training.weight_decay, 5e-4);
  EXPECT_EQ(spec.training.lr_schedule, "cosine");
  EXPECT_EQ(spec.training.seed, 0u);
  ASSERT_EQ(spec.stages.size(), 1u);
  EXPECT_EQ(spec.stages[0].name, "train");
  EXPECT_EQ(spec.stages[0].epochs, 2);
  EXPECT_EQ(spec.total_epochs, 2);
}

TEST(PipelineSpec, DataAndTrainingKeysAreRead) {
  const PipelineSpec spec = parse_demo(R"({"model": {"zoo": "mlp"},
      "data": {"root": "/d", "train_limit": 300, "test_limit": 200, "batch_size": 32, "test_batch_size": 100,
               "augment": true},
      "training": {"optimizer": "adam", "lr": 0.001, "momentum": 0, "weight_decay": 0, "lr_schedule": "constant",
                   "seed": 7},
      "stages": [{"type": "train", "epochs": 1}]})");
  EXPECT_EQ(spec.data.root, "/d");
  EXPECT_EQ(spec.data.train_limit, 300);
  EXPECT_EQ(spec.data.test_limit, 200);
  EXPECT_EQ(spec.data.batch_size, 32);
  EXPECT_EQ(spec.data.test_batch_size, 100);
  EXPECT_TRUE(spec.data.augment);
  EXPECT_EQ(spec.training.optimizer, "adam");
  EXPECT_DOUBLE_EQ(spec.training.lr, 0.001);
  EXPECT_EQ(spec.training.lr_schedule, "constant");
  EXPECT_EQ(spec.training.seed, 7u);
  EXPECT_EQ(spec.stages[0].training.optimizer, "adam");  // the pipeline's recipe
}

TEST(PipelineSpec, AStageTrainingObjectOverridesOnlyItsKeys) {
  const PipelineSpec spec = parse_demo(R"({"model": {"zoo": "naive"}, "training": {"lr": 0.1, "seed": 3},
      "stages": [{"type": "train", "epochs": 1}, {"type": "train", "epochs": 1, "training": {"lr": 0.01}}]})");
  EXPECT_DOUBLE_EQ(spec.stages[0].training.lr, 0.1);
  EXPECT_DOUBLE_EQ(spec.stages[1].training.lr, 0.01);
  EXPECT_EQ(spec.stages[1].training.seed, 3u);
  EXPECT_DOUBLE_EQ(spec.training.lr, 0.1);
}

TEST(PipelineSpec, AnUnknownTopLevelKeyListsTheAllowedOnes) {
  expect_spec_error(R"({"model": {"zoo": "naive"}, "stage": []})",
                    "demo.json: stage: expected a key among model, data, training, stages, got an unknown key "
                    "(Hint: did you mean \"stages\"?)");
}

TEST(PipelineSpec, ADocumentThatIsNotAnObjectIsRefused) {
  expect_spec_error("[1, 2]", "demo.json: expected a pipeline object {\"model\": ..., \"stages\": [...]}, got [1,2] (a list)");
}

TEST(PipelineSpec, AMissingModelIsNamed) {
  expect_spec_error(R"({"stages": []})",
                    "demo.json: expected a key 'model' ({\"zoo\": name} or {\"file\": path}), got none");
}

TEST(PipelineSpec, AModelNeedsExactlyOneOfZooAndFile) {
  expect_spec_error(R"({"model": {}, "stages": []})",
                    "demo.json: model: expected exactly one of 'zoo' (a model zoo name) and 'file' (a Shrink model "
                    "file), got neither");
  expect_spec_error(R"({"model": {"zoo": "naive", "file": "m.h5"}, "stages": []})",
                    "demo.json: model: expected exactly one of 'zoo' (a model zoo name) and 'file' (a Shrink model "
                    "file), got both");
}

TEST(PipelineSpec, AnUnknownZooNameListsTheZoo) {
  expect_spec_error(R"({"model": {"zoo": "vgg"}, "stages": []})",
                    "demo.json: model.zoo: expected one of mlp, naive, lenet5, vgg_small, resnet20, mobilenet_small, "
                    "inception_small, got \"vgg\"");
}

TEST(PipelineSpec, AModelFileMustExist) {
  TempDir dir;
  const std::string path = dir.file("none.h5");
  expect_spec_error(R"({"model": {"file": ")" + path + R"("}, "stages": []})",
                    "demo.json: model.file: expected an existing file, got \"" + path + "\" (no such file)");
}

TEST(PipelineSpec, AModelFileMustBeARegularFile) {
  TempDir dir;
  const std::string path = dir.path().string();
  expect_spec_error(R"({"model": {"file": ")" + path + R"("}, "stages": []})",
                    "demo.json: model.file: expected a regular file, got \"" + path + "\" (a directory)");
  expect_spec_error(R"({"model": {"file": "/dev/null"}, "stages": []})",
                    "demo.json: model.file: expected a regular file, got \"/dev/null\" (not a regular file)");
}

TEST(PipelineSpec, AModelFileTakesNoWeights) {
  TempDir dir;
  const std::string path = dir.write_bytes("m.h5", "x");
  expect_spec_error(R"({"model": {"file": ")" + path + R"(", "weights": "w.h5"}, "stages": []})",
                    "demo.json: model.weights: expected no weights with a model file (it holds its own), got "
                    "\"w.h5\" (a string)");
}

TEST(PipelineSpec, ZooWeightsMustExist) {
  expect_spec_error(R"({"model": {"zoo": "naive", "weights": "/nonexistent/w.h5"}, "stages": []})",
                    "demo.json: model.weights: expected an existing file, got \"/nonexistent/w.h5\" (no such file)");
}

TEST(PipelineSpec, DataKeysAreRangeChecked) {
  const std::string stages = R"(, "stages": [{"type": "train", "epochs": 1}]})";
  expect_spec_error(R"({"model": {"zoo": "naive"}, "data": {"batch_size": 0})" + stages,
                    "demo.json: data.batch_size: expected an integer in [1, 65536], got 0");
  expect_spec_error(R"({"model": {"zoo": "naive"}, "data": {"train_limit": -5})" + stages,
                    "demo.json: data.train_limit: expected an integer >= 0, got -5");
  expect_spec_error(R"({"model": {"zoo": "naive"}, "data": {"augment": "yes"})" + stages,
                    "demo.json: data.augment: expected true or false, got \"yes\" (a string)");
  expect_spec_error(R"({"model": {"zoo": "naive"}, "data": {"batchsize": 8})" + stages,
                    "demo.json: data.batchsize: expected a key among root, train_limit, test_limit, batch_size, "
                    "test_batch_size, augment, got an unknown key (Hint: did you mean \"batch_size\"?)");
}

TEST(PipelineSpec, TrainingKeysAreChecked) {
  const auto bad = [](const std::string& training) {
    return R"({"model": {"zoo": "naive"}, "training": )" + training + R"(, "stages": [{"type": "train", "epochs": 1}]})";
  };
  expect_spec_error(bad(R"({"optimizer": "adamw"})"),
                    "demo.json: training.optimizer: expected one of sgd, adam, rmsprop, got \"adamw\" "
                    "(Hint: did you mean \"adam\"?)");
  expect_spec_error(bad(R"({"lr": 0})"), "demo.json: training.lr: expected a number > 0, got 0");
  expect_spec_error(bad(R"({"momentum": 1})"), "demo.json: training.momentum: expected a number in [0, 1), got 1");
  expect_spec_error(bad(R"({"weight_decay": -1e-4})"),
                    "demo.json: training.weight_decay: expected a number >= 0, got -0.0001");
  expect_spec_error(bad(R"({"lr_schedule": "step"})"),
                    "demo.json: training.lr_schedule: expected one of cosine, constant, got \"step\"");
  expect_spec_error(bad(R"({"seed": -1})"), "demo.json: training.seed: expected an integer >= 0, got -1");
  expect_spec_error(bad(R"({"epochs": 3})"),
                    "demo.json: training.epochs: expected a key among optimizer, lr, momentum, weight_decay, "
                    "lr_schedule, seed, got an unknown key");
}

TEST(PipelineSpec, StagesMustBeANonEmptyList) {
  expect_spec_error(R"({"model": {"zoo": "naive"}})", "demo.json: expected a key 'stages' (the list of stages), got none");
  expect_spec_error(with_stages("[]"), "demo.json: stages: expected a list of stages with at least 1 entry, got 0");
  expect_spec_error(with_stages("{}"), "demo.json: stages: expected a list of stages, got {} (an object)");
}

TEST(PipelineSpec, AThousandStagesAreTheMost) {
  std::string stages = "[";
  for (int i = 0; i < 1001; ++i) stages += std::string(i ? "," : "") + R"({"type": "export", "name": "e)" + std::to_string(i) + "\"}";
  expect_spec_error(with_stages(stages + "]"), "demo.json: stages: expected a list of stages with at most 1000 entries, got 1001");
}

TEST(PipelineSpec, AStageNeedsAKnownType) {
  expect_spec_error(with_stages("[3]"), "demo.json: stages[0]: expected an object, got 3");
  expect_spec_error(with_stages(R"([{"epochs": 1}])"),
                    "demo.json: stages[0]: expected a key 'type' (one of train, prune, quantize, distill, speedup, "
                    "export, sensitivity), got none");
  expect_spec_error(with_stages(R"([{"type": "trian"}])"),
                    "demo.json: stages[0].type: expected one of train, prune, quantize, distill, speedup, export, "
                    "sensitivity, got \"trian\" (Hint: did you mean \"train\"?)");
}

TEST(PipelineSpec, DefaultNamesNumberRepeatedTypes) {
  const PipelineSpec spec = parse_demo(with_stages(
      R"([{"type": "train", "epochs": 1}, {"type": "speedup"}, {"type": "train", "epochs": 1},
          {"type": "train", "epochs": 1, "name": "last"}, {"type": "export"}])"));
  std::vector<std::string> names;
  for (const auto& s : spec.stages) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"train", "speedup", "train_2", "last", "export"}));
}

TEST(PipelineSpec, TwoStagesWithOneNameAreRefused) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1, "name": "a"}, {"type": "speedup", "name": "a"}])"),
                    "demo.json: stages[1].name: expected a name no other stage has, got \"a\", which stages[0] has too");
}

TEST(PipelineSpec, ADefaultNameTakenByAnotherStageIsRefusedWithAHint) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1, "name": "speedup"}, {"type": "speedup"}])"),
                    "demo.json: stages[1]: expected a unique name, got the default name \"speedup\", which stages[0] "
                    "has too (Hint: give this stage a \"name\")");
}

TEST(PipelineSpec, StageNamesAreSafeFileNames) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1, "name": "../x"}])"),
                    "demo.json: stages[0].name: expected a name of at most 64 letters, digits, '_', '-' and '.', not "
                    "starting with '.' (it names output files), got \"../x\"");
}

TEST(PipelineSpec, TrainingStagesFollowEachOtherOnTheTimeline) {
  const PipelineSpec spec = parse_demo(with_stages(R"([
      {"type": "train", "epochs": 2},
      {"type": "distill", "teacher_stage": "train", "distill_config": [{"loss": "soft_label"}]},
      {"type": "prune", "pruner": "slim", "config_list": [{"sparsity": 0.5, "op_types": ["BatchNorm2d"]}],
       "pruning_epochs": 1, "epochs": 3},
      {"type": "speedup"},
      {"type": "quantize", "quantizer": "qat", "config_list": [{"quant_types": ["weight"], "quant_bits": 8,
       "op_types": ["Conv2d"]}], "epochs": 1},
      {"type": "export"}])"));
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected = {{0, 2}, {2, 7}, {2, 6}, {6, 6}, {6, 7}, {7, 7}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(spec.stages[i].start_epoch, expected[i].first) << spec.stages[i].name;
    EXPECT_EQ(spec.stages[i].end_epoch, expected[i].second) << spec.stages[i].name;
  }
  EXPECT_EQ(spec.total_epochs, 7);
}

TEST(PipelineSpec, ADistillStageMayCoverPartOfTheLaterEpochs) {
  const PipelineSpec spec = parse_demo(with_stages(R"([
      {"type": "train", "epochs": 1, "name": "teacher"},
      {"type": "distill", "teacher_stage": "teacher", "distill_config": [{"loss": "soft_label"}],
       "start_epoch": 2, "end_epoch": 3},
      {"type": "train", "epochs": 4}])"));
  EXPECT_EQ(spec.stages[1].start_epoch, 2);
  EXPECT_EQ(spec.stages[1].end_epoch, 3);
}

TEST(PipelineSpec, ADistillStageWithNothingToTrainAfterItIsRefused) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1},
      {"type": "distill", "teacher_stage": "train", "distill_config": [{"loss": "soft_label"}]}, {"type": "export"}])"),
                    "demo.json: stages[1]: expected training epochs after a distill stage (it changes the loss of the "
                    "stages that train after it), got none (it is at epoch 1, the end of the timeline)");
}

TEST(PipelineSpec, ADistillStartBeforeItsPlaceIsRefused) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 2},
      {"type": "distill", "teacher_stage": "train", "distill_config": [{"loss": "soft_label"}], "start_epoch": 1},
      {"type": "train", "epochs": 3}])"),
                    "demo.json: stages[1].start_epoch: expected an integer in [2, 4] (epochs 2 to 5 follow this stage "
                    "on the timeline), got 1");
}

TEST(PipelineSpec, ADistillEndPastTheTimelineIsRefused) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 2},
      {"type": "distill", "teacher_stage": "train", "distill_config": [{"loss": "soft_label"}], "start_epoch": 3,
       "end_epoch": 6},
      {"type": "train", "epochs": 3}])"),
                    "demo.json: stages[1].end_epoch: expected an integer in [4, 5] (epochs 2 to 5 follow this stage on "
                    "the timeline), got 6");
}

/// A pipeline with every stage type and most keys set, files in `dir`.
std::string rich_pipeline(const TempDir& dir) {
  const std::string weights = dir.write_bytes("teacher.weights.h5", "x");
  return R"({"model": {"zoo": "lenet5"}, "data": {"train_limit": 500, "augment": true},
    "training": {"optimizer": "rmsprop", "lr": 0.01, "seed": 5},
    "stages": [
      {"type": "train", "name": "dense", "epochs": 2, "training": {"lr_schedule": "constant"}},
      {"type": "sensitivity", "ratios": [0.25, 0.5], "sensitivity_images": 100},
      {"type": "distill", "teacher": {"zoo": "vgg_small", "weights": ")" + weights + R"("},
       "distill_config": [{"loss": "soft_label", "temperature": 2}], "end_epoch": 4},
      {"type": "prune", "pruner": "level", "pruner_options": {"balance_block": 4},
       "config_list": [{"sparsity": 0.5, "op_types": ["Linear"]}], "schedule": "agp",
       "schedule_options": {"total_iteration": 2}, "dependency_aware": false, "epochs": 2},
      {"type": "speedup", "speedup_mode": "intersection", "round_to": 8},
      {"type": "quantize", "quantizer": "ptq", "config_list": [{"quant_types": ["weight"], "quant_bits": 8,
       "op_types": ["Conv2d"]}], "calibration_batches": 4},
      {"type": "quantize", "quantizer": "qat", "quantizer_options": {"fold_bn": true},
       "config_list": [{"quant_types": ["weight"], "quant_bits": 8, "op_types": ["Conv2d"]}], "epochs": 1},
      {"type": "export", "exports": ["model", "int8"]}]})";
}

TEST(PipelineSpec, ToJsonParsesBackToTheSameSpec) {
  TempDir dir;
  const PipelineSpec spec = parse_demo(rich_pipeline(dir));
  const json first = spec.to_json();
  const PipelineSpec again = PipelineSpec::parse(first, "again.json");
  EXPECT_EQ(again.to_json(), first);
  EXPECT_EQ(again.total_epochs, spec.total_epochs);
  for (std::size_t i = 0; i < spec.stages.size(); ++i) {
    EXPECT_EQ(again.stages[i].start_epoch, spec.stages[i].start_epoch);
    EXPECT_EQ(again.stages[i].end_epoch, spec.stages[i].end_epoch);
  }
}

TEST(PipelineSpec, ToJsonFillsInEveryDefault) {
  const json j = parse_demo(with_stages(R"([{"type": "train", "epochs": 1}, {"type": "sensitivity"}])")).to_json();
  EXPECT_EQ(j["data"]["batch_size"], 128);
  EXPECT_EQ(j["training"]["lr_schedule"], "cosine");
  EXPECT_EQ(j["stages"][0]["training"]["optimizer"], "sgd");
  EXPECT_EQ(j["stages"][1]["name"], "sensitivity");
  EXPECT_EQ(j["stages"][1]["ratios"].size(), 9u);
  EXPECT_EQ(j["stages"][1]["sensitivity_images"], 0);
}

TEST(PipelineSpec, MalformedTextGivesLineAndColumn) {
  expect_spec_error("{\"model\": {\"zoo\": \"naive\"},\n \"stages\": [}",
                    "demo.json: malformed JSON at line 2, column 13: syntax error while parsing value - unexpected "
                    "'}'; expected '[', '{', or a literal");
}

TEST(PipelineSpec, DeepNestingIsRefusedBeforeParsing) {
  expect_spec_error(std::string(100'000, '[') + std::string(100'000, ']'),
                    "demo.json: expected JSON nested at most 64 levels deep, got more");
}

TEST(PipelineSpec, FromFileResolvesRelativePathsAgainstTheFilesDirectory) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "sub");
  dir.write_bytes("sub/w.h5", "x");
  const std::string path = dir.write_bytes(
      "sub/p.json", R"({"model": {"zoo": "naive", "weights": "w.h5"}, "data": {"root": "fmnist"},
                        "stages": [{"type": "train", "epochs": 1}]})");
  const PipelineSpec spec = PipelineSpec::from_file(path);
  EXPECT_EQ(spec.source, path);
  EXPECT_EQ(spec.model.weights, dir.file("sub/w.h5"));
  EXPECT_EQ(spec.data.root, dir.file("sub/fmnist"));
}

TEST(PipelineSpec, FromFileNamesTheFileInMessages) {
  TempDir dir;
  const std::string path = dir.write_bytes("p.json", R"({"model": {"zoo": "naive"}, "stages": 1})");
  expect_message<ValueError>([&] { PipelineSpec::from_file(path); },
                             (path + ": stages: expected a list of stages, got 1").c_str());
}

TEST(PipelineSpec, AMissingFileIsAnIOError) {
  TempDir dir;
  const std::string path = dir.file("none.json");
  expect_message<IOError>([&] { PipelineSpec::from_file(path); },
                          (path + ": cannot open the pipeline file for reading").c_str());
}

TEST(PipelineSpec, AFileAbove4MiBIsAnIOError) {
  TempDir dir;
  const std::string path = dir.write_bytes("big.json", std::string((std::size_t{4} << 20) + 1, ' '));
  expect_message<IOError>([&] { PipelineSpec::from_file(path); },
                          (path + ": expected a pipeline file of at most 4 MiB, got more").c_str());
}

TEST(PipelineSpec, TheDemoConfigParses) {
  const PipelineSpec spec = PipelineSpec::from_file(std::string(SHRINK_EXAMPLES_DIR) + "/configs/fmnist_demo.json");
  EXPECT_EQ(spec.model.zoo, "naive");
  EXPECT_EQ(spec.data.train_limit, 0);
  std::vector<std::string> types;
  for (const auto& s : spec.stages) types.push_back(stage_type_name(s.type));
  EXPECT_EQ(types, (std::vector<std::string>{"train", "prune", "speedup", "quantize", "export"}));
  EXPECT_EQ(spec.stages[0].name, "dense");
  EXPECT_EQ(spec.stages[0].epochs, 2);
  EXPECT_DOUBLE_EQ(spec.stages[0].training.lr, 0.05);
  EXPECT_EQ(spec.stages[1].pruner, "l1norm");
  EXPECT_EQ(spec.stages[1].epochs, 1);
  EXPECT_EQ(spec.stages[3].quantizer, "qat");
  EXPECT_EQ(spec.stages[3].epochs, 1);
  EXPECT_EQ(spec.total_epochs, 4);
}

}  // namespace
}  // namespace shrink::pipeline
