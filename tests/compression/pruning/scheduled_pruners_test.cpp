// AGP, Linear and LotteryTicket (compression/pruning/scheduled_pruners.h): the sparsity at every
// epoch (or step) against the formulas, masks that only shrink, LotteryTicket's rewind to θ₀,
// the schedule's state and misuse errors.
#include "compression/pruning/scheduled_pruners.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/movement_pruner.h"
#include "compression/pruning/taylor_pruner.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/layers.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
#include "tests/compression/pruning/mask_counts.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;
using testing::pruned_channels;
using testing::zeros_in;

/// Conv2d(1, 8, 3) [72 weights, 8 filters] -> ReLU -> Flatten -> Linear(128, 5) [640 weights, 5 rows].
std::shared_ptr<nn::Sequential> small_cnn() {
  manual_seed(11);
  return std::make_shared<nn::Sequential>(nn::Sequential{std::make_shared<nn::Conv2d>(1, 8, 3),
                                                         std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
                                                         std::make_shared<nn::Linear>(8 * 4 * 4, 5)});
}

/// A few SGD steps on random data, so that the weights the next iteration ranks have moved.
void train(nn::Module& net, optim::Optimizer& opt, int steps) {
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Tensor loss = cross_entropy(net(randn({2, 1, 6, 6})), from_vector(std::vector<std::int64_t>{1, 3}, {2}));
    loss.backward();
    opt.step();
  }
}

/// Every zero of `before` is still a zero in `after`.
::testing::AssertionResult only_shrinks(const io::StateDict& before, const io::StateDict& after) {
  for (const auto& [key, mask] : before) {
    const std::vector<float> a = mask.to_vector(), b = after.at(key).to_vector();
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] == 0.0f && b[i] != 0.0f) return ::testing::AssertionFailure() << key << "[" << i << "] came back";
  }
  return ::testing::AssertionSuccess();
}

/// Written out from the papers' formulas (not the code under test): s_f · (1 − (1 − i/n)³).
double agp_target(double s_f, std::int64_t i, std::int64_t n) {
  return s_f * (1 - std::pow(1 - double(i) / double(n), 3));
}

TEST(AGPPruner, LevelSparsityFollowsTheCubicScheduleAtEveryEpoch) {
  auto net = small_cnn();
  optim::SGD opt(net->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  auto level = std::make_shared<LevelPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.8}])"));
  // n = 4 iterations, every 2 epochs from epoch 1: iterations at epochs 3, 5, 7, 9.
  AGPPruner agp(level, {.total_iteration = 4, .frequency = 2, .start = 1});
  agp.compress();
  io::StateDict previous = agp.get_masks();
  EXPECT_EQ(zeros_in(previous.at("0.weight")), 0);
  for (std::int64_t epoch = 0; epoch <= 11; ++epoch) {
    agp.update_epoch(epoch);
    const std::int64_t i = epoch < 1 ? 0 : std::min<std::int64_t>(4, (epoch - 1) / 2);
    EXPECT_EQ(agp.iteration(), i) << "epoch " << epoch;
    const io::StateDict masks = agp.get_masks();
    const double s = agp_target(0.8, i, 4);
    EXPECT_EQ(zeros_in(masks.at("0.weight")), std::int64_t(std::floor(s * 72))) << "epoch " << epoch;
    EXPECT_EQ(zeros_in(masks.at("3.weight")), std::int64_t(std::floor(s * 640))) << "epoch " << epoch;
    EXPECT_TRUE(only_shrinks(previous, masks)) << "epoch " << epoch;
    previous = masks;
    train(*net, opt, 2);
  }
  // The final sparsity exactly: floor(0.8 * 72) = 57.
  EXPECT_EQ(zeros_in(previous.at("0.weight")), 57);
}

TEST(AGPPruner, ChannelPrunerFollowsTheScheduleByStepsAndMasksTheBias) {
  auto net = small_cnn();
  optim::SGD opt(net->named_parameters(), optim::SGDOptions(0.1));
  auto l1 = std::make_shared<L1NormPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.75}])"));
  AGPPruner agp(l1, {.total_iteration = 3, .frequency = 1, .start = 2, .unit = ScheduleUnit::Step});
  agp.compress();
  io::StateDict previous = agp.get_masks();
  for (std::int64_t t = 1; t <= 7; ++t) {
    train(*net, opt, 1);
    agp.step();
    const std::int64_t i = t < 2 ? 0 : std::min<std::int64_t>(3, t - 2);
    EXPECT_EQ(agp.position(), t);
    const io::StateDict masks = agp.get_masks();
    const double s = agp_target(0.75, i, 3);
    EXPECT_EQ(pruned_channels(masks.at("0.weight")), std::int64_t(std::floor(s * 8))) << "step " << t;
    EXPECT_EQ(pruned_channels(masks.at("3.weight")), std::int64_t(std::floor(s * 5))) << "step " << t;
    EXPECT_EQ(zeros_in(masks.at("0.bias")), pruned_channels(masks.at("0.weight")));
    EXPECT_TRUE(only_shrinks(previous, masks)) << "step " << t;
    previous = masks;
  }
  // update_epoch does not move a step schedule.
  agp.update_epoch(50);
  EXPECT_EQ(agp.position(), 7);
  EXPECT_EQ(pruned_channels(previous.at("0.weight")), 6);  // floor(0.75 * 8)
}

