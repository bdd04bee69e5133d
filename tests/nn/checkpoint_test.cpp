// nn/checkpoint.h: exact resume of training from a checkpoint (model, optimizer, scheduler,
// epoch, generator), the errors of restoring into something that does not fit, and weights files
// for every zoo model.
#include "nn/checkpoint.h"

#include <gtest/gtest.h>

#include <memory>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "io/checkpoint.h"
#include "io/state_dict_file.h"
#include "nn/models/registry.h"
#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"
#include "tests/support/errors.h"
#include "tests/io/temp_dir.h"
#include "tests/support/fixtures.h"

namespace shrink::nn {
namespace {

using testing::TempDir;

using testing::error_of;

/// One training run: a zoo model, its optimizer and scheduler, and the generator that draws the
/// data (so resuming must restore it too).
struct TrainingRun {
  ModulePtr model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> scheduler;
  Generator data_gen;
};

/// SGD with momentum, Nesterov and weight decay + StepLR on "mlp"; AdamW + cosine on
/// "mobilenet_small" (BatchNorm buffers, Adam's moments and step counts).
struct Recipe {
  std::string model;
  bool adam;
};

TrainingRun make_run(const Recipe& recipe, std::uint64_t init_seed, std::uint64_t data_seed) {
  TrainingRun r;
  manual_seed(init_seed);
  r.model = models::create(recipe.model);
  if (recipe.adam) {
    auto adam = std::make_unique<optim::AdamW>(r.model->named_parameters(), optim::AdamWOptions(1e-2).weight_decay(1e-2));
    r.scheduler = std::make_unique<optim::CosineAnnealingLR>(*adam, 5);
    r.optimizer = std::move(adam);
  } else {
    auto sgd = std::make_unique<optim::SGD>(r.model->named_parameters(),
                                            optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4).nesterov(true));
    r.scheduler = std::make_unique<optim::StepLR>(*sgd, 2, 0.5);
    r.optimizer = std::move(sgd);
  }
  r.data_gen.manual_seed(data_seed);
  return r;
}

/// `steps` training steps on random data drawn from run.data_gen; the scheduler steps after each
/// (an "epoch" of one batch, so the learning rate changes across the checkpoint).
void train(TrainingRun& r, int steps) {
  r.model->train();
  for (int s = 0; s < steps; ++s) {
    const Tensor x = randn({4, 1, 28, 28}, &r.data_gen);
    const Tensor y = randint(0, 10, {4}, &r.data_gen);
    Tensor loss = cross_entropy((*r.model)(x), y);
    r.optimizer->zero_grad();
    loss.backward();
    r.optimizer->step();
    r.scheduler->step();
  }
}

::testing::AssertionResult same_state(const Module& a, const Module& b) {
  const io::StateDict sa = a.state_dict(), sb = b.state_dict();
  if (sa.keys() != sb.keys()) return ::testing::AssertionFailure() << "different keys";
  for (const auto& [key, t] : sa) {
    const Tensor& u = sb.at(key);
    if (t.dtype() != DType::Float32) {
      if (t.to_vector() != u.to_vector()) return ::testing::AssertionFailure() << key << " differs";
      continue;
    }
    auto r = testing::tensors_identical(t, u);
    if (!r) return r << " (" << key << ")";
  }
  return ::testing::AssertionSuccess();
}

class Resume : public ::testing::TestWithParam<Recipe> {};

TEST_P(Resume, ContinuingFromACheckpointIsBitIdentical) {
  TempDir dir;
  const std::string path = dir.file("run.ckpt.h5");
  TrainingRun original = make_run(GetParam(), 1, 7);
  train(original, 3);
  save_checkpoint(path, *original.model, original.optimizer.get(), original.scheduler.get(), 3, &original.data_gen);
  train(original, 3);

  // Another initialisation, another data seed: everything must come from the checkpoint.
  TrainingRun resumed = make_run(GetParam(), 2, 8);
  ASSERT_FALSE(same_state(*original.model, *resumed.model));
  EXPECT_EQ(load_checkpoint(path, *resumed.model, resumed.optimizer.get(), resumed.scheduler.get(), &resumed.data_gen),
            3);
  EXPECT_EQ(resumed.scheduler->last_epoch(), 3);
  train(resumed, 3);

  EXPECT_TRUE(same_state(*original.model, *resumed.model));
  EXPECT_EQ(resumed.optimizer->lr(), original.optimizer->lr());
  EXPECT_EQ(resumed.scheduler->last_epoch(), original.scheduler->last_epoch());
  const optim::OptimizerState so = original.optimizer->state_dict(), sr = resumed.optimizer->state_dict();
  EXPECT_EQ(sr.groups, so.groups);
  ASSERT_EQ(sr.tensors.keys(), so.tensors.keys());
  for (const auto& [key, t] : so.tensors) EXPECT_EQ(sr.tensors.at(key).to_vector(), t.to_vector()) << key;
}

TEST_P(Resume, ResumingWithoutTheOptimizerOrTheGeneratorDiverges) {
  // The resume test above can fail: leaving out one part changes the result.
  TempDir dir;
  const std::string path = dir.file("run.ckpt.h5");
  TrainingRun original = make_run(GetParam(), 1, 7);
  train(original, 3);
  save_checkpoint(path, *original.model, original.optimizer.get(), original.scheduler.get(), 3, &original.data_gen);
  train(original, 2);

  TrainingRun no_optimizer = make_run(GetParam(), 1, 7);
  load_checkpoint(path, *no_optimizer.model, nullptr, no_optimizer.scheduler.get(), &no_optimizer.data_gen);
  train(no_optimizer, 2);
  EXPECT_FALSE(same_state(*original.model, *no_optimizer.model));

  TrainingRun no_rng = make_run(GetParam(), 1, 7);
  load_checkpoint(path, *no_rng.model, no_rng.optimizer.get(), no_rng.scheduler.get(), nullptr);
  train(no_rng, 2);
  EXPECT_FALSE(same_state(*original.model, *no_rng.model));
}

INSTANTIATE_TEST_SUITE_P(Recipes, Resume, ::testing::Values(Recipe{"mlp", false}, Recipe{"mobilenet_small", true}),
                         [](const auto& info) { return info.param.model; });

TEST(Checkpoint, RestoresTheEpochsLearningRateEvenWhenTheScheduleWouldDiffer) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  TrainingRun run = make_run({"mlp", false}, 1, 7);
  train(run, 3);                 // StepLR(2, 0.5): lr 0.05 -> 0.025 at epoch 2
  run.optimizer->set_lr(0.001);  // a manual change after the scheduler's step is kept, as in PyTorch
  save_checkpoint(path, *run.model, run.optimizer.get(), run.scheduler.get(), 3, nullptr);
  TrainingRun fresh = make_run({"mlp", false}, 1, 7);
  load_checkpoint(path, *fresh.model, fresh.optimizer.get(), fresh.scheduler.get(), nullptr);
  EXPECT_EQ(fresh.optimizer->lr(), 0.001);
  fresh.scheduler->step();  // epoch 4: back on the schedule from the initial rate
  EXPECT_EQ(fresh.optimizer->lr(), 0.05 * 0.25);
}

