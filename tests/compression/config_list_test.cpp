// config_list (compression/config_list.h): NNI 2.x selection semantics and every pinned message.
#include "compression/config_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "autograd/warning.h"
#include "nn/layers.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::expect_message;

/// conv (Conv2d) -> bn (BatchNorm2d) -> relu -> flatten -> fc1 (Linear) -> fc2 (Linear).
class Net : public nn::Cloneable<Net> {
 public:
  Net() : Cloneable("Net") {
    register_module("conv", std::make_shared<nn::Conv2d>(1, 2, 3));
    register_module("bn", std::make_shared<nn::BatchNorm2d>(2));
    register_module("relu", std::make_shared<nn::ReLU>());
    register_module("fc1", std::make_shared<nn::Linear>(8, 4));
    register_module("fc2", std::make_shared<nn::Linear>(4, 2));
  }

 protected:
  Tensor forward(const Tensor& x) override { return x; }
};

std::vector<std::string> names(const std::vector<SelectedLayer>& layers) {
  std::vector<std::string> out;
  for (const auto& l : layers) out.push_back(l.name);
  return out;
}

ConfigRules pruner_rules() {
  ConfigRules r;
  r.compressor = "L1NormPruner";
  return r;
}

std::vector<SelectedLayer> select(const std::string& json) {
  static Net net;
  static std::vector<ConfigList> keep;  // the dict pointers of the result point into the list
  keep.push_back(ConfigList::parse(json));
  return select_layers(net, keep.back(), pruner_rules());
}

TEST(ConfigList, DefaultOpTypesAreLinearAndConv2d) {
  EXPECT_EQ(names(select(R"([{"op_types": ["default"], "sparsity": 0.5}])")),
            (std::vector<std::string>{"conv", "fc1", "fc2"}));
}

TEST(ConfigList, LaterDictOverridesEarlierForTheLayersBothSelect) {
  const auto layers = select(R"([{"op_types": ["Linear"], "sparsity": 0.5},
                                 {"op_names": ["fc2"], "sparsity_per_layer": 0.2}])");
  ASSERT_EQ(names(layers), (std::vector<std::string>{"fc1", "fc2"}));
  EXPECT_EQ(layers[0].dict->sparsity_per_layer(), 0.5);
  EXPECT_EQ(layers[1].dict->sparsity_per_layer(), 0.2);
  EXPECT_EQ(layers[1].dict->index, 1u);
}

TEST(ConfigList, ExcludeRemovesItsLayersFromEarlierDictsOnly) {
  EXPECT_EQ(names(select(R"([{"op_types": ["default"], "sparsity": 0.5},
                            {"op_names_re": ["fc.*"], "exclude": true},
                            {"op_partial_names": ["2"], "sparsity": 0.1}])")),
            (std::vector<std::string>{"conv", "fc2"}));
}

TEST(ConfigList, SelectorsCombineAndPatternsMatchWholeNames) {
  EXPECT_EQ(names(select(R"([{"op_types": ["Linear"], "op_partial_names": ["c1"], "sparsity": 0.5}])")),
            (std::vector<std::string>{"fc1"}));
  // A regex must match the whole name: "fc" alone matches nothing (and warns).
  WarningCollector warnings;
  EXPECT_EQ(names(select(R"([{"op_names_re": ["fc", "conv"], "sparsity": 0.5}])")), (std::vector<std::string>{"conv"}));
  EXPECT_EQ(warnings.messages(),
            std::vector<std::string>{"config_list[0]['op_names_re']: 'fc' matches no module of the model"});
}

TEST(ConfigList, PatternsSkipModulesThePrunerCannotCompress) {
  // "c" is in conv, fc1, fc2 and... nothing else; "n" in conv and bn: bn is skipped quietly.
  EXPECT_EQ(names(select(R"([{"op_partial_names": ["n"], "sparsity": 0.5}])")), (std::vector<std::string>{"conv"}));
}

