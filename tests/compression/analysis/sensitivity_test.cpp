// analyze_sensitivity (compression/analysis/sensitivity.h): the relative losses, exact restoration
// of the weights, the resumable cache and every error message.
#include "compression/analysis/sensitivity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "autograd/generator.h"
#include "compression/analysis/counting.h"
#include "compression/analysis/sensitivity_cache.h"
#include "compression/pruning/weight_pruners.h"
#include "tests/compression/analysis/analysis_testing.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;
using testing::TinyNet;

/// The fraction of TinyNet's MACs that its nonzero weights keep: 1 for the dense model, and
/// pruning k of conv's 4 filters loses k·144 of the 832 MACs.
double kept_macs(nn::Module& model) {
  const CountTotals t = count_totals(count_layers(model, {1, 1, 6, 6}));
  return static_cast<double>(t.effective_macs) / static_cast<double>(t.macs);
}

const std::vector<double> kRatios = {0.25, 0.5, 0.75};

std::shared_ptr<TinyNet> tiny_net() {
  manual_seed(7);
  return std::make_shared<TinyNet>();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AnalyzeSensitivity, LossesAreRelativeToTheBaselineMetric) {
  auto net = tiny_net();
  const Sensitivities s =
      analyze_sensitivity(*net, {"conv", "fc"}, kept_macs, testing::prune_filters, {.ratios = {0.75, 0.25, 0.5}});
  EXPECT_DOUBLE_EQ(s.baseline, 1.0);
  EXPECT_EQ(s.ratios, kRatios);  // measured in increasing order
  ASSERT_EQ(s.losses.at("conv").size(), 3u);
  for (int k = 1; k <= 3; ++k) {
    EXPECT_DOUBLE_EQ(s.losses.at("conv")[k - 1], k * 144.0 / 832.0);  // k of 4 filters: 4·4·9 MACs each
    EXPECT_DOUBLE_EQ(s.losses.at("fc")[k - 1], k * 64.0 / 832.0);     // k of 4 rows: 64 MACs each
    EXPECT_DOUBLE_EQ(s.metrics.at("fc")[k - 1], 1.0 - k * 64.0 / 832.0);
  }
}

TEST(AnalyzeSensitivity, RestoresEveryWeightBitIdentically) {
  auto net = tiny_net();
  const io::StateDict before = net->clone()->state_dict();
  std::vector<double> seen;
  analyze_sensitivity(*net, {"conv", "fc"},
                      [&](nn::Module& m) {
                        seen.push_back(kept_macs(m));
                        return seen.back();
                      },
                      testing::prune_filters, {.ratios = kRatios});
  EXPECT_LT(seen.back(), 1.0);  // the model was pruned while evaluated
  for (const auto& [name, t] : net->state_dict()) EXPECT_TRUE(testing::tensors_identical(t, before.at(name))) << name;
  EXPECT_DOUBLE_EQ(kept_macs(*net), 1.0);
}

TEST(AnalyzeSensitivity, WorksWithAPrunerThatAttachesMasksAndBakesThemIn) {
  // L1NormPruner on the one layer, compress() then unwrap(): the masks come and go, the weights
  // keep their tensors, so the analysis restores them like any in-place change.
  auto l1_prune = [](nn::Module& model, const std::string& layer, double ratio) {
    const nn::ModulePtr handle(std::shared_ptr<nn::Module>(), &model);  // not owning: the caller holds it
    L1NormPruner pruner(handle, ConfigList::from_json({{{"op_names", {layer}}, {"sparsity", ratio}}}));
    pruner.compress();
    pruner.unwrap();
  };
  auto net = tiny_net();
  const io::StateDict before = net->clone()->state_dict();
  const Sensitivities with_pruner = analyze_sensitivity(*net, {"conv", "fc"}, kept_macs, l1_prune, {.ratios = kRatios});
  for (const auto& [name, t] : net->state_dict()) EXPECT_TRUE(testing::tensors_identical(t, before.at(name))) << name;
  // Same filters as the hand-written L1 pruning (floor and round agree on 1, 2 and 3 of 4).
  const Sensitivities by_hand =
      analyze_sensitivity(*net, {"conv", "fc"}, kept_macs, testing::prune_filters, {.ratios = kRatios});
  EXPECT_EQ(with_pruner.losses, by_hand.losses);
}

