// ADMMPruner (compression/pruning/admm_pruner.h): Z and U on a hand-computed case, the penalty and
// its gradient ρ·(W − Z + U), iterations driven by update_epoch, the channel criterion, every zoo
// model, state and misuse errors.
#include "compression/pruning/admm_pruner.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"
#include "tests/compression/pruning/mask_counts.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;
using testing::pruned_channels;
using testing::zeros_in;

std::shared_ptr<nn::Sequential> two_by_two(const std::vector<float>& w) {
  auto fc = std::make_shared<nn::Linear>(2, 2, /*bias=*/false);
  NoGradGuard no_grad;
  fc->param("weight").copy_(from_vector(w, {2, 2}));
  return std::make_shared<nn::Sequential>(nn::Sequential{fc});
}

void set_weight(nn::Module& net, const std::vector<float>& w) {
  NoGradGuard no_grad;
  net.find_module("0")->param("weight").copy_(from_vector(w, {2, 2}));
}

std::vector<float> at(const io::StateDict& sd) { return sd.at("0.weight").to_vector(); }

const ConfigList kHalf = ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])");

TEST(ADMMPruner, ZAndUFollowTheUpdatesAndTheMasksComeFromTheLastZ) {
  auto net = two_by_two({3, -1, 0.5f, 2});
  ADMMPruner admm(net, kHalf, {.rho = 0.5, .iterations = 2});
  admm.compress();
  EXPECT_EQ(at(admm.get_masks()), (std::vector<float>{1, 1, 1, 1}));  // dense until the end
  EXPECT_EQ(at(admm.z()), (std::vector<float>{3, -1, 0.5f, 2}));      // Z = W
  EXPECT_EQ(at(admm.u()), (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(admm.penalty().item(), 0.0f);
  // "Training" moved W to [2, −1.5, 0.25, 1]. W + U = W; the two smallest |·| (0.25, 1) go:
  // Z = [2, −1.5, 0, 0], U = 0 + W − Z = [0, 0, 0.25, 1].
  set_weight(*net, {2, -1.5f, 0.25f, 1});
  admm.admm_iteration();
  EXPECT_EQ(at(admm.z()), (std::vector<float>{2, -1.5f, 0, 0}));
  EXPECT_EQ(at(admm.u()), (std::vector<float>{0, 0, 0.25f, 1}));
  EXPECT_EQ(at(admm.get_masks()), (std::vector<float>{1, 1, 1, 1}));
  // W = [1, −1, 0.5, 0.5]: W + U = [1, −1, 0.75, 1.5]; 0.75 goes, then the tie |1| = |−1| by index:
  // Z = [0, −1, 0, 1.5], U = [0, 0, 0.25, 1] + W − Z = [1, 0, 0.75, 0].
  set_weight(*net, {1, -1, 0.5f, 0.5f});
  admm.admm_iteration();
  EXPECT_EQ(at(admm.z()), (std::vector<float>{0, -1, 0, 1.5f}));
  EXPECT_EQ(at(admm.u()), (std::vector<float>{1, 0, 0.75f, 0}));
  EXPECT_TRUE(admm.finished());
  EXPECT_EQ(at(admm.get_masks()), (std::vector<float>{0, 1, 0, 1}));  // Z's pattern
  EXPECT_EQ(admm.penalty().item(), 0.0f);
  expect_message<StateError>([&] { admm.admm_iteration(); },
                             "ADMMPruner.admm_iteration: all 2 iterations are done (Hint: the masks are final; "
                             "fine-tune with them)");
}

TEST(ADMMPruner, PenaltyIsHalfRhoTimesTheSquaredNormWithGradientRhoTimesTheResidual) {
  auto net = two_by_two({3, -1, 0.5f, 2});
  ADMMPruner admm(net, kHalf, {.rho = 0.5, .iterations = 3});
  admm.compress();
  set_weight(*net, {2, -1.5f, 0.25f, 1});
  admm.admm_iteration();  // Z = [2, −1.5, 0, 0], U = [0, 0, 0.25, 1]
  set_weight(*net, {1, 1, 1, 1});
  // W − Z + U = [−1, 2.5, 1.25, 2]: ρ/2·‖·‖² = 0.25·(1 + 6.25 + 1.5625 + 4) = 3.203125.
  Tensor p = admm.penalty();
  EXPECT_FLOAT_EQ(p.item(), 3.203125f);
  p.backward();
  const Tensor grad = net->find_module("0")->param("weight").grad();
  EXPECT_EQ(grad.to_vector(), (std::vector<float>{-0.5f, 1.25f, 0.625f, 1}));  // ρ·(W − Z + U)
}

TEST(ADMMPruner, UpdateEpochRunsAnIterationEveryTrainingEpochs) {
  auto net = two_by_two({3, -1, 0.5f, 2});
  ADMMPruner admm(net, kHalf, {.iterations = 2, .training_epochs = 2});
  admm.compress();
  const std::vector<std::int64_t> done_after = {0, 0, 1, 1, 2, 2};
  for (std::int64_t epoch = 0; epoch < 6; ++epoch) {
    admm.update_epoch(epoch);
    EXPECT_EQ(admm.iterations_done(), done_after[epoch]) << "epoch " << epoch;
  }
  EXPECT_EQ(zeros_in(admm.get_masks().at("0.weight")), 2);
  expect_message<ValueError>([&] { admm.update_epoch(3); },
                             "ADMMPruner.update_epoch: expected an epoch >= 5 (the last one given), got 3 (Hint: "
                             "epochs never go back)");
  // Skipping epochs runs every iteration due.
  auto net2 = two_by_two({3, -1, 0.5f, 2});
  ADMMPruner skip(net2, kHalf, {.iterations = 3, .training_epochs = 1});
  skip.compress();
  skip.update_epoch(5);
  EXPECT_EQ(skip.iterations_done(), 3);
}

TEST(ADMMPruner, ChannelCriterionPrunesRowsOfWPlusU) {
  // Rows of W + U (U = 0): [3, 0] (L1 3), [1, 1] (L1 2): the second row goes, with its bias.
  auto fc = std::make_shared<nn::Linear>(2, 2);
  {
    NoGradGuard no_grad;
    fc->param("weight").copy_(from_vector(std::vector<float>{3, 0, 1, 1}, {2, 2}));
  }
  auto net = std::make_shared<nn::Sequential>(nn::Sequential{fc});
  ADMMPruner admm(net, kHalf, {.criterion = ADMMCriterion::L1Norm});
  admm.compress();
  admm.admm_iteration();
  EXPECT_EQ(admm.get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 0, 0}));
  EXPECT_EQ(admm.get_masks().at("0.bias").to_vector(), (std::vector<float>{1, 0}));
  EXPECT_EQ(at(admm.z()), (std::vector<float>{3, 0, 0, 0}));
}

