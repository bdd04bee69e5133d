// compression/pruning/registry.cpp (the test is named pruner_registry_test because registry_test
// is the zoo's): every name builds its pruner class with its options; unknown names, unknown
// option keys and mistyped values are errors listing what is allowed. The data-driven pruners'
// option readers are tested with those pruners (slim/taylor/activation_pruners_test).
#include "compression/pruning/registry.h"

#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "compression/pruning/admm_pruner.h"
#include "compression/pruning/movement_pruner.h"
#include "compression/pruning/weight_pruners.h"
#include "nn/layers.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

/// A Linear 4 -> 2 with weight rows (4 1 3 2) and (0.5 0.6 -0.7 0.1).
std::shared_ptr<nn::Sequential> one_linear() {
  auto a = std::make_shared<nn::Linear>(4, 2);
  NoGradGuard no_grad;
  a->param("weight").copy_(from_vector(std::vector<float>{4, 1, 3, 2, 0.5f, 0.6f, -0.7f, 0.1f}, {2, 4}));
  return std::make_shared<nn::Sequential>(nn::Sequential{a});
}

ConfigList half() { return ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])"); }

TEST(MakePruner, KnowsThePrunersByTheirNniNames) {
  const std::vector<std::string> expected = {"level", "l1norm", "l2norm", "fpgm",
                                             "slim", "taylorfo", "apoz", "mean_activation", "movement", "admm"};
  const auto names = pruner_names();
  for (const auto& name : expected)
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
}

TEST(MakePruner, BuildsThePrunerClassOfEachName) {
  EXPECT_EQ(make_pruner("level", one_linear(), half())->name(), "LevelPruner");
  EXPECT_EQ(make_pruner("l1norm", one_linear(), half())->name(), "L1NormPruner");
  EXPECT_EQ(make_pruner("l2norm", one_linear(), half())->name(), "L2NormPruner");
  EXPECT_EQ(make_pruner("fpgm", one_linear(), half())->name(), "FPGMPruner");
  EXPECT_EQ(make_pruner("slim", one_linear(), half())->name(), "SlimPruner");
  EXPECT_EQ(make_pruner("taylorfo", one_linear(), half())->name(), "TaylorFOWeightPruner");
  EXPECT_EQ(make_pruner("apoz", one_linear(), half())->name(), "ActivationAPoZRankPruner");
  EXPECT_EQ(make_pruner("mean_activation", one_linear(), half())->name(), "ActivationMeanRankPruner");
  EXPECT_EQ(make_pruner("movement", one_linear(), half())->name(), "MovementPruner");
  EXPECT_EQ(make_pruner("admm", one_linear(), half())->name(), "ADMMPruner");
}

TEST(MakePruner, PassesTheMovementSchedule) {
  // w = 2, c = 4: s_3 = 0.5 · (1 − (1 − 1/2)³) = 0.4375; the defaults (0, 1) reach 0.5 at step 1.
  auto pruner = make_pruner("movement", one_linear(), half(), {{"warm_up_step", 2}, {"cool_down_beginning_step", 4}});
  const auto& movement = dynamic_cast<MovementPruner&>(*pruner);
  EXPECT_EQ(movement.sparsity_at(0.5, 2), 0.0);
  EXPECT_DOUBLE_EQ(movement.sparsity_at(0.5, 3), 0.4375);
  EXPECT_EQ(dynamic_cast<MovementPruner&>(*make_pruner("movement", one_linear(), half())).sparsity_at(0.5, 1), 0.5);
}

TEST(MakePruner, PassesTheAdmmOptions) {
  // Two iterations allowed (the default is one); the l1norm criterion prunes whole rows, bias too.
  auto pruner = make_pruner("admm", one_linear(), half(), {{"iterations", 2}, {"criterion", "l1norm"}, {"rho", 0.5}});
  auto& admm = dynamic_cast<ADMMPruner&>(*pruner);
  admm.compress();
  admm.admm_iteration();
  EXPECT_FALSE(admm.finished());
  admm.admm_iteration();
  EXPECT_TRUE(admm.finished());
  EXPECT_EQ(admm.get_masks().at("0.bias").to_vector(), (std::vector<float>{1, 0}));
  auto level = make_pruner("admm", one_linear(), half());
  level->compress();
  dynamic_cast<ADMMPruner&>(*level).admm_iteration();
  EXPECT_FALSE(level->get_masks().contains("0.bias"));
  expect_message<ValueError>([] { make_pruner("admm", one_linear(), half(), {{"criterion", "fpgm"}}); },
                             "make_pruner(admm): option 'criterion': expected one of (level, l1norm, l2norm), got 'fpgm'");
}

TEST(MakeScheduledPruner, WrapsAPrunerInTheNamedSchedule) {
  EXPECT_EQ(scheduled_pruner_names(), (std::vector<std::string>{"agp", "linear", "lottery"}));
  EXPECT_EQ(make_scheduled_pruner("linear", make_pruner("level", one_linear(), half()))->name(), "LinearPruner");
  EXPECT_EQ(make_scheduled_pruner("lottery", make_pruner("level", one_linear(), half()))->name(), "LotteryTicketPruner");
  auto agp = make_scheduled_pruner("agp", make_pruner("level", one_linear(), half()),
                                   {{"total_iteration", 4}, {"frequency", 2}, {"start", 1}, {"unit", "step"}});
  EXPECT_EQ(agp->name(), "AGPPruner");
  EXPECT_EQ(agp->options().total_iteration, 4);
  EXPECT_EQ(agp->options().frequency, 2);
  EXPECT_EQ(agp->options().start, 1);
  EXPECT_EQ(agp->options().unit, ScheduleUnit::Step);
  EXPECT_DOUBLE_EQ(agp->sparsity_at(0.8, 2), 0.8 * (1 - 0.125));
  EXPECT_EQ(make_scheduled_pruner("agp", make_pruner("level", one_linear(), half()))->options().unit, ScheduleUnit::Epoch);
}