TEST(Checkpoint, MakeAndRestoreCarryCompressorStateThrough) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  TrainingRun run = make_run({"mlp", false}, 1, 7);
  io::Checkpoint c = make_checkpoint(*run.model, run.optimizer.get(), run.scheduler.get(), 2, &run.data_gen);
  c.compressor = {{"sparsity", 0.5}};
  c.compressor_tensors.insert("fc1.weight", ones({300, 784}).to(DType::UInt8));
  io::save_checkpoint(c, path);
  const io::Checkpoint back = io::load_checkpoint(path);
  EXPECT_EQ(back.compressor["sparsity"], 0.5);
  EXPECT_EQ(back.compressor_tensors.at("fc1.weight").shape(), (Shape{300, 784}));
  TrainingRun fresh = make_run({"mlp", false}, 2, 8);
  EXPECT_EQ(restore_checkpoint(back, *fresh.model, fresh.optimizer.get(), fresh.scheduler.get(), &fresh.data_gen), 2);
  EXPECT_TRUE(same_state(*run.model, *fresh.model));
  EXPECT_EQ(fresh.data_gen.state(), run.data_gen.state());
}

TEST(Checkpoint, MakeCheckpointTakesASnapshot) {
  TrainingRun run = make_run({"mlp", false}, 1, 7);
  const io::Checkpoint c = make_checkpoint(*run.model, nullptr, nullptr, 0, nullptr);
  const Tensor before = c.model.at("fc1.weight").clone();
  train(run, 1);
  EXPECT_TRUE(testing::tensors_identical(c.model.at("fc1.weight"), before));
}