TEST(ConfigList, UnmatchedNamesWarnAndNothingSelectedIsAnError) {
  WarningCollector warnings;
  expect_message<ValueError>(
      [] { select(R"([{"op_names": ["fc9"], "sparsity": 0.5}])"); },
      "L1NormPruner: Nothing is configured to compress, please check your model and config_list (the model's "
      "compressible modules: conv (Conv2d), fc1 (Linear), fc2 (Linear))");
  EXPECT_EQ(warnings.messages(),
            std::vector<std::string>{"config_list[0]['op_names']: 'fc9' matches no module of the model"});
}

TEST(ConfigList, UnknownKeyListsTheAllowedOnesWithAHint) {
  expect_message<ValueError>([] { select(R"([{"op_types": ["Conv2d"], "sparsty": 0.5}])"); },
                             "L1NormPruner: config_list[0]: unknown key 'sparsty' (allowed keys: op_types, op_names, "
                             "op_partial_names, op_names_re, exclude, sparsity, sparsity_per_layer, total_sparsity, "
                             "max_sparsity_per_layer) (Hint: did you mean 'sparsity'?)");
}

TEST(ConfigList, AnOpTypeThePrunerCannotCompressIsAnError) {
  expect_message<ValueError>([] { select(R"([{"op_types": ["BatchNorm2d"], "sparsity": 0.5}])"); },
                             "L1NormPruner: config_list[0]['op_types']: L1NormPruner cannot compress 'BatchNorm2d' "
                             "(it compresses: Linear, Conv2d)");
  expect_message<ValueError>([] { select(R"([{"op_names": ["relu"], "sparsity": 0.5}])"); },
                             "L1NormPruner: config_list[0]['op_names']: 'relu' is a ReLU, which L1NormPruner cannot "
                             "compress (it compresses: Linear, Conv2d)");
}

TEST(ConfigList, ADictWithoutATargetIsAnError) {
  expect_message<ValueError>([] { select(R"([{"op_types": ["Conv2d"]}])"); },
                             "L1NormPruner: config_list[0]: expected one of sparsity, sparsity_per_layer, "
                             "total_sparsity, got none (an \"exclude\": true dict needs none)");
}

TEST(ConfigList, SyntaxErrorsNameTheDictAndKey) {
  expect_message<ValueError>([] { ConfigList::parse(R"([{"sparsity": 0.5}])"); },
                             "config_list[0]: Either op_types or op_names must be specified. (Hint: op_partial_names "
                             "and op_names_re select by name too.)");
  expect_message<ValueError>(
      [] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5, "sparsity_per_layer": 0.5}])"); },
      "config_list[0]: 'sparsity' and 'sparsity_per_layer' have the same semantics, can not set both in one config.");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 1.0}])"); },
                             "config_list[0]['sparsity']: expected a number in [0, 1), got 1.0");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": "0.5"}])"); },
                             "config_list[0]['sparsity']: expected a number in [0, 1), got \"0.5\" (a string)");
  expect_message<ValueError>([] { ConfigList::parse(R"([{}, {"op_types": "Conv2d", "sparsity": 0.5}])"); },
                             "config_list[0]: Either op_types or op_names must be specified. (Hint: op_partial_names "
                             "and op_names_re select by name too.)");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": "Conv2d", "sparsity": 0.5}])"); },
                             "config_list[0]['op_types']: expected a non-empty list of strings, got \"Conv2d\" (a "
                             "string) (Hint: write a list even for one name, e.g. [\"Conv2d\"])");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_names": ["a"], "exclude": 1}])"); },
                             "config_list[0]['exclude']: expected true or false, got 1");
  EXPECT_THAT(error_of<ValueError>([] { ConfigList::parse(R"([{"op_names_re": ["("], "exclude": true}])"); }),
              ::testing::StartsWith("config_list[0]['op_names_re'][0]: expected an ECMAScript regular expression, "
                                    "got '(' ("));
  expect_message<ValueError>([] { ConfigList::parse(R"({"op_types": ["Conv2d"]})"); },
                             "config_list: expected a list of dicts [{...}, ...], got {\"op_types\":[\"Conv2d\"]} (an "
                             "object)");
  expect_message<ValueError>(
      [] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5, "total_sparsity": 0.5}])"); },
      "config_list[0]: expected either a per-layer sparsity or 'total_sparsity', got both (Hint: put them in two "
      "dicts selecting different layers)");
  expect_message<ValueError>(
      [] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "sparsity": 0.5, "max_sparsity_per_layer": 0.9}])"); },
      "config_list[0]: 'max_sparsity_per_layer' caps the layers of a 'total_sparsity' budget; expected "
      "'total_sparsity' in the same dict, got none");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "quant_bits": 33}])"); },
                             "config_list[0]['quant_bits']: expected an integer in [1, 32], got 33");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "quant_scheme": "affine"}])"); },
                             "config_list[0]['quant_scheme']: expected one of 'per_tensor_affine', "
                             "'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric', got \"affine\" "
                             "(a string)");
  expect_message<ValueError>(
      [] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "quant_scheme": {"weight": "per_channel_symmetric", "input": 1}}])"); },
      "config_list[0]['quant_scheme']['input']: expected one of 'per_tensor_affine', 'per_tensor_symmetric', "
      "'per_channel_affine', 'per_channel_symmetric', got 1");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "quant_dtype": {"bias": "int"}}])"); },
                             "config_list[0]['quant_dtype']: expected one of 'weight', 'input', 'output', got \"bias\" "
                             "(a string)");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "observer": {}}])"); },
                             "config_list[0]['observer']: expected an observer name or an object {type: value}, got {}");
  expect_message<ValueError>([] { ConfigList::parse(R"([{"op_types": ["Conv2d"], "observer": ""}])"); },
                             "config_list[0]['observer']: expected an observer name, got \"\" (a string)");
}