TEST(AnalyzeSensitivity, ResumesAnInterruptedRunFromTheCacheEvaluatingOnlyTheMissingPoints) {
  testing::TempDir dir;
  const std::string cache = dir.file("sens.json");
  auto net = tiny_net();
  const io::StateDict before = net->clone()->state_dict();
  int calls = 0;
  auto failing_at_5 = [&](nn::Module& m) {
    if (++calls == 5) throw ValueError("out of memory");
    return kept_macs(m);
  };
  // Calls: the baseline, conv at 0.25, 0.5, 0.75, then fc at 0.25 fails.
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"conv", "fc"}, failing_at_5, testing::prune_filters, {kRatios, cache});
      },
      "analyze_sensitivity: eval failed for layer 'fc' at ratio 0.25: out of memory");
  for (const auto& [name, t] : net->state_dict()) EXPECT_TRUE(testing::tensors_identical(t, before.at(name))) << name;

  int resumed_calls = 0;
  auto counting = [&](nn::Module& m) {
    ++resumed_calls;
    return kept_macs(m);
  };
  const Sensitivities resumed =
      analyze_sensitivity(*net, {"fc", "conv"}, counting, testing::prune_filters, {kRatios, cache});
  EXPECT_EQ(resumed_calls, 3);  // fc at 0.25, 0.5, 0.75; neither the baseline nor conv again

  auto fresh = tiny_net();
  const Sensitivities full =
      analyze_sensitivity(*fresh, {"conv", "fc"}, kept_macs, testing::prune_filters, {.ratios = kRatios});
  EXPECT_EQ(resumed.losses, full.losses);
  EXPECT_EQ(resumed.baseline, full.baseline);

  // A finished cache answers without any evaluation.
  resumed_calls = 0;
  analyze_sensitivity(*net, {"conv", "fc"}, counting, testing::prune_filters, {kRatios, cache});
  EXPECT_EQ(resumed_calls, 0);
  EXPECT_NE(read_text(cache).find("\"format\": \"shrink.sensitivity\""), std::string::npos);
}

TEST(AnalyzeSensitivity, ACacheOfAnotherAnalysisIsRejectedNamingTheDifference) {
  testing::TempDir dir;
  const std::string cache = dir.file("sens.json");
  auto net = tiny_net();
  analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {kRatios, cache});
  const std::string hint = ". Delete it to start a new analysis, or pass another cache_path";

  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"conv", "fc"}, kept_macs, testing::prune_filters, {kRatios, cache});
      },
      ("analyze_sensitivity: the cache '" + cache +
       "' was made for other layers (only in the cache: none; only in this run: fc)" + hint)
          .c_str());
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {{0.5}, cache});
      },
      ("analyze_sensitivity: the cache '" + cache +
       "' was made for other ratios ([0.25, 0.5, 0.75] in the cache, [0.5] in this run)" + hint)
          .c_str());

  auto other = std::make_shared<nn::Sequential>(
      std::initializer_list<nn::SequentialItem>{std::make_shared<nn::Conv2d>(1, 4, 3)});
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*other, {"0"}, kept_macs, testing::prune_filters, {kRatios, cache});
      },
      ("analyze_sensitivity: the cache '" + cache +
       "' was made for another model (state only in the cache: conv.bias, conv.weight, fc.bias, fc.weight; "
       "only in this model: 0.bias, 0.weight)" +
       hint)
          .c_str());

  const std::string old_checksum = detail::fingerprint(*net).checksum;
  {
    NoGradGuard no_grad;
    net->fc->bias().add_(1.0f);
  }
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {kRatios, cache});
      },
      ("analyze_sensitivity: the cache '" + cache + "' was made for other weights of this model (checksum " +
       old_checksum + " in the cache, " + detail::fingerprint(*net).checksum +
       " now: the model was trained, pruned or loaded differently since)" + hint)
          .c_str());
}

