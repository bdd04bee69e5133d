// One stage of a pipeline file: the keys of each type, their checks and their messages.
#include <gtest/gtest.h>

#include "pipeline/pipeline_spec.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/spec_testing.h"

namespace shrink::pipeline {
namespace {

using testing::expect_spec_error;
using testing::parse_demo;
using testing::with_stages;

/// A pipeline whose stages are a 1-epoch train stage and then `stage`.
std::string after_train(const std::string& stage) {
  return with_stages(R"([{"type": "train", "epochs": 1}, )" + stage + "]");
}

const std::string kConv50 = R"("config_list": [{"op_types": ["Conv2d"], "sparsity": 0.5}])";
const std::string kInt8 = R"("config_list": [{"op_types": ["Conv2d"], "quant_types": ["weight"], "quant_bits": 8}])";
const std::string kSoftLabel = R"("distill_config": [{"loss": "soft_label"}])";

TEST(StageSpec, AKeyOfAnotherStageTypeNamesTheTypesThatTakeIt) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1, "pruner": "l1norm"}])"),
                    "demo.json: stages[0].pruner: expected a key of a train stage (type, name, epochs, training), got "
                    "a key of prune stages");
  expect_spec_error(with_stages(R"([{"type": "speedup", "config_list": []}])"),
                    "demo.json: stages[0].config_list: expected a key of a speedup stage (type, name, speedup_mode, "
                    "round_to), got a key of prune and quantize stages");
}

TEST(StageSpec, AnUnknownKeyListsTheTypesKeysWithAHint) {
  expect_spec_error(with_stages(R"([{"type": "train", "epoch": 1}])"),
                    "demo.json: stages[0].epoch: expected a key among type, name, epochs, training, got an unknown key "
                    "(Hint: did you mean \"epochs\"?)");
}

TEST(StageSpec, ATrainStageNeedsEpochs) {
  expect_spec_error(with_stages(R"([{"type": "train"}])"),
                    "demo.json: stages[0]: expected a key 'epochs' (the training epochs, > 0), got none");
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 0}])"),
                    "demo.json: stages[0].epochs: expected an integer in [1, 100000], got 0");
}

TEST(StageSpec, AStageTrainingObjectIsChecked) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1, "training": {"lr": -1}}])"),
                    "demo.json: stages[0].training.lr: expected a number > 0, got -1");
}

TEST(StageSpec, APruneStageReadsItsKeys) {
  const PipelineSpec spec = parse_demo(after_train(R"({"type": "prune", "pruner": "taylorfo",
      "pruner_options": {"max_batches": 4}, )" + kConv50 + R"(, "schedule": "linear",
      "schedule_options": {"total_iteration": 3}, "pruning_epochs": 1, "dependency_aware": false, "epochs": 2})"));
  const StageSpec& s = spec.stages[1];
  EXPECT_EQ(s.pruner, "taylorfo");
  EXPECT_EQ(s.pruner_options["max_batches"], 4);
  EXPECT_EQ(s.config_list[0]["sparsity"], 0.5);
  EXPECT_EQ(s.schedule, "linear");
  EXPECT_EQ(s.schedule_options["total_iteration"], 3);
  EXPECT_EQ(s.pruning_epochs, 1);
  EXPECT_FALSE(s.dependency_aware);
  EXPECT_EQ(s.epochs, 2);
}

TEST(StageSpec, APruneStageNeedsAKnownPruner) {
  expect_spec_error(after_train(R"({"type": "prune", )" + kConv50 + "}"),
                    "demo.json: stages[1]: expected a key 'pruner' (a pruner name), got none");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l3norm", )" + kConv50 + "}"),
                    "demo.json: stages[1].pruner: expected one of level, l1norm, l2norm, fpgm, slim, taylorfo, apoz, "
                    "mean_activation, movement, admm, got \"l3norm\" (Hint: did you mean \"l1norm\"?)");
}

TEST(StageSpec, PrunerOptionsAreTheKeysOfThatPruner) {
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "level", "pruner_options": {"block": 4}, )" + kConv50 + "}"),
                    "demo.json: stages[1].pruner_options.block: expected a key among balance_block, got an unknown key");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "pruner_options": {"scale": 1}, )" + kConv50 + "}"),
                    "demo.json: stages[1].pruner_options: expected no options (the l1norm pruner takes none), got "
                    "{\"scale\":1} (an object)");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "pruner_options": 3, )" + kConv50 + "}"),
                    "demo.json: stages[1].pruner_options: expected null or {} (the l1norm pruner takes no options), "
                    "got 3");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "level", "pruner_options": 3, )" + kConv50 + "}"),
                    "demo.json: stages[1].pruner_options: expected an object of options, got 3");
}

TEST(StageSpec, APruneStageNeedsAConfigList) {
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm"})"),
                    "demo.json: stages[1]: expected a key 'config_list' (which layers, with which settings: "
                    "[{\"op_types\": [...], ...}]), got none");
}

