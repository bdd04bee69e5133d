// MovementPruner (compression/pruning/movement_pruner.h): scores from hand-computed gradients, the
// mask they choose, the cubic schedule at every step, every zoo model, state and misuse errors.
#include "compression/pruning/movement_pruner.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "io/state_dict_file.h"
#include "nn/layers.h"
#include "nn/models/registry.h"
#include "nn/optim/sgd.h"
#include "tests/compression/pruning/mask_counts.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;
using testing::TempDir;
using testing::zeros_in;

/// Linear(4 -> 1) without bias, W = [1, -2, 3, 0.5].
std::shared_ptr<nn::Sequential> one_row() {
  auto fc = std::make_shared<nn::Linear>(4, 1, /*bias=*/false);
  NoGradGuard no_grad;
  fc->param("weight").copy_(from_vector(std::vector<float>{1, -2, 3, 0.5f}, {1, 4}));
  return std::make_shared<nn::Sequential>(nn::Sequential{fc});
}

/// One backward of L = sum(W' x): ∂L/∂W' = x, whatever the mask.
void backward_with(nn::Module& net, const std::vector<float>& x) { sum(net(from_vector(x, {1, 4}))).backward(); }

TEST(MovementPruner, ScoresAreMinusWeightTimesGradientAndTheLowestAreMasked) {
  auto net = one_row();
  // w = 0, c = 2, s_f = 0.5: step 1 at 0.5·(1 − 0.5³) = 0.4375 -> 1 of 4; step 2 at 0.5 -> 2 of 4.
  MovementPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"),
                        {.warm_up_step = 0, .cool_down_beginning_step = 2});
  pruner.compress();
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 1, 1}));
  // x1 = [1, 1, 1, 1]: scores −W·x1 = [−1, 2, −3, −0.5]; the lowest (−3, index 2) goes.
  backward_with(*net, {1, 1, 1, 1});
  pruner.step();
  EXPECT_EQ(pruner.scores().at("0.weight").to_vector(), (std::vector<float>{-1, 2, -3, -0.5f}));
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 0, 1}));
  // x2 = [2, −1, 1, 4]: the masked weight 2 still collects (straight-through): −W·x2 = [−2, −2, −3, −2]
  // -> scores [−3, 0, −6, −2.5]; two go: −6 (index 2) and −3 (index 0).
  backward_with(*net, {2, -1, 1, 4});
  pruner.step();
  EXPECT_EQ(pruner.scores().at("0.weight").to_vector(), (std::vector<float>{-3, 0, -6, -2.5f}));
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{0, 1, 0, 1}));
  // The raw weight's gradient is masked as usual; the mask's own gradient is dropped by step().
  EXPECT_FALSE(net->find_module("0")->buffer("weight_mask").grad().defined());
}

TEST(MovementPruner, MaskedWeightsComeBackWhenTheirScoreRises) {
  auto net = one_row();
  MovementPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.25}])"),
                        {.warm_up_step = 0, .cool_down_beginning_step = 1});
  pruner.compress();
  backward_with(*net, {0, 1, 0, 0});  // scores [0, 2, 0, 0]: index 0 goes (ties by index)
  pruner.step();
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{0, 1, 1, 1}));
  backward_with(*net, {1, 0, 0, 1});  // scores [−1, 2, 0, −0.5]: index 0 stays out
  pruner.step();
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{0, 1, 1, 1}));
  backward_with(*net, {-2, 0, 0, 1});  // scores [1, 2, 0, −1]: index 0 is back, index 3 goes
  pruner.step();
  EXPECT_EQ(pruner.get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 1, 0}));
}

TEST(MovementPruner, SparsityFollowsTheCubicScheduleAtEveryStep) {
  manual_seed(2);
  auto net = std::make_shared<nn::Sequential>(nn::Sequential{std::make_shared<nn::Linear>(10, 20)});
  optim::SGD opt(net->named_parameters(), optim::SGDOptions(0.1));
  MovementPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.9}])"),
                        {.warm_up_step = 2, .cool_down_beginning_step = 7});
  pruner.compress();
  for (std::int64_t t = 1; t <= 9; ++t) {
    opt.zero_grad();
    sum(mul((*net)(randn({2, 10})), randn({2, 20}))).backward();
    opt.step();
    pruner.step();
    // From the paper: s_f·(1 − (1 − (t − w)/(c − w))³) between w and c.
    const double s = t <= 2 ? 0 : t >= 7 ? 0.9 : 0.9 * (1 - std::pow(1 - (t - 2) / 5.0, 3));
    EXPECT_NEAR(pruner.sparsity_at(0.9, t), s, 1e-12);
    EXPECT_EQ(zeros_in(pruner.get_masks().at("0.weight")), std::int64_t(std::floor(s * 200 + 1e-9))) << "step " << t;
  }
  EXPECT_EQ(pruner.step_count(), 9);
}