TEST(AnalyzeSensitivity, AMalformedCacheIsAnIOError) {
  testing::TempDir dir;
  auto net = tiny_net();
  const std::string broken = dir.write_bytes("broken.json", "{\"format\": ");
  std::string parse_error;
  try {
    [[maybe_unused]] const auto parsed = nlohmann::json::parse("{\"format\": ");
  } catch (const nlohmann::json::exception& e) {
    parse_error = e.what();
  }
  expect_message<IOError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {kRatios, broken});
      },
      ("analyze_sensitivity: the cache '" + broken + "' is malformed (" + parse_error +
       "). Delete it to start a new analysis, or pass another cache_path")
          .c_str());
  // A cache whose metrics do not match its ratios (edited by hand).
  const std::string edited = dir.file("edited.json");
  analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {kRatios, edited});
  nlohmann::json j = nlohmann::json::parse(read_text(edited));
  j["metrics"]["conv"].erase(2);
  dir.write_bytes("edited.json", j.dump());
  expect_message<IOError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {kRatios, edited});
      },
      ("analyze_sensitivity: the cache '" + edited +
       "' is malformed: layer 'conv' has 2 metrics for 3 ratios. Delete it to start a new analysis, or pass another "
       "cache_path")
          .c_str());
  const std::string foreign = dir.write_bytes("foreign.json", "{\"layers\": []}");
  expect_message<IOError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {kRatios, foreign});
      },
      ("analyze_sensitivity: the cache '" + foreign +
       "' is not a sensitivity cache (expected \"format\": \"shrink.sensitivity\", \"version\": 1). Delete it to "
       "start a new analysis, or pass another cache_path")
          .c_str());
}

TEST(AnalyzeSensitivity, ACachePathThatCannotBeReadOrWrittenIsAnIOErrorBeforeAnyEvaluation) {
  testing::TempDir dir;
  auto net = tiny_net();
  int calls = 0;
  auto counting = [&](nn::Module& m) {
    ++calls;
    return kept_macs(m);
  };
  const std::string nowhere = dir.file("missing/sens.json");
  expect_message<IOError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, counting, testing::prune_filters, {kRatios, nowhere});
      },
      ("analyze_sensitivity: cannot write the cache '" + nowhere + "': no directory '" + dir.file("missing") + "'")
          .c_str());
  std::filesystem::create_directory(dir.file("a_directory"));
  expect_message<IOError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, counting, testing::prune_filters, {kRatios, dir.file("a_directory")});
      },
      ("analyze_sensitivity: cannot read the cache '" + dir.file("a_directory") + "': Is a directory").c_str());
  EXPECT_EQ(calls, 0);
  // A name of 250 characters is fine, its temporary "<name>.tmp-<pid>-<hex>" is not.
  const std::string long_name = dir.file(std::string(245, 'x') + ".json");
  expect_message<IOError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, counting, testing::prune_filters, {kRatios, long_name});
      },
      ("analyze_sensitivity: writing the cache: cannot write '" + long_name + "': File name too long").c_str());
}

TEST(AnalyzeSensitivity, UnknownLayersListCloseNames) {
  auto net = tiny_net();
  expect_message<ValueError>([&] { analyze_sensitivity(*net, {"cnv"}, kept_macs, testing::prune_filters); },
                             "analyze_sensitivity: unknown layer 'cnv' (did you mean: conv)");
  expect_message<ValueError>([&] { analyze_sensitivity(*net, {"features.0"}, kept_macs, testing::prune_filters); },
                             "analyze_sensitivity: unknown layer 'features.0' (modules: conv, fc)");
  expect_message<ValueError>([&] { analyze_sensitivity(*net, {}, kept_macs, testing::prune_filters); },
                             "analyze_sensitivity: expected at least one layer name, got none");
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"fc", "fc"}, kept_macs, testing::prune_filters);
      },
      "analyze_sensitivity: expected distinct layer names, got 'fc' twice");
}

