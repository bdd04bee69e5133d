// The solvers of compression/analysis/sensitivity.h: per-layer ratios for a MACs target under a
// loss threshold (hand-computed), the interpolation rule, uniform pruning within 0.01, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "compression/analysis/counting.h"
#include "compression/analysis/sensitivity.h"
#include "tests/compression/analysis/analysis_testing.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

const std::vector<double> kRatios = {0.2, 0.4, 0.6, 0.8};

/// Three layers with straight loss curves: a = 0.05·r, b = 0.1·r, c = 0.5·r.
Sensitivities three_layers() {
  Sensitivities s;
  s.baseline = 1.0;
  s.ratios = kRatios;
  for (const auto& [name, slope] : std::vector<std::pair<std::string, double>>{{"a", 0.05}, {"b", 0.1}, {"c", 0.5}})
    for (const double r : kRatios) s.losses[name].push_back(slope * r);
  return s;
}

TEST(MaxRatioWithinLoss, InterpolatesLinearlyFromTheOrigin) {
  const std::vector<double> losses = {0.1, 0.2, 0.4, 0.8};
  EXPECT_DOUBLE_EQ(max_ratio_within_loss(kRatios, losses, 0.05), 0.1);  // between (0, 0) and (0.2, 0.1)
  EXPECT_DOUBLE_EQ(max_ratio_within_loss(kRatios, losses, 0.3), 0.5);   // between (0.4, 0.2) and (0.6, 0.4)
  EXPECT_DOUBLE_EQ(max_ratio_within_loss(kRatios, losses, 0.8), 0.8);   // never past the last ratio
  EXPECT_DOUBLE_EQ(max_ratio_within_loss(kRatios, losses, 5.0), 0.8);
  EXPECT_DOUBLE_EQ(max_ratio_within_loss(kRatios, losses, -0.1), 0.0);
}

TEST(MaxRatioWithinLoss, TakesTheLargestRatioOfANonMonotoneCurve) {
  // Pruning 40% happened to cost nothing: the curve rises above 0.06 before 0.2, falls back to 0
  // at 0.4 and crosses 0.06 again on (0.4, 0) -> (0.6, 0.3). The first crossing would be 0.12.
  const std::vector<double> losses = {0.1, 0.0, 0.3, 0.5};
  EXPECT_NEAR(max_ratio_within_loss(kRatios, losses, 0.06), 0.44, 1e-12);
  expect_message<ValueError>([&] { max_ratio_within_loss(kRatios, {0.1}, 0.1); },
                             "max_ratio_within_loss: expected as many losses as ratios (at least one), got 1 losses "
                             "for 4 ratios");
}

TEST(RatiosForMacsTarget, SolvesAHandComputedCase) {
  // MACs a 400, b 400, c 200 of 1000. For a threshold L >= 0.04, a is at its last ratio 0.8
  // (320 MACs), b at 10·L and c at 2·L: 320 + 400·10L + 200·2L = 500 gives L = 9/220, so
  // b = 9/22 and c = 9/110.
  const auto ratios = ratios_for_macs_target(three_layers(), {{"a", 400}, {"b", 400}, {"c", 200}}, 1000, 0.5);
  ASSERT_EQ(ratios.size(), 3u);
  EXPECT_NEAR(ratios.at("a"), 0.8, 1e-9);
  EXPECT_NEAR(ratios.at("b"), 9.0 / 22.0, 1e-7);
  EXPECT_NEAR(ratios.at("c"), 9.0 / 110.0, 1e-7);
  EXPECT_GE(0.8 * 400 + ratios.at("b") * 400 + ratios.at("c") * 200, 500.0);  // never short of the target
}

