// compression/quantization/quantizer_registry.cpp: every name builds its quantizer class, QAT's
// fold_bn and LSQ's learn_zero_point options reach the quantizer, and unknown names, unknown
// option keys and mistyped values are errors listing what is allowed.
#include "compression/quantization/quantizer_registry.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/lsq_quantizer.h"
#include "nn/layers.h"
#include "tests/support/errors.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

/// Linear(4, 3).
nn::ModulePtr one_linear() {
  manual_seed(0);
  return std::make_shared<nn::Sequential>(nn::Sequential{std::make_shared<nn::Linear>(4, 3)});
}

/// Conv2d(1, 2, 3) -> BatchNorm2d(2) with running statistics away from their initial values.
nn::ModulePtr conv_bn() {
  manual_seed(0);
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Conv2d>(1, 2, 3));
  m->push_back(std::make_shared<nn::BatchNorm2d>(nn::BatchNormOptions{.num_features = 2}));
  NoGradGuard no_grad;
  m->find_module("1")->buffer("running_var").copy_(from_vector(std::vector<float>{0.25f, 4.0f}, {2}));
  return m;
}

ConfigList weights8() {
  return ConfigList::parse(R"([{"op_types": ["Linear", "Conv2d"], "quant_types": ["weight"],
      "quant_scheme": "per_channel_symmetric", "quant_dtype": "int"}])");
}

TEST(MakeQuantizer, KnowsTheQuantizersByName) {
  EXPECT_EQ(quantizer_names(), (std::vector<std::string>{"qat", "ptq", "naive", "dorefa", "bnn", "lsq"}));
}

TEST(MakeQuantizer, BuildsTheQuantizerClassOfEachName) {
  EXPECT_EQ(make_quantizer("qat", one_linear(), weights8())->name(), "QATQuantizer");
  EXPECT_EQ(make_quantizer("ptq", one_linear(), weights8())->name(), "PTQQuantizer");
  EXPECT_EQ(make_quantizer("naive", one_linear(), weights8())->name(), "NaiveQuantizer");
  EXPECT_EQ(make_quantizer("dorefa", one_linear(), weights8())->name(), "DoReFaQuantizer");
  EXPECT_EQ(make_quantizer("bnn", one_linear(), weights8())->name(), "BNNQuantizer");
  EXPECT_EQ(make_quantizer("lsq", one_linear(), weights8())->name(), "LSQQuantizer");
}

TEST(MakeQuantizer, TheReturnedQuantizerIsNotCompressedYet) {
  auto q = make_quantizer("qat", one_linear(), weights8());
  EXPECT_FALSE(q->is_compressed());
  EXPECT_TRUE(q->layers().empty());
}

TEST(MakeQuantizer, ListsTheOptionKeysOfEachQuantizer) {
  EXPECT_EQ(quantizer_options("qat"), (std::vector<std::string>{"fold_bn"}));
  EXPECT_EQ(quantizer_options("lsq"), (std::vector<std::string>{"learn_zero_point"}));
  for (const char* name : {"ptq", "naive", "dorefa", "bnn"}) EXPECT_TRUE(quantizer_options(name).empty()) << name;
}

TEST(MakeQuantizer, NullEmptyAndFalseOptionsMeanTheDefaults) {
  EXPECT_NO_THROW(make_quantizer("qat", one_linear(), weights8(), nlohmann::json()));
  EXPECT_NO_THROW(make_quantizer("ptq", one_linear(), weights8(), nlohmann::json::object()));
  EXPECT_NO_THROW(make_quantizer("qat", one_linear(), weights8(), {{"fold_bn", false}})->compress());
  EXPECT_NO_THROW(make_quantizer("qat", one_linear(), weights8(), {{"fold_bn", nlohmann::json::array()}})->compress());
}