TEST(MovementPruner, StateDictRestoresScoresAndStep) {
  auto net = one_row();
  MovementPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"),
                        {.cool_down_beginning_step = 2});
  pruner.compress();
  backward_with(*net, {1, 1, 1, 1});
  pruner.step();
  const io::StateDict state = pruner.state_dict();
  EXPECT_EQ(state.keys(),
            (std::vector<std::string>{"mask:0.weight", "score:0.weight", "movement:step", "movement:last_epoch"}));
  auto other = one_row();
  MovementPruner resumed(other, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"),
                         {.cool_down_beginning_step = 2});
  resumed.compress();
  resumed.load_state_dict(state);
  EXPECT_EQ(resumed.step_count(), 1);
  EXPECT_EQ(resumed.scores().at("0.weight").to_vector(), pruner.scores().at("0.weight").to_vector());
  EXPECT_EQ(resumed.get_masks().at("0.weight").to_vector(), pruner.get_masks().at("0.weight").to_vector());
  io::StateDict wrong;
  for (const auto& [key, t] : state)
    if (key != "score:0.weight") wrong.insert(key, t);
  wrong.insert("score:0.weight", zeros({4}));
  expect_message<ValueError>([&] { resumed.load_state_dict(wrong); },
                             "MovementPruner.load_state_dict: expected movement scores ('score:' entries) for this "
                             "model, got shape/dtype mismatch: 0.weight (expected [1, 4] float32, got [4] float32) "
                             "(Hint: the state was saved on another model or configuration)");
  // Unwrapping drops the hooks and the mask's requires_grad with the mask.
  resumed.unwrap();
  EXPECT_FALSE(other->find_module("0")->has_buffer("weight_mask"));
  backward_with(*other, {1, 1, 1, 1});
}

TEST(MovementPruner, ExportAndMasksFilesWorkWithTheScoringMask) {
  auto net = one_row();
  MovementPruner pruner(net, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"));
  pruner.compress();
  backward_with(*net, {1, 1, 1, 1});
  pruner.step();  // scores [−1, 2, −3, −0.5]: indices 2 and 0 go
  TempDir dir;
  pruner.export_model(dir.file("model.h5"), dir.file("masks.h5"));
  EXPECT_EQ(io::load_masks(dir.file("masks.h5")).at("0.weight").to_vector(), (std::vector<float>{0, 1, 0, 1}));
  EXPECT_EQ(io::load_state_dict(dir.file("model.h5")).at("0.weight").to_vector(), (std::vector<float>{0, -2, 0, 0.5f}));
  auto other = one_row();
  MovementPruner loaded(other, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"));
  loaded.compress();
  loaded.load_masks(dir.file("masks.h5"));
  EXPECT_EQ(loaded.get_masks().at("0.weight").to_vector(), (std::vector<float>{0, 1, 0, 1}));
  // The masked weights get no gradient, while their scores still move.
  backward_with(*other, {1, 1, 1, 1});
  EXPECT_EQ(other->find_module("0")->param("weight").grad().to_vector(), (std::vector<float>{0, 1, 0, 1}));
  EXPECT_EQ(loaded.scores().at("0.weight").to_vector(), (std::vector<float>{-1, 2, -3, -0.5f}));
}

TEST(MovementPruner, MisuseIsAClearError) {
  auto net = one_row();
  const ConfigList config = ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])");
  expect_message<ValueError>([&] { MovementPruner(net, config, {.warm_up_step = -1}); },
                             "MovementPruner: expected warm_up_step >= 0, got -1");
  expect_message<ValueError>([&] { MovementPruner(net, config, {.warm_up_step = 5, .cool_down_beginning_step = 5}); },
                             "MovementPruner: expected cool_down_beginning_step > warm_up_step (5), got 5 (Hint: the "
                             "sparsity rises from 0 to its target between the two)");
  MovementPruner pruner(net, config, {.cool_down_beginning_step = 3});
  expect_message<StateError>([&] { pruner.step(); }, "MovementPruner.step: call compress() first");
  pruner.compress();
  pruner.update_epoch(2);
  expect_message<ValueError>([&] { pruner.update_epoch(1); },
                             "MovementPruner.update_epoch: expected an epoch >= 2 (the last one given), got 1 (Hint: "
                             "epochs never go back)");
}

class MovementZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(MovementZoo, PrunesEveryLayerToItsTarget) {
  manual_seed(8);
  auto model = models::create(GetParam());
  optim::SGD opt(model->named_parameters(), optim::SGDOptions(0.01).momentum(0.9));
  MovementPruner pruner(model, ConfigList::parse(R"([{"op_types": ["default"], "sparsity": 0.5}])"),
                        {.warm_up_step = 0, .cool_down_beginning_step = 1});
  pruner.compress();
  Tensor out;
  for (int s = 0; s < 2; ++s) {
    opt.zero_grad();
    out = (*model)(randn({2, 1, 28, 28}));
    cross_entropy(out, from_vector(std::vector<std::int64_t>{1, 2}, {2})).backward();
    opt.step();
    pruner.step();
  }
  for (float v : out.to_vector()) ASSERT_TRUE(std::isfinite(v));
  for (const auto& [key, mask] : pruner.get_masks()) EXPECT_EQ(zeros_in(mask), mask.numel() / 2) << key;
  for (const auto& [key, score] : pruner.scores()) {
    bool moved = false;
    for (float v : score.to_vector()) moved = moved || v != 0.0f;
    EXPECT_TRUE(moved) << key << ": no score collected";
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, MovementZoo, ::testing::ValuesIn(models::names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace shrink::compression