TEST(AGPPruner, DrivesADataDrivenPrunerAtTheSchedulePointsOnly) {
  auto net = small_cnn();
  optim::SGD opt(net->named_parameters(), optim::SGDOptions(0.05));
  auto taylor =
      std::make_shared<TaylorFOWeightPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"),
                                             DataPrunerOptions{.reset_after_update = true});
  const TaylorFOWeightPruner& inner = *taylor;
  AGPPruner agp(taylor, {.total_iteration = 2, .frequency = 2});
  agp.compress();  // iteration 0 needs no statistics
  io::StateDict previous = agp.get_masks();
  for (std::int64_t epoch = 0; epoch <= 5; ++epoch) {
    agp.update_epoch(epoch);
    const double s = agp_target(0.5, std::min<std::int64_t>(2, epoch / 2), 2);
    const io::StateDict masks = agp.get_masks();
    EXPECT_EQ(pruned_channels(masks.at("0.weight")), std::int64_t(std::floor(s * 8))) << "epoch " << epoch;
    EXPECT_EQ(pruned_channels(masks.at("3.weight")), std::int64_t(std::floor(s * 5))) << "epoch " << epoch;
    EXPECT_TRUE(only_shrinks(previous, masks));
    previous = masks;
    // Statistics are cleared at the schedule points only (epochs 2 and 4), not at every epoch.
    EXPECT_EQ(inner.statistics("0").batches, epoch == 2 || epoch == 4 ? 0 : 2 * (epoch % 2)) << "epoch " << epoch;
    train(*net, opt, 2);
  }
}

TEST(AGPPruner, GlobalBudgetFollowsTheSchedule) {
  auto net = small_cnn();
  auto level =
      std::make_shared<LevelPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "total_sparsity": 0.6}])"));
  AGPPruner agp(level, {.total_iteration = 3});
  agp.compress();
  for (std::int64_t epoch = 0; epoch <= 4; ++epoch) {
    agp.update_epoch(epoch);
    const io::StateDict masks = agp.get_masks();
    const double s = agp_target(0.6, std::min<std::int64_t>(epoch, 3), 3);
    EXPECT_EQ(zeros_in(masks.at("0.weight")) + zeros_in(masks.at("3.weight")), std::int64_t(std::floor(s * 712)))
        << "epoch " << epoch;
  }
}

TEST(LinearPruner, SparsityRisesByEqualSteps) {
  auto net = small_cnn();
  auto level = std::make_shared<LevelPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  LinearPruner linear(level, {.total_iteration = 5});
  linear.compress();
  for (std::int64_t epoch = 0; epoch <= 6; ++epoch) {
    linear.update_epoch(epoch);
    const double s = 0.5 * double(std::min<std::int64_t>(epoch, 5)) / 5;
    EXPECT_EQ(zeros_in(linear.get_masks().at("3.weight")), std::int64_t(std::floor(s * 640 + 1e-9))) << epoch;
  }
}

TEST(LotteryTicketPruner, EachRoundKeepsTheGeometricFractionAndRewindsToThetaZero) {
  auto net = small_cnn();
  optim::SGD opt(net->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  optim::StepLR sched(opt, 1, 0.5);
  train(*net, opt, 1);  // the optimizer has momentum buffers at compress(): the reset restores these
  const optim::OptimizerState opt0 = opt.state_dict();
  const io::StateDict theta0 = net->state_dict();
  std::vector<Tensor> theta0_copy;
  for (const auto& [key, t] : theta0) theta0_copy.push_back(t.clone());
  auto level =
      std::make_shared<LevelPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.875}])"));
  int resets = 0;
  LotteryTicketPruner lt(
      level, {.schedule = {.total_iteration = 3}, .optimizer = &opt, .scheduler = &sched, .on_reset = [&resets] {
                ++resets;
              }});
  lt.compress();
  io::StateDict previous = lt.get_masks();
  for (std::int64_t round = 1; round <= 3; ++round) {
    train(*net, opt, 2);
    sched.step();
    lt.update_epoch(round);
    EXPECT_EQ(resets, round);
    const io::StateDict masks = lt.get_masks();
    // Round r keeps (1 − 0.875)^(r/3) = 0.5^r of the weights.
    const double keep = std::pow(0.125, double(round) / 3);
    EXPECT_EQ(zeros_in(masks.at("3.weight")), std::int64_t(std::floor((1 - keep) * 640 + 1e-9))) << round;
    EXPECT_TRUE(only_shrinks(previous, masks));
    previous = masks;
    // Every parameter and buffer is back at θ₀; the pruned weights at 0 (raw and masked).
    std::size_t k = 0;
    for (const auto& [key, t] : theta0) {
      Tensor expected = theta0_copy[k++];
      if (masks.contains(key)) expected = mul(expected, masks.at(key));
      EXPECT_TRUE(testing::tensors_identical(net->state_dict().at(key), expected)) << key << " round " << round;
    }
    const Tensor effective = net->find_module("3")->param_value("weight").detach();
    EXPECT_TRUE(testing::tensors_identical(effective, mul(theta0_copy[2], masks.at("3.weight"))));
    // The optimizer's state and the learning rate are those of compress() time.
    const optim::OptimizerState now = opt.state_dict();
    ASSERT_EQ(now.tensors.keys(), opt0.tensors.keys());
    for (const auto& [key, t] : opt0.tensors) EXPECT_TRUE(testing::tensors_identical(now.tensors.at(key), t)) << key;
    EXPECT_EQ(sched.last_epoch(), 0);
    EXPECT_EQ(opt.lr(), 0.1);
  }
  EXPECT_EQ(zeros_in(previous.at("0.weight")), 63);  // floor(0.875 * 72)
}