TEST(Checkpoint, ErrorsNameTheFileAndTheMissingPart) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  TrainingRun run = make_run({"mlp", false}, 1, 7);
  save_checkpoint(path, *run.model, nullptr, nullptr, 0, nullptr);
  const std::string prefix = "load_checkpoint: '" + path + "': ";
  EXPECT_EQ(error_of<ValueError>([&] { load_checkpoint(path, *run.model, run.optimizer.get(), nullptr, nullptr); }),
            prefix +
                "expected an optimizer state, got a checkpoint saved without optimizer (Hint: pass optimizer = "
                "nullptr to load only the other parts)");
  EXPECT_EQ(error_of<ValueError>([&] { load_checkpoint(path, *run.model, nullptr, run.scheduler.get(), nullptr); }),
            prefix +
                "expected a scheduler state, got a checkpoint saved without scheduler (Hint: pass scheduler = "
                "nullptr to load only the other parts)");
  EXPECT_EQ(error_of<ValueError>([&] { load_checkpoint(path, *run.model, nullptr, nullptr, &run.data_gen); }),
            prefix +
                "expected a generator state, got a checkpoint saved without one (Hint: pass rng = nullptr to "
                "load only the other parts)");
  EXPECT_EQ(load_checkpoint(path, *run.model, nullptr, nullptr, nullptr), 0);

  io::Checkpoint bad_rng = make_checkpoint(*run.model, nullptr, nullptr, 0, &run.data_gen);
  bad_rng.rng["generator"] = "not a state";
  EXPECT_EQ(error_of<ValueError>([&] { restore_checkpoint(bad_rng, *run.model, nullptr, nullptr, &run.data_gen); }),
            "restore_checkpoint: expected a generator state from Generator::state(), got 11 characters that do not "
            "parse");
}

TEST(Checkpoint, RefusesImplausibleOrIncompleteStateAndChangesNothing) {
  TrainingRun run = make_run({"mlp", false}, 1, 7);
  train(run, 1);  // every parameter now has a momentum buffer
  const io::Checkpoint good = make_checkpoint(*run.model, run.optimizer.get(), run.scheduler.get(), 1, &run.data_gen);
  TrainingRun target = make_run({"mlp", false}, 2, 8);
  const ModulePtr before = target.model->clone();
  const std::string gen_before = target.data_gen.state();
  auto error_restoring = [&](const io::Checkpoint& c) {
    return error_of<ValueError>(
        [&] { restore_checkpoint(c, *target.model, target.optimizer.get(), target.scheduler.get(), &target.data_gen); });
  };
  io::Checkpoint negative_epoch = good;
  negative_epoch.epoch = -1;
  EXPECT_EQ(error_restoring(negative_epoch), "restore_checkpoint: expected an epoch >= 0, got -1");
  io::Checkpoint negative_lr = good;
  (*negative_lr.optimizer_groups)[0]["lr"] = -0.1;
  EXPECT_EQ(error_restoring(negative_lr),
            "restore_checkpoint: optimizer group 0: option 'lr': expected a finite number >= 0, got -0.1");
  io::Checkpoint zero_rng = good;
  std::string zeros_state = "5";
  for (int i = 0; i < 312; ++i) zeros_state += " 0";
  zero_rng.rng["generator"] = zeros_state + " 312";
  EXPECT_EQ(error_restoring(zero_rng),
            "restore_checkpoint: expected a generator state from Generator::state(), got an all-zero state (it would "
            "generate only zeros)");
  io::Checkpoint no_buffer = good;
  ASSERT_TRUE(no_buffer.optimizer.erase("fc2.weight.momentum_buffer"));
  EXPECT_EQ(error_restoring(no_buffer),
            "restore_checkpoint: optimizer state of 'fc2.weight': expected the slots momentum_buffer, got none "
            "(missing momentum_buffer) (Hint: the checkpoint is incomplete or was saved by another optimizer)");
  EXPECT_TRUE(same_state(*target.model, *before));
  EXPECT_EQ(target.data_gen.state(), gen_before);
  EXPECT_EQ(target.optimizer->lr(), 0.05);
  // A checkpoint saved before the first step has no buffers at all: that is complete.
  TrainingRun fresh = make_run({"mlp", false}, 1, 7);
  restore_checkpoint(make_checkpoint(*fresh.model, fresh.optimizer.get(), nullptr, 0, nullptr), *target.model,
                     target.optimizer.get(), nullptr, nullptr);

  TrainingRun adam = make_run({"mlp", true}, 1, 7);
  train(adam, 1);
  io::Checkpoint no_moment = make_checkpoint(*adam.model, adam.optimizer.get(), nullptr, 1, nullptr);
  ASSERT_TRUE(no_moment.optimizer.erase("fc1.weight.exp_avg"));
  TrainingRun adam_target = make_run({"mlp", true}, 2, 8);
  EXPECT_EQ(error_of<ValueError>(
                [&] { restore_checkpoint(no_moment, *adam_target.model, adam_target.optimizer.get(), nullptr, nullptr); }),
            "restore_checkpoint: optimizer state of 'fc1.weight': expected the slots exp_avg, exp_avg_sq, step, got "
            "exp_avg_sq, step (missing exp_avg) (Hint: the checkpoint is incomplete or was saved by another "
            "optimizer)");
}

