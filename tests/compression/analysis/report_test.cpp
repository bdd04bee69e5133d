// The compression report (compression/analysis/report.h): exact text and JSON of a hand-built
// model with known sparsity (tests/compression/analysis/analysis_testing.h, make_counted_net).
#include "compression/analysis/report.h"

#include <gtest/gtest.h>

#include "tests/compression/analysis/analysis_testing.h"

namespace shrink::compression {
namespace {

TEST(ReportTable, PrintsAnAlignedRowPerLayerTotalsAndTheFlops) {
  auto net = testing::make_counted_net();
  EXPECT_EQ(report_table(count_layers(*net, {1, 1, 4, 4})),
            "layer  type         weight shape  sparsity  params left  params  MACs  eff. MACs\n"
            "conv   Conv2d       [4, 1, 3, 3]    45.00%           22      40   576        288\n"
            "bn     BatchNorm2d  [4]              0.00%            8       8     -          -\n"
            "fc     Linear       [3, 16]         23.53%           39      51    48         36\n"
            "total                               30.30%           69      99   624        324\n"
            "per sample: MACs 624 dense, 324 effective; FLOPs = 2 x MACs: 1,248 dense, 648 effective\n");
}

TEST(ReportTable, GroupsThousandsAndShowsADashForAMissingWeight) {
  LayerCount big;
  big.name = "big";
  big.type = "Linear";
  big.has_macs = true;
  big.weight_shape = {1000, 1000};
  big.params = big.nonzero_params = 1001000;
  big.macs = big.effective_macs = 1000000;
  LayerCount plain;
  plain.name = "bn";
  plain.type = "BatchNorm2d";  // affine=false: no weight, no params
  EXPECT_EQ(report_table({big, plain}),
            "layer  type         weight shape  sparsity  params left     params       MACs  eff. MACs\n"
            "big    Linear       [1000, 1000]     0.00%    1,001,000  1,001,000  1,000,000  1,000,000\n"
            "bn     BatchNorm2d  -                0.00%            0          0          -          -\n"
            "total                                0.00%    1,001,000  1,001,000  1,000,000  1,000,000\n"
            "per sample: MACs 1,000,000 dense, 1,000,000 effective; FLOPs = 2 x MACs: 2,000,000 dense, "
            "2,000,000 effective\n");
}

TEST(ReportJson, HoldsEveryFieldPerLayerAndTheTotals) {
  auto net = testing::make_counted_net();
  const nlohmann::json expected = {
      {"unit", "per sample; flops = 2 * macs"},
      {"layers",
       {{{"name", "conv"}, {"type", "Conv2d"}, {"weight_shape", {4, 1, 3, 3}}, {"input_shape", {1, 4, 4}},
         {"output_shape", {4, 4, 4}}, {"has_macs", true}, {"calls", 1}, {"params", 40}, {"nonzero_params", 22},
         {"sparsity", 1.0 - 22.0 / 40.0}, {"macs", 576}, {"effective_macs", 288}, {"flops", 1152},
         {"effective_flops", 576}},
        {{"name", "bn"}, {"type", "BatchNorm2d"}, {"weight_shape", {4}}, {"input_shape", {4, 4, 4}},
         {"output_shape", {4, 4, 4}}, {"has_macs", false}, {"calls", 1}, {"params", 8}, {"nonzero_params", 8},
         {"sparsity", 0.0}, {"macs", 0}, {"effective_macs", 0}, {"flops", 0}, {"effective_flops", 0}},
        {{"name", "fc"}, {"type", "Linear"}, {"weight_shape", {3, 16}}, {"input_shape", {16}},
         {"output_shape", {3}}, {"has_macs", true}, {"calls", 1}, {"params", 51}, {"nonzero_params", 39},
         {"sparsity", 1.0 - 39.0 / 51.0}, {"macs", 48}, {"effective_macs", 36}, {"flops", 96},
         {"effective_flops", 72}}}},
      {"totals",
       {{"params", 99}, {"nonzero_params", 69}, {"sparsity", 1.0 - 69.0 / 99.0}, {"macs", 624},
        {"effective_macs", 324}, {"flops", 1248}, {"effective_flops", 648}}}};
  const nlohmann::json actual = report_json(count_layers(*net, {1, 1, 4, 4}));
  EXPECT_EQ(actual, expected) << actual.dump(2);
  // Deterministic bytes: the same counts dump to the same text.
  EXPECT_EQ(actual.dump(), report_json(count_layers(*net, {3, 1, 4, 4})).dump());
}

}  // namespace
}  // namespace shrink::compression
