// compression/pruning/pruning_checkpoint.h: a pruning run (AGP, LotteryTicket, Movement, ADMM)
// interrupted after a few epochs and resumed in a fresh model, optimizer, scheduler and pruner
// ends bit-identical (weights and masks) to the uninterrupted run; and the errors of loading
// into the wrong pruner.
#include "compression/pruning/pruning_checkpoint.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/movement_pruner.h"
#include "compression/pruning/scheduled_pruners.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/checkpoint.h"
#include "nn/models/registry.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
#include "tests/compression/pruning/mask_counts.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;
using testing::TempDir;

/// The pruner of a run behind one interface (Pruner and ScheduledPruner share no base).
struct PrunerHandle {
  std::function<void()> compress;
  std::function<void(std::int64_t)> update_epoch;
  std::function<void()> step;
  std::function<io::StateDict()> masks;
  /// Added to the loss (ADMM's penalty); null for the others.
  std::function<Tensor()> extra_loss;
  std::function<void(const std::string&, std::int64_t)> save;
  std::function<std::int64_t(const std::string&)> load;
};

/// lenet5 trained by SGD (momentum, weight decay) with StepLR, data from the default generator.
struct PruningRun {
  nn::ModulePtr model;
  std::unique_ptr<optim::SGD> opt;
  std::unique_ptr<optim::StepLR> sched;
  std::shared_ptr<void> owner;  // keeps the pruner alive
  PrunerHandle pruner;
};

template <typename P>
PrunerHandle handle_of(PruningRun& r, std::shared_ptr<P> p) {
  PrunerHandle h;
  h.compress = [p] { p->compress(); };
  h.update_epoch = [p](std::int64_t e) { p->update_epoch(e); };
  h.step = [p] { p->step(); };
  h.masks = [p] { return p->get_masks(); };
  h.save = [&r, p](const std::string& path, std::int64_t epoch) {
    save_pruning_checkpoint(path, *r.model, r.opt.get(), r.sched.get(), epoch, *p);
  };
  h.load = [&r, p](const std::string& path) {
    return load_pruning_checkpoint(path, *r.model, r.opt.get(), r.sched.get(), *p);
  };
  r.owner = p;
  return h;
}

const char* kConfig = R"([{"op_types": ["default"], "sparsity": 0.75}])";

/// Builds a run of `kind` with its model initialised from `init_seed`.
void build(PruningRun& r, const std::string& kind, std::uint64_t init_seed) {
  manual_seed(init_seed);
  r.model = models::create("lenet5");
  r.opt = std::make_unique<optim::SGD>(r.model->named_parameters(),
                                       optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-3));
  r.sched = std::make_unique<optim::StepLR>(*r.opt, 2, 0.5);
  const ConfigList config = ConfigList::parse(kConfig);
  if (kind == "agp") {
    r.pruner = handle_of(r, std::make_shared<AGPPruner>(std::make_shared<LevelPruner>(r.model, config),
                                                        ScheduleOptions{.total_iteration = 3}));
  } else if (kind == "lottery") {
    r.pruner = handle_of(
        r, std::make_shared<LotteryTicketPruner>(
               std::make_shared<L1NormPruner>(r.model, config),
               LotteryTicketOptions{.schedule = {.total_iteration = 3, .frequency = 3, .unit = ScheduleUnit::Step},
                                    .optimizer = r.opt.get(),
                                    .scheduler = r.sched.get()}));
  } else if (kind == "movement") {
    r.pruner =
        handle_of(r, std::make_shared<MovementPruner>(
                         r.model, config, MovementPrunerOptions{.warm_up_step = 1, .cool_down_beginning_step = 6}));
  } else {
    auto admm = std::make_shared<ADMMPruner>(r.model, config, ADMMPrunerOptions{.rho = 1e-2, .iterations = 3});
    r.pruner = handle_of(r, admm);
    r.pruner.extra_loss = [admm] { return admm->penalty(); };
  }
}