TEST(Checkpoint, RefusesAnotherModelOrOptimizerAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.file("c.h5");
  TrainingRun run = make_run({"mlp", false}, 1, 7);
  train(run, 1);
  save_checkpoint(path, *run.model, run.optimizer.get(), run.scheduler.get(), 1, &run.data_gen);
  const std::string prefix = "load_checkpoint: '" + path + "': ";

  TrainingRun lenet = make_run({"lenet5", false}, 3, 9);
  const ModulePtr lenet_before = lenet.model->clone();
  const std::string gen_before = lenet.data_gen.state();
  const std::string msg =
      error_of<ValueError>([&] { load_checkpoint(path, *lenet.model, nullptr, lenet.scheduler.get(), &lenet.data_gen); });
  EXPECT_EQ(msg, prefix +
                     "the checkpoint's model does not fit this LeNet5: missing keys: conv1.weight, conv1.bias, "
                     "conv2.weight, conv2.bias; shape/dtype mismatch: fc1.weight "
                     "(expected [120, 400] float32, got [300, 784] float32), fc1.bias (expected [120] float32, "
                     "got [300] float32), fc2.weight (expected [84, 120] float32, got [100, 300] float32), "
                     "fc2.bias (expected [84] float32, got [100] float32), fc3.weight (expected [10, 84] float32, "
                     "got [10, 100] float32) "
                     "(Hint: build the same model as the run that saved the checkpoint)");
  EXPECT_TRUE(same_state(*lenet.model, *lenet_before));
  EXPECT_EQ(lenet.scheduler->last_epoch(), 0);
  EXPECT_EQ(lenet.data_gen.state(), gen_before);

  // Same model, other optimizer type.
  TrainingRun adam = make_run({"mlp", true}, 1, 7);
  const ModulePtr adam_before = adam.model->clone();
  EXPECT_EQ(error_of<ValueError>([&] { load_checkpoint(path, *adam.model, adam.optimizer.get(), nullptr, nullptr); }),
            prefix +
                "optimizer group 0: expected the options amsgrad, beta1, beta2, eps, lr, weight_decay, got "
                "dampening, lr, momentum, nesterov, weight_decay (Hint: the checkpoint was saved with another "
                "optimizer type)");
  EXPECT_TRUE(same_state(*adam.model, *adam_before));

  // Same model, an optimizer over only some of its parameters.
  TrainingRun partial = make_run({"mlp", false}, 1, 7);
  auto named = partial.model->named_parameters();
  optim::SGD head(optim::NamedParameters(named.begin() + 4, named.end()), optim::SGDOptions{});
  EXPECT_EQ(error_of<ValueError>([&] { load_checkpoint(path, *partial.model, &head, nullptr, nullptr); }),
            prefix +
                "optimizer group 0: expected 2 parameters starting 'fc3.weight' at position 0, got 6 with "
                "'fc1.weight' there (Hint: build the optimizer over the same model's named_parameters, in the "
                "same groups)");
  optim::SGD two_groups(
      std::vector<optim::ParamGroup>{{{named.begin(), named.begin() + 2}, {}}, {{named.begin() + 2, named.end()}, {}}},
      optim::SGDOptions{});
  EXPECT_EQ(error_of<ValueError>([&] { load_checkpoint(path, *partial.model, &two_groups, nullptr, nullptr); }),
            prefix + "expected 2 optimizer parameter group(s), got 1");

  io::Checkpoint wrong_slot = io::load_checkpoint(path);
  wrong_slot.optimizer.set("fc1.weight.momentum_buffer", zeros({3}));
  EXPECT_EQ(
      error_of<ValueError>([&] { restore_checkpoint(wrong_slot, *partial.model, partial.optimizer.get(), nullptr, nullptr); }),
      "restore_checkpoint: optimizer state 'fc1.weight.momentum_buffer': expected float32 [300, 784] like its "
      "parameter, got float32 [3]");
  io::Checkpoint stray = io::load_checkpoint(path);
  stray.optimizer.insert("conv9.weight.momentum_buffer", zeros({3}));
  EXPECT_EQ(error_of<ValueError>([&] { restore_checkpoint(stray, *partial.model, partial.optimizer.get(), nullptr, nullptr); }),
            "restore_checkpoint: optimizer state 'conv9.weight.momentum_buffer': expected '<parameter>.<slot>' naming "
            "a parameter of this optimizer, got none named 'conv9.weight'");
}