TEST(StageSpec, ConfigListErrorsComeBelowTheStagesPath) {
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm",
                                   "config_list": [{"op_types": ["Conv2d"], "sparsity": 1.5}]})"),
                    "demo.json: stages[1].config_list[0]['sparsity']: expected a number in [0, 1), got 1.5");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "config_list": {}})"),
                    "demo.json: stages[1].config_list: expected a list of dicts [{...}, ...], got {} (an object)");
}

TEST(StageSpec, AScheduleMustBeKnownAndItsOptionsNeedIt) {
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "schedule": "cubic", )" + kConv50 + "}"),
                    "demo.json: stages[1].schedule: expected one of agp, linear, lottery, got \"cubic\"");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "schedule_options": {}, )" + kConv50 + "}"),
                    "demo.json: stages[1].schedule_options: expected schedule_options only with a \"schedule\", got "
                    "them without one");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "schedule": "agp",
                                   "schedule_options": {"iterations": 2}, )" + kConv50 + "}"),
                    "demo.json: stages[1].schedule_options.iterations: expected a key among total_iteration, "
                    "frequency, start, unit, got an unknown key");
}

TEST(StageSpec, PruneEpochsAreNonNegative) {
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "pruning_epochs": -1, )" + kConv50 + "}"),
                    "demo.json: stages[1].pruning_epochs: expected an integer in [0, 100000], got -1");
  expect_spec_error(after_train(R"({"type": "prune", "pruner": "l1norm", "dependency_aware": 1, )" + kConv50 + "}"),
                    "demo.json: stages[1].dependency_aware: expected true or false, got 1");
}

TEST(StageSpec, AQuantizeStageNeedsAKnownQuantizer) {
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "int8", )" + kInt8 + "}"),
                    "demo.json: stages[1].quantizer: expected one of qat, ptq, naive, dorefa, bnn, lsq, got \"int8\"");
}

TEST(StageSpec, QuantizerOptionsAreTheKeysOfThatQuantizer) {
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "qat", "quantizer_options": {"fold": true}, )" +
                                kInt8 + "}"),
                    "demo.json: stages[1].quantizer_options.fold: expected a key among fold_bn, got an unknown key");
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "qat", "quantizer_options": {"fold_bn": [["0"]]}, )" +
                                kInt8 + "}"),
                    "demo.json: stages[1].quantizer_options.fold_bn[0]: expected a [conv, bn] name pair with exactly 2 "
                    "entries, got 1");
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "qat", "quantizer_options": {"fold_bn": "yes"}, )" +
                                kInt8 + "}"),
                    "demo.json: stages[1].quantizer_options.fold_bn: expected true, false or a list of [conv, bn] "
                    "name pairs, got \"yes\" (a string)");
}

TEST(StageSpec, QuantizeConfigListErrorsComeBelowTheStagesPath) {
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "qat",
                                   "config_list": [{"op_types": ["Conv2d"], "quant_bits": 64}]})"),
                    "demo.json: stages[1].config_list[0]['quant_bits']: expected an integer in [1, 32], got 64");
}

TEST(StageSpec, PtqNeedsCalibrationBatchesAndNoEpochs) {
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "ptq", )" + kInt8 + "}"),
                    "demo.json: stages[1]: expected a key 'calibration_batches' (the training batches ptq observes, "
                    "> 0), got none");
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "ptq", "calibration_batches": 0, )" + kInt8 + "}"),
                    "demo.json: stages[1].calibration_batches: expected an integer in [1, 1000000], got 0");
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "ptq", "calibration_batches": 2, "epochs": 1, )" +
                                kInt8 + "}"),
                    "demo.json: stages[1].epochs: expected 0 for ptq (it observes calibration_batches, it does not "
                    "train), got 1");
  const PipelineSpec spec = parse_demo(
      after_train(R"({"type": "quantize", "quantizer": "ptq", "calibration_batches": 2, "epochs": 0, )" + kInt8 + "}"));
  EXPECT_EQ(spec.stages[1].calibration_batches, 2);
  EXPECT_EQ(spec.stages[1].epochs, 0);
}

TEST(StageSpec, OnlyPtqTakesCalibrationBatches) {
  expect_spec_error(after_train(R"({"type": "quantize", "quantizer": "qat", "calibration_batches": 2, )" + kInt8 + "}"),
                    "demo.json: stages[1].calibration_batches: expected calibration_batches only for ptq (qat does "
                    "not calibrate), got 2");
}

TEST(StageSpec, ADistillStageNeedsAConfig) {
  expect_spec_error(after_train(R"({"type": "distill", "teacher_stage": "train"})"),
                    "demo.json: stages[1]: expected a key 'distill_config' (a list of losses: [{\"loss\": "
                    "\"soft_label\", ...}]), got none");
}