/// Epochs [from, to) of two batches of 4 each.
void train(PruningRun& r, std::int64_t from, std::int64_t to) {
  for (std::int64_t epoch = from; epoch < to; ++epoch) {
    r.pruner.update_epoch(epoch);
    for (int s = 0; s < 2; ++s) {
      const Tensor x = randn({4, 1, 28, 28});
      const Tensor y = randint(0, 10, {4});
      Tensor loss = cross_entropy((*r.model)(x), y);
      if (r.pruner.extra_loss) loss = add(loss, r.pruner.extra_loss());
      r.opt->zero_grad();
      loss.backward();
      r.opt->step();
      r.pruner.step();
    }
    r.sched->step();
  }
}

class ResumedRun : public ::testing::TestWithParam<std::string> {};

TEST_P(ResumedRun, EndsBitIdenticalToTheUninterruptedRun) {
  constexpr std::int64_t kEpochs = 5, kInterrupt = 2;
  PruningRun full;
  build(full, GetParam(), 1);
  full.pruner.compress();
  manual_seed(100);  // the data
  train(full, 0, kEpochs);

  TempDir dir;
  const std::string path = dir.file("run.ckpt.h5");
  {
    PruningRun first;
    build(first, GetParam(), 1);
    first.pruner.compress();
    manual_seed(100);
    train(first, 0, kInterrupt);
    first.pruner.save(path, kInterrupt);
  }
  PruningRun resumed;
  build(resumed, GetParam(), 2);  // other initial weights: everything must come from the file
  resumed.pruner.compress();
  manual_seed(12345);  // another generator state: the checkpoint restores it
  const std::int64_t start = resumed.pruner.load(path);
  EXPECT_EQ(start, kInterrupt);
  train(resumed, start, kEpochs);

  const io::StateDict a = full.model->state_dict(), b = resumed.model->state_dict();
  ASSERT_EQ(a.keys(), b.keys());
  for (const auto& [key, t] : a) EXPECT_TRUE(testing::tensors_identical(b.at(key), t)) << key;
  const io::StateDict ma = full.pruner.masks(), mb = resumed.pruner.masks();
  ASSERT_EQ(ma.keys(), mb.keys());
  std::int64_t pruned = 0;
  for (const auto& [key, m] : ma) {
    EXPECT_EQ(mb.at(key).to_vector(), m.to_vector()) << key;
    pruned += testing::zeros_in(m);
  }
  EXPECT_GT(pruned, 0);  // the run did prune after the interruption
}

INSTANTIATE_TEST_SUITE_P(Pruners, ResumedRun, ::testing::Values("agp", "lottery", "movement", "admm"),
                         [](const auto& info) { return info.param; });

TEST(PruningCheckpoint, LoadingIntoAnotherPrunerIsAClearError) {
  TempDir dir;
  PruningRun agp;
  build(agp, "agp", 1);
  agp.pruner.compress();
  agp.pruner.save(dir.file("agp.h5"), 0);
  // Same model and masks, another schedule.
  auto model = models::create("lenet5");
  auto level = std::make_shared<LevelPruner>(model, ConfigList::parse(kConfig));
  LinearPruner linear(level, {.total_iteration = 3});
  expect_message<StateError>(
      [&] { load_pruning_checkpoint(dir.file("agp.h5"), *model, nullptr, nullptr, linear); },
      "load_pruning_checkpoint: expected a compressed LinearPruner, got one that is not (Hint: call compress() before "
      "loading: it attaches the mask buffers)");
  linear.compress();
  expect_message<ValueError>(
      [&] { load_pruning_checkpoint(dir.file("agp.h5"), *model, nullptr, nullptr, linear); },
      ("load_pruning_checkpoint: " + dir.file("agp.h5") +
       ": expected the state of LinearPruner(LevelPruner), got that of AGPPruner(LevelPruner) (Hint: resume with the "
       "pruner of the saved run)")
          .c_str());
  // A training checkpoint without pruner state.
  nn::save_checkpoint(dir.file("plain.h5"), *model, nullptr, nullptr, 0);
  expect_message<ValueError>(
      [&] { load_pruning_checkpoint(dir.file("plain.h5"), *model, nullptr, nullptr, *level); },
      ("load_pruning_checkpoint: " + dir.file("plain.h5") +
       ": expected the state of LevelPruner, got no pruner state (Hint: nn::save_checkpoint keeps no pruner state; use "
       "save_pruning_checkpoint)")
          .c_str());
}

}  // namespace
}  // namespace shrink::compression