TEST(ScheduledPruner, StateDictRestoresThePosition) {
  auto net = small_cnn();
  auto level = std::make_shared<LevelPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  AGPPruner agp(level, {.total_iteration = 4});
  agp.compress();
  agp.update_epoch(2);
  const io::StateDict state = agp.state_dict();
  EXPECT_TRUE(state.contains("mask:0.weight"));
  auto other = small_cnn();
  auto level2 =
      std::make_shared<LevelPruner>(other, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  AGPPruner resumed(level2, {.total_iteration = 4});
  resumed.compress();
  resumed.load_state_dict(state);
  EXPECT_EQ(resumed.iteration(), 2);
  EXPECT_EQ(resumed.position(), 2);
  EXPECT_EQ(resumed.get_masks().at("3.weight").to_vector(), agp.get_masks().at("3.weight").to_vector());
  expect_message<ValueError>([&] { resumed.update_epoch(1); },
                             "AGPPruner.update_epoch: expected an epoch >= 2 (the last one given), got 1 (Hint: epochs "
                             "never go back; to restart a run, build a new pruner or load a checkpoint)");
  // Another schedule's options: the saved iteration does not match the position.
  auto level3 =
      std::make_shared<LevelPruner>(small_cnn(), ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  AGPPruner other_options(level3, {.total_iteration = 4, .frequency = 2});
  other_options.compress();
  expect_message<ValueError>([&] { other_options.load_state_dict(state); },
                             "AGPPruner.load_state_dict: expected 'schedule:iteration' = 1 at position 2 with this "
                             "schedule's options, got 2 (Hint: resume with the options of the saved run)");
  io::StateDict partial;
  for (const auto& [key, t] : state)
    if (key != "schedule:position") partial.insert(key, t);
  expect_message<ValueError>(
      [&] { other_options.load_state_dict(partial); },
      "AGPPruner.load_state_dict: expected an entry 'schedule:position', got a state without it");
}

TEST(ScheduledPruner, MisuseIsAClearError) {
  auto net = small_cnn();
  auto level = std::make_shared<LevelPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  expect_message<ValueError>([&] { AGPPruner(nullptr, {}); }, "AGPPruner: expected a pruner to schedule, got null");
  expect_message<ValueError>([&] { AGPPruner(level, {.total_iteration = 0}); },
                             "AGPPruner: expected total_iteration >= 1, got 0");
  expect_message<ValueError>([&] { LinearPruner(level, {.frequency = 0}); },
                             "LinearPruner: expected frequency >= 1 (epochs or steps between iterations), got 0");
  expect_message<ValueError>([&] { LotteryTicketPruner(level, {.schedule = {.start = -1}}); },
                             "LotteryTicketPruner: expected start >= 0, got -1");
  auto movement =
      std::make_shared<MovementPruner>(net, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  expect_message<ValueError>(
      [&] { AGPPruner(movement, {}); },
      "AGPPruner: expected a one-shot pruner to schedule, got a MovementPruner (Hint: it has its "
      "own schedule; use it alone)");
  AGPPruner agp(level, {.total_iteration = 2});
  expect_message<StateError>([&] { agp.step(); }, "AGPPruner.step: call compress() first");
  expect_message<StateError>([&] { agp.update_epoch(0); }, "AGPPruner.update_epoch: call compress() first");
  expect_message<StateError>([&] { (void)agp.state_dict(); }, "AGPPruner.state_dict: call compress() first");
  agp.compress();
  expect_message<ValueError>([&] { agp.update_epoch(-1); }, "AGPPruner.update_epoch: expected an epoch >= 0, got -1");
  AGPPruner twice(level, {.total_iteration = 2});
  expect_message<StateError>([&] { twice.compress(); },
                             "AGPPruner.compress: expected a LevelPruner that is not compressed yet, got a compressed "
                             "one (Hint: the schedule compresses it; call compress() on the schedule only)");
  agp.unwrap();
  EXPECT_FALSE(net->find_module("0")->has_buffer("weight_mask"));
  expect_message<StateError>([&] { agp.step(); }, "AGPPruner.step: the pruner was unwrapped; build a new pruner");
  expect_message<StateError>([&] { agp.compress(); },
                             "AGPPruner.compress: the pruner was unwrapped; build a new pruner");
}

}  // namespace
}  // namespace shrink::compression