TEST(ConfigList, QuantizationSettingsTakeOneValueOrOnePerType) {
  const ConfigList list = ConfigList::parse(R"([{"op_types": ["Conv2d"], "quant_types": ["weight", "input"],
      "quant_bits": {"weight": 4, "input": 8}, "quant_scheme": {"weight": "per_channel_symmetric"},
      "quant_dtype": "int_full", "observer": {"input": "min_max"}}])");
  EXPECT_EQ(list.dicts()[0].settings.at("quant_bits").at("weight"), 4);
  EXPECT_EQ(list.dicts()[0].settings.at("quant_dtype"), "int_full");
}

TEST(ConfigList, MalformedJsonGivesLineAndColumn) {
  EXPECT_THAT(
      error_of<ValueError>([] { ConfigList::parse("[{\"op_types\": [\"Conv2d\"],\n  \"sparsity\": 0.5,}]"); }),
      ::testing::StartsWith("config_list: malformed JSON at line 2, column 19: syntax error"));
}

TEST(ConfigList, FromFileNamesTheFile) {
  testing::TempDir dir;
  const std::string path = dir.file("config.json");
  std::ofstream(path) << R"([{"op_types": ["Conv2d"], "sparsity": 2}])";
  expect_message<ValueError>([&] { ConfigList::from_file(path); },
                             (path + ": config_list[0]['sparsity']: expected a number in [0, 1), got 2").c_str());
  expect_message<IOError>([&] { ConfigList::from_file(dir.file("none.json")); },
                          (dir.file("none.json") + ": cannot open the config_list file for reading").c_str());
  std::ofstream(path) << R"([{"op_types": ["Conv2d"], "total_sparsity": 0.5, "max_sparsity_per_layer": 0.8}])";
  const ConfigList list = ConfigList::from_file(path);
  ASSERT_EQ(list.dicts().size(), 1u);
  EXPECT_EQ(list.dicts()[0].total_sparsity(), 0.5);
  EXPECT_EQ(list.dicts()[0].max_sparsity_per_layer(), 0.8);
  EXPECT_EQ(list.source(), path);
  EXPECT_EQ(list.to_json(), nlohmann::json::parse(R"([{"op_types": ["Conv2d"], "total_sparsity": 0.5,
                                                       "max_sparsity_per_layer": 0.8}])"));
}

}  // namespace
}  // namespace shrink::compression