TEST(RatiosForMacsTarget, ASmallTargetPrunesOnlyTheLeastSensitiveLayers) {
  // 0.1 of 1000 MACs: L solves 400·20L + 400·10L + 200·2L = 100 -> L = 100/12400.
  const auto ratios = ratios_for_macs_target(three_layers(), {{"a", 400}, {"b", 400}, {"c", 200}}, 1000, 0.1);
  const double L = 100.0 / 12400.0;
  EXPECT_NEAR(ratios.at("a"), 20 * L, 1e-7);
  EXPECT_NEAR(ratios.at("b"), 10 * L, 1e-7);
  EXPECT_NEAR(ratios.at("c"), 2 * L, 1e-7);
}

TEST(RatiosForMacsTarget, AnUnreachableTargetSaysTheMostThatCanBeRemoved) {
  // The layers hold 600 of 1000 MACs; at their last ratio 0.8 they remove 480.
  expect_message<ValueError>(
      [] {
        ratios_for_macs_target(three_layers(), {{"a", 200}, {"b", 200}, {"c", 200}}, 1000, 0.95);
      },
      "ratios_for_macs_target: the target MACs reduction 95.00% is unreachable: pruning every analysed layer at its "
      "largest measured ratio (0.8) removes at most 48.00% of the MACs (the analysed layers hold 60.00%). Hint: "
      "analyse more layers or ask for less");
}

TEST(RatiosForMacsTarget, RejectsMissingMacsAndBadArguments) {
  expect_message<ValueError>(
      [] {
        ratios_for_macs_target(three_layers(), {{"a", 200}, {"b", 200}}, 1000, 0.2);
      },
      "ratios_for_macs_target: no MACs for layer 'c' in layer_macs. Hint: macs_by_layer(count_layers(model, "
      "input_shape)) gives every layer's");
  expect_message<ValueError>(
      [] {
        ratios_for_macs_target(three_layers(), {{"a", 1}, {"b", 1}, {"c", 1}}, 3, 1.0);
      },
      "ratios_for_macs_target: expected a target MACs reduction in (0, 1), got 1");
  expect_message<ValueError>(
      [] {
        ratios_for_macs_target(three_layers(), {{"a", 1}, {"b", 1}, {"c", 1}}, 0, 0.5);
      },
      "ratios_for_macs_target: expected positive total_macs, got 0");
  Sensitivities short_curve = three_layers();
  short_curve.losses["b"].pop_back();
  expect_message<ValueError>(
      [&] {
        ratios_for_macs_target(short_curve, {{"a", 1}, {"b", 1}, {"c", 1}}, 3, 0.5);
      },
      "ratios_for_macs_target: expected 4 losses for layer 'b' (one per ratio), got 3");
  expect_message<ValueError>([] { ratios_for_macs_target(Sensitivities{}, {}, 10, 0.5); },
                             "ratios_for_macs_target: expected sensitivities of at least one layer, got none");
}

TEST(AlignRatios, KeepsAMultipleOfTheAlignmentRoundingTheKeptChannelsUp) {
  // a: 64 channels at 0.4 prunes 25, keeps 39 -> 40, so prunes 24. b: 10 at 0.7 prunes 7, keeps
  // 3 -> 8. c: 6 channels keep 6 (a multiple above 6 is capped at 6). d: 32 at 0.5 stays.
  const auto aligned =
      align_ratios({{"a", 0.4}, {"b", 0.7}, {"c", 0.2}, {"d", 0.5}}, {{"a", 64}, {"b", 10}, {"c", 6}, {"d", 32}}, 8);
  EXPECT_DOUBLE_EQ(aligned.at("a"), 24.0 / 64.0);
  EXPECT_DOUBLE_EQ(aligned.at("b"), 2.0 / 10.0);
  EXPECT_DOUBLE_EQ(aligned.at("c"), 0.0);
  EXPECT_DOUBLE_EQ(aligned.at("d"), 0.5);
  EXPECT_EQ(align_ratios({{"a", 0.4}}, {{"a", 64}}, 1).at("a"), 25.0 / 64.0);
  expect_message<ValueError>(
      [] {
        align_ratios({{"a", 0.4}}, {{"a", 64}}, 0);
      },
      "align_ratios: expected align >= 1, got 0");
  expect_message<ValueError>(
      [] {
        align_ratios({{"a", 0.4}}, {{"b", 64}}, 8);
      },
      "align_ratios: expected a positive channel count for layer 'a', got none");
}

