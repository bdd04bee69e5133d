// AGP, Linear and LotteryTicket on every zoo model: compress, train a few steps of batch 2 until
// the schedule's last iteration, then every pruned layer is at its final sparsity and the output
// is finite (depthwise convs of mobilenet_small, branches of inception_small, residuals of resnet20).
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "compression/pruning/scheduled_pruners.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"
#include "tests/compression/pruning/mask_counts.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::pruned_channels;
using testing::zeros_in;

class ScheduledZoo : public ::testing::TestWithParam<std::string> {};

/// Runs `steps` training steps of batch 2 with `schedule.step()` after each; returns the last output.
template <typename Schedule>
Tensor run(nn::Module& model, optim::Optimizer& opt, Schedule& schedule, int steps) {
  Tensor out;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    out = model(randn({2, 1, 28, 28}));
    cross_entropy(out, from_vector(std::vector<std::int64_t>{4, 7}, {2})).backward();
    opt.step();
    schedule.step();
  }
  return out;
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

const ScheduleOptions kTwoSteps{.total_iteration = 2, .unit = ScheduleUnit::Step};

TEST_P(ScheduledZoo, AGPWithLevelReachesTheFinalSparsity) {
  manual_seed(3);
  auto model = models::create(GetParam());
  optim::SGD opt(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  auto level =
      std::make_shared<LevelPruner>(model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  AGPPruner agp(level, kTwoSteps);
  agp.compress();
  const Tensor out = run(*model, opt, agp, 2);
  EXPECT_TRUE(all_finite(out));
  ASSERT_FALSE(agp.get_masks().empty());
  for (const auto& [key, mask] : agp.get_masks())
    EXPECT_EQ(zeros_in(mask), mask.numel() / 2) << key;  // floor(0.5 · numel)
}

TEST_P(ScheduledZoo, LinearWithL1NormPrunesWholeChannels) {
  manual_seed(4);
  auto model = models::create(GetParam());
  optim::SGD opt(model->named_parameters(), optim::SGDOptions(0.01));
  auto l1 = std::make_shared<L1NormPruner>(model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  LinearPruner linear(l1, kTwoSteps);
  linear.compress();
  const Tensor out = run(*model, opt, linear, 2);
  EXPECT_TRUE(all_finite(out));
  for (const auto& [key, mask] : linear.get_masks())
    if (key.ends_with(".weight")) EXPECT_EQ(pruned_channels(mask), mask.size(0) / 2) << key;
}

TEST_P(ScheduledZoo, LotteryTicketWithL2NormRewindsTheWeights) {
  manual_seed(5);
  auto model = models::create(GetParam());
  optim::SGD opt(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  auto l2 = std::make_shared<L2NormPruner>(model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"));
  LotteryTicketPruner lt(l2, {.schedule = kTwoSteps, .optimizer = &opt});
  lt.compress();
  const io::StateDict theta0 = lt.initial_state();
  const Tensor out = run(*model, opt, lt, 2);
  EXPECT_TRUE(all_finite(out));
  const io::StateDict masks = lt.get_masks();
  for (const auto& [key, mask] : masks) {
    if (key.ends_with(".weight")) EXPECT_EQ(pruned_channels(mask), mask.size(0) / 2) << key;
    EXPECT_TRUE(testing::tensors_identical(model->state_dict().at(key), mul(theta0.at(key), mask))) << key;
  }
  EXPECT_TRUE(opt.state_dict().tensors.empty());  // rewound to the state at compress(): none yet
  EXPECT_TRUE(all_finite((*model)(randn({2, 1, 28, 28}))));
}

INSTANTIATE_TEST_SUITE_P(Zoo, ScheduledZoo, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace shrink::compression