// ---- weights files ------------------------------------------------------------------------------

class Weights : public ::testing::TestWithParam<std::string> {};

TEST_P(Weights, SaveAndLoadRoundTripEveryEntry) {
  TempDir dir;
  const std::string path = dir.file("w.h5");
  manual_seed(1);
  ModulePtr saved = models::create(GetParam());
  {
    // One training-mode forward moves BatchNorm's running statistics and num_batches_tracked off
    // their initial values, so that buffers are checked too.
    NoGradGuard no_grad;
    (*saved)(randn({2, 1, 28, 28}));
  }
  for (const auto& [key, t] : saved->state_dict())
    if (t.dtype() == DType::Int64) EXPECT_EQ(t.item<std::int64_t>(), 1) << key;
  save_weights(*saved, path);
  manual_seed(2);
  ModulePtr loaded = models::create(GetParam());
  ASSERT_FALSE(same_state(*saved, *loaded));
  load_weights(*loaded, path);
  EXPECT_TRUE(same_state(*saved, *loaded));
  EXPECT_EQ(io::load_state_dict(path).keys(), saved->state_dict().keys());
}

INSTANTIATE_TEST_SUITE_P(Zoo, Weights, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

TEST(WeightsFile, LoadChecksKeysShapesAndTheFileBeforeCopying) {
  TempDir dir;
  const std::string path = dir.file("mlp.h5");
  manual_seed(1);
  ModulePtr mlp = models::create("mlp");
  save_weights(*mlp, path);
  manual_seed(2);
  ModulePtr lenet = models::create("lenet5");
  const ModulePtr before = lenet->clone();
  EXPECT_EQ(error_of<IOError>([&] { load_weights(*lenet, path); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got missing keys: conv1.weight, "
                "conv1.bias, conv2.weight, conv2.bias; shape/dtype mismatch: fc1.weight (expected [120, 400] float32, got [300, 784] float32), fc1.bias (expected [120] "
                "float32, got [300] float32), fc2.weight (expected [84, 120] float32, got [100, 300] float32), "
                "fc2.bias (expected [84] float32, got [100] float32), fc3.weight (expected [10, 84] float32, got "
                "[10, 100] float32)");
  EXPECT_EQ(error_of<IOError>([&] { load_weights(*lenet, path, false); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got shape/dtype mismatch: fc1.weight (expected [120, 400] float32, got [300, 784] float32), fc1.bias (expected [120] "
                "float32, got [300] float32), fc2.weight (expected [84, 120] float32, got [100, 300] float32), "
                "fc2.bias (expected [84] float32, got [100] float32), fc3.weight (expected [10, 84] float32, got "
                "[10, 100] float32)");
  EXPECT_TRUE(same_state(*lenet, *before));
  EXPECT_EQ(error_of<IOError>([&] { load_weights(*lenet, dir.file("none.h5")); }),
            "load_state_dict: '" + dir.file("none.h5") + "': no such file");
}

TEST(WeightsFile, NonStrictLoadCopiesOnlyTheKeysPresentInBoth) {
  TempDir dir;
  const std::string path = dir.file("head.h5");
  manual_seed(1);
  ModulePtr mlp = models::create("mlp");
  io::StateDict head;
  head.insert("fc3.weight", mlp->state_dict().at("fc3.weight"));
  head.insert("classifier.weight", ones({2}));
  io::save_state_dict(head, path);
  manual_seed(3);
  ModulePtr other = models::create("mlp");
  const Tensor fc1 = other->state_dict().at("fc1.weight").clone();
  EXPECT_EQ(error_of<IOError>([&] { load_weights(*other, path); }),
            "load_state_dict: '" + path +
                "': expected the keys, shapes and dtypes of the model, got missing keys: fc1.weight, fc1.bias, "
                "fc2.weight, fc2.bias, fc3.bias; unexpected keys: classifier.weight");
  load_weights(*other, path, false);
  EXPECT_TRUE(testing::tensors_identical(other->state_dict().at("fc3.weight"), mlp->state_dict().at("fc3.weight")));
  EXPECT_TRUE(testing::tensors_identical(other->state_dict().at("fc1.weight"), fc1));
}

}  // namespace
}  // namespace shrink::nn