TEST(StageSpec, DistillConfigErrorsComeBelowTheStagesPath) {
  expect_spec_error(after_train(R"({"type": "distill", "teacher_stage": "train",
                                   "distill_config": [{"loss": "soft_label", "alpha": 2}]})"),
                    "demo.json: stages[1].distill_config[0].alpha: expected a number in [0, 1], got 2");
  expect_spec_error(after_train(R"({"type": "distill", "teacher_stage": "train", "distill_config": []})"),
                    "demo.json: stages[1].distill_config: expected a non-empty JSON list of losses, got an empty list");
}

TEST(StageSpec, ADistillStageNeedsExactlyOneTeacher) {
  const std::string message = "demo.json: stages[1]: expected exactly one of 'teacher' (a model: {\"zoo\": name, "
                              "\"weights\": path} or {\"file\": path}) and 'teacher_stage' (the name of an earlier "
                              "stage), got ";
  expect_spec_error(after_train(R"({"type": "distill", )" + kSoftLabel + "}"), message + "neither");
  expect_spec_error(after_train(R"({"type": "distill", "teacher": {"zoo": "mlp"}, "teacher_stage": "train", )" +
                                kSoftLabel + "}"),
                    message + "both");
}

TEST(StageSpec, ATeacherStageMustComeEarlier) {
  expect_spec_error(with_stages(R"([{"type": "train", "epochs": 1, "name": "a"},
      {"type": "distill", "teacher_stage": "b", )" + kSoftLabel + R"(}, {"type": "train", "epochs": 1, "name": "b"}])"),
                    "demo.json: stages[1].teacher_stage: expected the name of an earlier stage (a), got \"b\"");
  expect_spec_error(with_stages(R"([{"type": "distill", "teacher_stage": "x", )" + kSoftLabel + R"(},
      {"type": "train", "epochs": 1}])"),
                    "demo.json: stages[0].teacher_stage: expected the name of an earlier stage (none: this is the "
                    "first stage), got \"x\"");
}

TEST(StageSpec, ATeacherModelIsCheckedAsTheModelIs) {
  expect_spec_error(after_train(R"({"type": "distill", "teacher": {"zoo": "vgg"}, )" + kSoftLabel + "}"),
                    "demo.json: stages[1].teacher.zoo: expected one of mlp, naive, lenet5, vgg_small, resnet20, "
                    "mobilenet_small, inception_small, got \"vgg\"");
}

TEST(StageSpec, SpeedupKeysAreChecked) {
  expect_spec_error(with_stages(R"([{"type": "speedup", "speedup_mode": "all"}])"),
                    "demo.json: stages[0].speedup_mode: expected one of union, intersection, got \"all\"");
  expect_spec_error(with_stages(R"([{"type": "speedup", "round_to": 0}])"),
                    "demo.json: stages[0].round_to: expected an integer in [1, 4096], got 0");
  const PipelineSpec spec = parse_demo(with_stages(R"([{"type": "speedup"}])"));
  EXPECT_EQ(spec.stages[0].speedup_mode, "union");
  EXPECT_EQ(spec.stages[0].round_to, 1);
}

TEST(StageSpec, ExportsAreKnownNamesEachOnce) {
  expect_spec_error(with_stages(R"([{"type": "export", "exports": ["onnx"]}])"),
                    "demo.json: stages[0].exports[0]: expected one of model, weights, masks, calibration, int8, got "
                    "\"onnx\"");
  expect_spec_error(with_stages(R"([{"type": "export", "exports": ["masks", "masks"]}])"),
                    "demo.json: stages[0].exports[1]: expected each name once, got \"masks\" again");
  expect_spec_error(with_stages(R"([{"type": "export", "exports": []}])"),
                    "demo.json: stages[0].exports: expected a list of names with at least 1 entry, got 0");
  EXPECT_TRUE(parse_demo(with_stages(R"([{"type": "export"}])")).stages[0].exports.empty());
}

TEST(StageSpec, SensitivityRatiosLieInZeroOneAscending) {
  expect_spec_error(with_stages(R"([{"type": "sensitivity", "ratios": [0.5, 1]}])"),
                    "demo.json: stages[0].ratios[1]: expected a number in (0, 1), got 1");
  expect_spec_error(with_stages(R"([{"type": "sensitivity", "ratios": [0.5, 0.3]}])"),
                    "demo.json: stages[0].ratios[1]: expected ratios in ascending order, each once, got 0.3 after 0.5");
  expect_spec_error(with_stages(R"([{"type": "sensitivity", "sensitivity_images": -1}])"),
                    "demo.json: stages[0].sensitivity_images: expected an integer >= 0, got -1");
  const PipelineSpec spec = parse_demo(with_stages(R"([{"type": "sensitivity"}])"));
  EXPECT_EQ(spec.stages[0].ratios, (std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}));
}

}  // namespace
}  // namespace shrink::pipeline