TEST(ADMMPruner, StateDictRestoresZUAndTheIterationCount) {
  auto net = two_by_two({3, -1, 0.5f, 2});
  ADMMPruner admm(net, kHalf, {.iterations = 2});
  admm.compress();
  set_weight(*net, {2, -1.5f, 0.25f, 1});
  admm.update_epoch(1);
  const io::StateDict state = admm.state_dict();
  auto other = two_by_two({3, -1, 0.5f, 2});
  ADMMPruner resumed(other, kHalf, {.iterations = 2});
  resumed.compress();
  resumed.load_state_dict(state);
  set_weight(*other, {2, -1.5f, 0.25f, 1});  // the model's weights come from the checkpoint's model part
  EXPECT_EQ(resumed.iterations_done(), 1);
  EXPECT_EQ(at(resumed.z()), at(admm.z()));
  EXPECT_EQ(at(resumed.u()), at(admm.u()));
  EXPECT_TRUE(testing::tensors_identical(resumed.penalty(), admm.penalty()));
  ADMMPruner more(two_by_two({1, 2, 3, 4}), kHalf, {.iterations = 3});
  more.compress();
  more.update_epoch(3);
  expect_message<ValueError>([&] { resumed.load_state_dict(more.state_dict()); },
                             "ADMMPruner.load_state_dict: expected 'admm:iterations' <= 2 (this pruner's iterations), "
                             "got 3");
}

TEST(ADMMPruner, MisuseIsAClearError) {
  auto net = two_by_two({3, -1, 0.5f, 2});
  expect_message<ValueError>([&] { ADMMPruner(net, kHalf, {.rho = 0}); }, "ADMMPruner: expected rho > 0, got 0");
  expect_message<ValueError>([&] { ADMMPruner(net, kHalf, {.iterations = 0}); },
                             "ADMMPruner: expected iterations >= 1, got 0");
  expect_message<ValueError>([&] { ADMMPruner(net, kHalf, {.training_epochs = 0}); },
                             "ADMMPruner: expected training_epochs >= 1, got 0");
  ADMMPruner admm(net, kHalf);
  expect_message<StateError>([&] { (void)admm.penalty(); }, "ADMMPruner.penalty: call compress() first");
  expect_message<StateError>([&] { admm.admm_iteration(); }, "ADMMPruner.admm_iteration: call compress() first");
  admm.compress();
  expect_message<StateError>([&] { admm.update_masks(); },
                             "ADMMPruner.update_masks: no ADMM iteration yet (Hint: the masks come from Z: call "
                             "update_epoch() or admm_iteration() after training with penalty())");
}

class ADMMZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(ADMMZoo, TrainsWithThePenaltyAndEndsAtTheTarget) {
  manual_seed(9);
  auto model = models::create(GetParam());
  optim::SGD opt(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  ADMMPruner admm(model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"),
                  {.rho = 1e-3, .iterations = 2, .criterion = ADMMCriterion::L2Norm});
  admm.compress();
  Tensor out;
  for (std::int64_t epoch = 0; epoch <= 2; ++epoch) {
    admm.update_epoch(epoch);
    opt.zero_grad();
    out = (*model)(randn({2, 1, 28, 28}));
    Tensor loss = add(cross_entropy(out, from_vector(std::vector<std::int64_t>{0, 9}, {2})), admm.penalty());
    loss.backward();
    opt.step();
  }
  EXPECT_TRUE(admm.finished());
  for (float v : out.to_vector()) ASSERT_TRUE(std::isfinite(v));
  for (const auto& [key, mask] : admm.get_masks())
    if (key.ends_with(".weight")) EXPECT_EQ(pruned_channels(mask), mask.size(0) / 2) << key;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ADMMZoo, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace shrink::compression