TEST(MakeScheduledPruner, UnknownNamesKeysAndValuesListWhatIsAllowed) {
  expect_message<ValueError>([] { make_scheduled_pruner("cubic", make_pruner("level", one_linear(), half())); },
                             "make_scheduled_pruner: expected a schedule name (agp, linear, lottery), got 'cubic'");
  expect_message<ValueError>(
      [] { make_scheduled_pruner("agp", make_pruner("level", one_linear(), half()), {{"iterations", 4}}); },
      "make_scheduled_pruner(agp): expected an option among (total_iteration, frequency, start, unit), got 'iterations'");
  expect_message<ValueError>(
      [] { make_scheduled_pruner("agp", make_pruner("level", one_linear(), half()), {{"unit", "batch"}}); },
      "make_scheduled_pruner(agp): option 'unit': expected one of (epoch, step), got 'batch'");
}

TEST(MakePruner, PassesTheOptionsToThePruner) {
  // Plain level at 0.5 prunes the four smallest |w| of the whole layer (all in row 1); 2:4
  // prunes two in each block of four: 1, 2 in row 0 and 0.5, 0.1 in row 1.
  auto plain = make_pruner("level", one_linear(), half());
  plain->compress();
  EXPECT_EQ(plain->get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 1, 1, 1, 0, 0, 0, 0}));
  auto balanced = make_pruner("level", one_linear(), half(), {{"balance_block", 4}});
  balanced->compress();
  EXPECT_EQ(balanced->get_masks().at("0.weight").to_vector(), (std::vector<float>{1, 0, 1, 0, 0, 1, 1, 0}));
}

TEST(MakePruner, TheReturnedPrunerIsNotCompressedYet) {
  auto pruner = make_pruner("l1norm", one_linear(), half());
  EXPECT_FALSE(pruner->is_compressed());
  EXPECT_FALSE(pruner->model().child("0")->has_buffer("weight_mask"));
}

TEST(MakePruner, NullAndEmptyOptionsMeanTheDefaults) {
  EXPECT_NO_THROW(make_pruner("l1norm", one_linear(), half(), nlohmann::json()));
  EXPECT_NO_THROW(make_pruner("l1norm", one_linear(), half(), nlohmann::json::object()));
}

TEST(MakePruner, ListsTheOptionKeysOfEachPruner) {
  EXPECT_EQ(pruner_options("level"), (std::vector<std::string>{"balance_block"}));
  EXPECT_TRUE(pruner_options("fpgm").empty());
  EXPECT_EQ(pruner_options("slim"), (std::vector<std::string>{"scale"}));
  EXPECT_EQ(pruner_options("taylorfo"), (std::vector<std::string>{"max_batches", "reset_after_update"}));
  EXPECT_EQ(pruner_options("apoz"), (std::vector<std::string>{"activation", "max_batches", "reset_after_update"}));
}

TEST(MakePruner, AnUnknownNameListsTheKnownOnes) {
  std::string known;
  for (const auto& n : pruner_names()) known += (known.empty() ? "" : ", ") + n;
  const std::string expected = "make_pruner: expected a pruner name (" + known + "), got 'l3norm'";
  expect_message<ValueError>([] { make_pruner("l3norm", one_linear(), half()); }, expected.c_str());
  // The list starts with the weight pruners; names are lower case.
  const std::string message = testing::error_of<ValueError>([] { pruner_options("L1Norm"); });
  EXPECT_EQ(message.rfind("make_pruner: expected a pruner name (level, l1norm, l2norm, fpgm", 0), 0u) << message;
}

TEST(MakePruner, AnUnknownOptionKeyListsTheAllowedOnes) {
  expect_message<ValueError>([] { make_pruner("level", one_linear(), half(), {{"block", 4}}); },
                             "make_pruner(level): expected an option among (balance_block), got 'block'");
  expect_message<ValueError>([] { make_pruner("l1norm", one_linear(), half(), {{"balance_block", 4}}); },
                             "make_pruner(l1norm): expected no options (l1norm has none), got 'balance_block'");
}

TEST(MakePruner, OptionsMustBeAnObjectOfTheRightTypes) {
  expect_message<ValueError>([] { make_pruner("level", one_linear(), half(), nlohmann::json::array({4})); },
                             "make_pruner(level): expected the options as a JSON object, got [4]");
  expect_message<ValueError>([] { make_pruner("level", one_linear(), half(), {{"balance_block", "4"}}); },
                             "make_pruner(level): option 'balance_block': expected an integer, got \"4\"");
  expect_message<ValueError>([] { make_pruner("level", one_linear(), half(), {{"balance_block", 2.5}}); },
                             "make_pruner(level): option 'balance_block': expected an integer, got 2.5");
}

TEST(MakePruner, ThePrunersOwnChecksStillApply) {
  expect_message<ValueError>([] { make_pruner("level", one_linear(), half(), {{"balance_block", -1}}); },
                             "LevelPruner: expected balance_block >= 0 (0 = unbalanced), got -1");
}

}  // namespace
}  // namespace shrink::compression
