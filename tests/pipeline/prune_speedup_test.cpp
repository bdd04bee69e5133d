// A prune stage followed by a speedup stage on vgg_small: the prune stage masks the BatchNorm2d
// after each pruned conv alike (speedup::BatchNormMasks), so that the shrunk model's top-1 is
// the masked model's, also in a run resumed between the two stages.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "io/state_dict_file.h"
#include "pipeline/runner.h"
#include "tests/io/temp_dir.h"
#include "tests/pipeline/run_testing.h"

namespace shrink::pipeline {
namespace {

using testing::accuracies;
using testing::quiet;
using testing::TempDir;

TEST(PruneThenSpeedup, TheShrunkVggSmallHasTheTop1OfTheMaskedOne) {
  if (!testing::have_fmnist()) GTEST_SKIP() << "Fashion-MNIST is not installed";
  TempDir dir;
  std::ostringstream out;
  const PipelineSpec spec = PipelineSpec::parse_text(R"({"model": {"zoo": "vgg_small"},
    "data": {"train_limit": 64, "test_limit": 100, "batch_size": 32},
    "stages": [{"type": "prune", "pruner": "l1norm", "config_list": [{"op_types": ["Conv2d"], "sparsity": 0.5}],
                "epochs": 1, "training": {"lr": 0.01}},
               {"type": "export", "exports": ["weights"]},
               {"type": "speedup"}]})",
                                                     "vgg.json");
  const RunRecord r = run_pipeline(spec, quiet(dir.file("run"), out));
  ASSERT_EQ(r.stages.size(), 3u);
  EXPECT_EQ(r.stages[0].notes, std::vector<std::string>{"masked the 6 BatchNorm2d after pruned Conv2d on the same "
                                                        "channels, for the exact speedup that follows"});
  EXPECT_LT(r.stages[2].macs, r.stages[0].macs);
  EXPECT_EQ(r.stages[2].accuracy, r.stages[0].accuracy);
  // The exported weights are those the masked model computes with: a BatchNorm's pruned channels
  // are 0, and no mask buffer is left.
  const io::StateDict weights = io::load_state_dict(dir.file("run/export.weights.h5"));
  for (const auto& [key, value] : weights) EXPECT_FALSE(key.ends_with("_mask")) << key;
  const std::vector<float> conv = weights.at("features.0.weight").to_vector(), bn = weights.at("features.1.bias").to_vector();
  const std::size_t per_channel = conv.size() / bn.size();
  std::size_t pruned = 0;
  for (std::size_t c = 0; c < bn.size(); ++c) {
    const bool zero = std::all_of(conv.begin() + c * per_channel, conv.begin() + (c + 1) * per_channel,
                                  [](float v) { return v == 0.0f; });
    if (!zero) continue;
    ++pruned;
    EXPECT_EQ(bn[c], 0.0f) << c;
  }
  EXPECT_EQ(pruned, bn.size() / 2);
  // Resumed between the stages: the masks are rebuilt (and restored) before the speedup.
  RunOptions o = quiet(dir.file("stopped"), out);
  o.stop_after_epochs = 1;
  run_pipeline(spec, o);
  o.stop_after_epochs.reset();
  o.resume = true;
  EXPECT_EQ(accuracies(run_pipeline(spec, o)), accuracies(r));
}

}  // namespace
}  // namespace shrink::pipeline