TEST(UniformRatioForMacsTarget, FindsOneRatioWithinAHundredthOfTheTarget) {
  const double r = uniform_ratio_for_macs_target({{"a", 300}, {"b", 300}}, 1000, 0.3);
  EXPECT_NEAR(r * 0.6, 0.3, 0.01);
  expect_message<ValueError>(
      [] {
        uniform_ratio_for_macs_target({{"a", 300}, {"b", 300}}, 1000, 0.95);
      },
      "uniform_ratio_for_macs_target: the target MACs reduction 95.00% is unreachable: the "
      "selected layers hold 60.00% of the MACs, and one ratio < 1 for all of them removes "
      "less than that");
  expect_message<ValueError>(
      [] {
        uniform_ratio_for_macs_target({{"a", 300}}, 1000, 0.2, 0.0);
      },
      "uniform_ratio_for_macs_target: expected a tolerance in (0, 1), got 0");
  expect_message<ValueError>(
      [] {
        uniform_ratio_for_macs_target({{"a", 300}}, 0, 0.2);
      },
      "uniform_ratio_for_macs_target: expected positive total_macs, got 0");
  expect_message<ValueError>(
      [] {
        uniform_ratio_for_macs_target({{"a", 300}}, 1000, 0.0);
      },
      "uniform_ratio_for_macs_target: expected a target MACs reduction in (0, 1), got 0");
}

/// Zeroes the smallest-magnitude round(ratio × numel) weights of every Conv2d and Linear.
void prune_all_unstructured(nn::Module& model, double ratio) {
  NoGradGuard no_grad;
  for (const auto& [name, m] : model.named_modules()) {
    if (!m->has_param("weight") || m->type_name().rfind("BatchNorm", 0) == 0) continue;
    Tensor w = m->param("weight");
    std::vector<float> v = w.to_vector();
    std::vector<std::int64_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return std::abs(v[a]) < std::abs(v[b]); });
    const auto n = std::llround(ratio * static_cast<double>(v.size()));
    for (std::int64_t k = 0; k < n; ++k) w.data<float>()[order[k]] = 0.0f;
  }
}

TEST(UniformRatioForMacsTarget, MeetsTheTargetWithinAHundredthOnTheCountedModel) {
  manual_seed(3);
  testing::TinyNet net;
  const io::StateDict dense = net.clone()->state_dict();
  auto reduction_at = [&](double r) {
    net.load_state_dict(dense);
    prune_all_unstructured(net, r);
    const CountTotals t = count_totals(count_layers(net, {1, 1, 6, 6}));
    return 1.0 - static_cast<double>(t.effective_macs) / static_cast<double>(t.macs);
  };
  const double r = uniform_ratio_for_macs_target(reduction_at, 0.37);
  EXPECT_NEAR(reduction_at(r), 0.37, 0.01);
  expect_message<ValueError>([&] { uniform_ratio_for_macs_target([](double r) { return 0.5 * r; }, 0.7); },
                             "uniform_ratio_for_macs_target: the target MACs reduction 70.00% is unreachable: pruning "
                             "every selected layer at ratio 0.999 removes 49.95% of the MACs");
  expect_message<ValueError>(
      [&] { uniform_ratio_for_macs_target([](double r) { return r < 0.5 ? 0.0 : 1.0; }, 0.5, 0.01); },
      "uniform_ratio_for_macs_target: no ratio reaches the target MACs reduction 50.00% within 0.01 "
      "(reduction_at jumps over it; is it non-decreasing?)");
}

}  // namespace
}  // namespace shrink::compression