TEST(AnalyzeSensitivity, RatiosMustLieInTheOpenUnitIntervalAndDiffer) {
  auto net = tiny_net();
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {.ratios = {0.5, 0.9, 1.0}});
      },
      "analyze_sensitivity: expected every ratio in (0, 1), got 1 at index 2");
  expect_message<ValueError>(
      [&] { analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {.ratios = {0.0}}); },
      "analyze_sensitivity: expected every ratio in (0, 1), got 0 at index 0");
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {.ratios = {0.3, 0.1, 0.3}});
      },
      "analyze_sensitivity: expected distinct ratios, got 0.3 twice");
  expect_message<ValueError>(
      [&] { analyze_sensitivity(*net, {"conv"}, kept_macs, testing::prune_filters, {.ratios = {}}); },
      "analyze_sensitivity: expected at least one ratio, got none");
}

TEST(AnalyzeSensitivity, ABaselineThatIsNotPositiveAndFiniteIsAValueError) {
  auto net = tiny_net();
  const std::string message =
      "analyze_sensitivity: expected a positive, finite metric for the unpruned model (the loss (base - metric) / "
      "base is relative to it), got ";
  const std::string hint = ". Hint: eval must return a score where higher is better, such as accuracy";
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(
            *net, {"conv"}, [](nn::Module&) { return 0.0; }, testing::prune_filters);
      },
      (message + "0" + hint).c_str());
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(
            *net, {"conv"}, [](nn::Module&) { return std::numeric_limits<double>::infinity(); },
            testing::prune_filters);
      },
      (message + "inf" + hint).c_str());
}

TEST(AnalyzeSensitivity, CallbackFailuresNameTheLayerAndRatioAndKeepTheirType) {
  auto net = tiny_net();
  const io::StateDict before = net->clone()->state_dict();
  expect_message<ShapeError>(
      [&] {
        analyze_sensitivity(*net, {"fc"}, kept_macs, [](nn::Module& m, const std::string& layer, double r) {
          testing::prune_filters(m, layer, r);
          throw ShapeError("bad filter");
        });
      },
      "analyze_sensitivity: prune failed for layer 'fc' at ratio 0.1: bad filter");
  for (const auto& [name, t] : net->state_dict()) EXPECT_TRUE(testing::tensors_identical(t, before.at(name))) << name;
  expect_message<Error>(
      [&] {
        analyze_sensitivity(
            *net, {"fc"}, [](nn::Module&) -> double { throw std::runtime_error("no data"); }, testing::prune_filters);
      },
      "analyze_sensitivity: eval of the unpruned model failed: no data");
  int calls = 0;
  expect_message<ValueError>(
      [&] {
        analyze_sensitivity(
            *net, {"fc"}, [&](nn::Module&) { return ++calls == 1 ? 1.0 : std::nan(""); }, testing::prune_filters);
      },
      "analyze_sensitivity: expected a finite metric for layer 'fc' at ratio 0.1, got nan");
  expect_message<ValueError>([&] { analyze_sensitivity(*net, {"fc"}, EvalFn(), testing::prune_filters); },
                             "analyze_sensitivity: expected an eval and a prune function, got an empty eval function");
}

TEST(AnalyzeSensitivity, APruneFunctionThatChangesTheStructureIsAStateError) {
  auto net = tiny_net();
  auto add_mask = [](nn::Module& m, const std::string& layer, double) {
    m.find_module(layer)->register_buffer("weight_mask", ones({4, 64}));
  };
  expect_message<StateError>(
      [&] { analyze_sensitivity(*net, {"fc"}, kept_macs, add_mask, {.ratios = {0.5}}); },
      "analyze_sensitivity: the prune function changed the model's structure for layer 'fc' at ratio 0.5 (added "
      "'fc.weight_mask'); it must change values only, e.g. zero weights or fill an existing mask buffer");
  auto rebind = [](nn::Module& m, const std::string& layer, double) {
    nn::Module& fc = *m.find_module(layer);
    fc.param("weight") = zeros({4, 64});
  };
  auto fresh = tiny_net();
  expect_message<StateError>(
      [&] { analyze_sensitivity(*fresh, {"fc"}, kept_macs, rebind, {.ratios = {0.5}}); },
      "analyze_sensitivity: the prune function changed the model's structure for layer 'fc' at ratio 0.5 (replaced "
      "the tensor of 'fc.weight' instead of its values); it must change values only, e.g. zero weights or fill an "
      "existing mask buffer");
}

}  // namespace
}  // namespace shrink::compression