TEST(MakeQuantizer, FoldBnPairsReachTheQuantizer) {
  // Folded, the conv fake-quantizes W·sf, so its output differs from the unfolded QAT's (whose
  // weight grid is W's own); with sf = 1/√(0.25 + eps) and 1/√(4 + eps) the grids differ.
  const Tensor x = randn({1, 1, 5, 5});
  nn::ModulePtr folded_model = conv_bn(), plain_model = conv_bn();
  auto folded = make_quantizer("qat", folded_model, weights8(), nlohmann::json::parse(R"({"fold_bn": [["0", "1"]]})"));
  auto plain = make_quantizer("qat", plain_model, weights8());
  folded->compress();
  plain->compress();
  folded_model->eval();
  plain_model->eval();
  NoGradGuard no_grad;
  const auto a = (*folded_model)(x).to_vector(), b = (*plain_model)(x).to_vector();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a, b);
  // The quantizer's own check of the pairs still applies.
  auto bad = make_quantizer("qat", conv_bn(), weights8(), nlohmann::json::parse(R"({"fold_bn": [["0", "2"]]})"));
  EXPECT_THROW(bad->compress(), ValueError);
}

TEST(MakeQuantizer, AnUnknownNameListsTheKnownOnes) {
  expect_message<ValueError>([] { make_quantizer("int8", one_linear(), weights8()); },
                             "make_quantizer: expected a quantizer name (qat, ptq, naive, dorefa, bnn, lsq), got 'int8'");
  expect_message<ValueError>([] { quantizer_options("QAT"); },
                             "make_quantizer: expected a quantizer name (qat, ptq, naive, dorefa, bnn, lsq), got 'QAT'");
}

TEST(MakeQuantizer, LearnZeroPointReachesLSQ) {
  const char* inputs8 = R"([{"op_types": ["Linear"], "quant_types": ["input"]}])";
  for (bool learn : {false, true}) {
    auto q = make_quantizer("lsq", one_linear(), ConfigList::parse(inputs8), {{"learn_zero_point", learn}});
    q->compress();
    auto* lsq = dynamic_cast<LSQQuantizer*>(q.get());
    ASSERT_NE(lsq, nullptr);
    EXPECT_EQ(lsq->named_parameters().size(), learn ? 2u : 1u) << learn;
  }
}

TEST(MakeQuantizer, AnUnknownOptionKeyListsTheAllowedOnes) {
  expect_message<ValueError>([] { make_quantizer("qat", one_linear(), weights8(), {{"fold", true}}); },
                             "make_quantizer(qat): expected an option among (fold_bn), got 'fold'");
  expect_message<ValueError>([] { make_quantizer("ptq", one_linear(), weights8(), {{"fold_bn", false}}); },
                             "make_quantizer(ptq): expected no options (ptq has none), got 'fold_bn'");
}

TEST(MakeQuantizer, OptionsMustBeAnObjectOfTheRightTypes) {
  expect_message<ValueError>([] { make_quantizer("qat", one_linear(), weights8(), nlohmann::json::array({1})); },
                             "make_quantizer(qat): expected the options as a JSON object, got [1]");
  expect_message<ValueError>([] { make_quantizer("qat", one_linear(), weights8(), {{"fold_bn", "all"}}); },
                             "make_quantizer(qat): option 'fold_bn': expected a list of [conv, bn] name pairs or "
                             "false, got \"all\"");
  expect_message<ValueError>(
      [] { make_quantizer("qat", one_linear(), weights8(), nlohmann::json::parse(R"({"fold_bn": [["0", "1", "2"]]})")); },
      "make_quantizer(qat): option 'fold_bn'[0]: expected a [conv, bn] pair of module names, got [\"0\",\"1\",\"2\"]");
  expect_message<ValueError>([] { make_quantizer("lsq", one_linear(), weights8(), {{"learn_zero_point", 1}}); },
                             "make_quantizer(lsq): option 'learn_zero_point': expected true or false, got 1");
  expect_message<ValueError>([] { make_quantizer("qat", one_linear(), weights8(), {{"fold_bn", true}}); },
                             "make_quantizer(qat): option 'fold_bn': expected a list of [conv, bn] name pairs or "
                             "false, got true (hint: speedup::conv_bn_pairs(model, example) finds the pairs; a "
                             "pipeline file's \"fold_bn\": true is resolved that way)");
}

}  // namespace
}  // namespace shrink::compression
