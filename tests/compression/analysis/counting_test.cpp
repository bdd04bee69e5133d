// count_layers (compression/analysis/counting.h): params, sparsity and MACs per layer, dense and
// effective, on hand-computed models and on the zoo's vgg_small.
#include "compression/analysis/counting.h"

#include <gtest/gtest.h>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "nn/models/registry.h"
#include "tests/compression/analysis/analysis_testing.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::expect_message;

TEST(CountLayers, CountsParamsSparsityAndMacsOfEachLayerByHand) {
  auto net = testing::make_counted_net();
  const auto counts = count_layers(*net, {2, 1, 4, 4});
  ASSERT_EQ(counts.size(), 3u);

  const LayerCount& conv = counts[0];
  EXPECT_EQ(conv.name, "conv");
  EXPECT_EQ(conv.type, "Conv2d");
  EXPECT_TRUE(conv.has_macs);
  EXPECT_EQ(conv.weight_shape, (Shape{4, 1, 3, 3}));
  EXPECT_EQ(conv.input_shape, (Shape{1, 4, 4}));
  EXPECT_EQ(conv.output_shape, (Shape{4, 4, 4}));
  EXPECT_EQ(conv.calls, 1);
  EXPECT_EQ(conv.params, 40);          // 36 weights + 4 biases
  EXPECT_EQ(conv.nonzero_params, 22);  // the mask zeroes 2 filters of 9 weights
  EXPECT_DOUBLE_EQ(conv.sparsity(), 18.0 / 40.0);
  EXPECT_EQ(conv.macs, 4 * 4 * 4 * 1 * 3 * 3);  // H_out·W_out·C_out·C_in·K_h·K_w = 576
  EXPECT_EQ(conv.effective_macs, 4 * 4 * 18);   // H_out·W_out·(nonzero weights)
  EXPECT_EQ(conv.flops(), 2 * 576);

  const LayerCount& bn = counts[1];
  EXPECT_EQ(bn.name, "bn");
  EXPECT_EQ(bn.type, "BatchNorm2d");
  EXPECT_FALSE(bn.has_macs);
  EXPECT_EQ(bn.params, 8);
  EXPECT_EQ(bn.nonzero_params, 8);
  EXPECT_EQ(bn.macs, 0);
  EXPECT_EQ(bn.output_shape, (Shape{4, 4, 4}));

  const LayerCount& fc = counts[2];
  EXPECT_EQ(fc.name, "fc");
  EXPECT_EQ(fc.type, "Linear");
  EXPECT_EQ(fc.input_shape, (Shape{16}));
  EXPECT_EQ(fc.output_shape, (Shape{3}));
  EXPECT_EQ(fc.params, 51);
  EXPECT_EQ(fc.nonzero_params, 39);  // 12 raw weights are zero
  EXPECT_EQ(fc.macs, 16 * 3);
  EXPECT_EQ(fc.effective_macs, 36);

  const CountTotals t = count_totals(counts);
  EXPECT_EQ(t.params, 99);
  EXPECT_EQ(t.nonzero_params, 69);
  EXPECT_DOUBLE_EQ(t.sparsity(), 30.0 / 99.0);
  EXPECT_EQ(t.macs, 624);
  EXPECT_EQ(t.effective_macs, 324);
  EXPECT_EQ(t.flops(), 1248);
  EXPECT_EQ(t.effective_flops(), 648);
  EXPECT_EQ(macs_by_layer(counts), (std::map<std::string, std::int64_t>{{"conv", 576}, {"fc", 48}}));
}

TEST(CountLayers, CountsArePerSampleWhateverTheBatch) {
  auto net = testing::make_counted_net();
  const auto one = count_layers(*net, {1, 1, 4, 4});
  const auto five = count_layers(*net, {5, 1, 4, 4});
  ASSERT_EQ(one.size(), five.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].macs, five[i].macs) << one[i].name;
    EXPECT_EQ(one[i].effective_macs, five[i].effective_macs) << one[i].name;
    EXPECT_EQ(one[i].output_shape, five[i].output_shape) << one[i].name;
  }
}

TEST(CountLayers, ABiasCountsAsPrunedOnlyWhereAParametrizationZeroesIt) {
  nn::Linear fc(4, 3);
  {
    NoGradGuard no_grad;
    fc.weight().fill_(1.0);
    fc.bias().zero_();  // zero, but not pruned
  }
  EXPECT_EQ(count_layers(fc, {1, 4})[0].nonzero_params, 15);
  {
    NoGradGuard no_grad;
    fc.bias().fill_(2.0);
  }
  fc.register_buffer("bias_mask", from_vector(std::vector<float>{1, 0, 1}, {3}));
  fc.register_parametrization(
      "bias", nn::ParametrizationFn([](nn::Module& m, const Tensor& b) { return b * m.buffer("bias_mask"); }), "mask");
  const LayerCount c = count_layers(fc, {1, 4})[0];
  EXPECT_EQ(c.nonzero_params, 14);
  EXPECT_EQ(c.effective_macs, 12);  // the bias does not take part in the MACs
}

/// fc applied twice: a shared module.
class TwiceNet : public nn::Cloneable<TwiceNet> {
 public:
  TwiceNet() : Cloneable("TwiceNet") { register_module("fc", std::make_shared<nn::Linear>(4, 4), &TwiceNet::fc); }
  std::shared_ptr<nn::Linear> fc;

 protected:
  Tensor forward(const Tensor& x) override { return (*fc)((*fc)(x)); }
};

TEST(CountLayers, AModuleCalledTwiceCountsTheMacsOfEachCallAndItsParamsOnce) {
  TwiceNet net;
  const auto counts = count_layers(net, {3, 4});
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].calls, 2);
  EXPECT_EQ(counts[0].macs, 2 * 16);
  EXPECT_EQ(counts[0].params, 20);
}

TEST(CountLayers, ALinearOverExtraDimensionsCountsEachRow) {
  nn::Linear fc(4, 2);
  const auto counts = count_layers(fc, {1, 5, 4});  // 5 rows per sample
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].name, "");  // the model itself
  EXPECT_EQ(counts[0].macs, 5 * 4 * 2);
}

TEST(CountLayers, RestoresEachModulesModeAndRemovesItsHooks) {
  auto net = testing::make_counted_net();
  net->train();
  net->bn->eval();
  const auto first = count_layers(*net, {1, 1, 4, 4});
  EXPECT_TRUE(net->is_training());
  EXPECT_TRUE(net->conv->is_training());
  EXPECT_FALSE(net->bn->is_training());
  // Running the model again calls no hook of the first count (they wrote into its vector).
  const auto second = count_layers(*net, {1, 1, 4, 4});
  for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(second[i].calls, 1) << second[i].name;
}

TEST(CountLayers, CountsInEvalModeSoBatchNormStatisticsStayUntouched) {
  auto net = testing::make_counted_net();
  net->train();
  const Tensor before = net->bn->running_mean().clone();
  count_layers(*net, {2, 1, 4, 4});
  EXPECT_TRUE(testing::tensors_identical(net->bn->running_mean(), before));
}

TEST(CountLayers, AnInputTheModelRejectsIsTheModelsErrorPrefixed) {
  auto net = testing::make_counted_net();
  net->train();
  expect_message<ShapeError>(
      [&] {
        count_layers(*net, {1, 1, 6, 6});
      },
      "count_layers: Linear: expected input with last dim 16 (in_features), got shape [1, 36]");
  EXPECT_TRUE(net->is_training());
  EXPECT_EQ(count_layers(*net, {1, 1, 4, 4})[0].calls, 1);  // no hook left behind by the failure
}

TEST(CountLayers, AShapeWithoutBatchDimensionIsAValueError) {
  nn::Linear fc(784, 10);
  expect_message<ValueError>([&] { count_layers(fc, {784}); },
                             "count_layers: expected an input shape with a batch dimension first and sizes >= 1, "
                             "e.g. [1, 1, 28, 28], got [784]");
  expect_message<ValueError>(
      [&] {
        count_layers(fc, {0, 784});
      },
      "count_layers: expected an input shape with a batch dimension first and sizes >= 1, "
      "e.g. [1, 1, 28, 28], got [0, 784]");
}

TEST(CountLayers, VggSmallMatchesThePyTorchReferenceCount) {
  manual_seed(0);
  auto model = models::create("vgg_small");
  const auto counts = count_layers(*model, {1, 1, 28, 28});
  // tests/reference/models.py count_macs(VGGSmall().eval(), torch.randn(1, 1, 28, 28)), computed
  // once with /usr/bin/python3 (PyTorch 1.13) in tests/reference: 29138688 (params: 298858).
  EXPECT_EQ(count_totals(counts).macs, 29138688);
  EXPECT_EQ(counts.size(), 13u);  // 6 convs, 6 BatchNorms, the classifier
  // Every parameter of vgg_small is in a counted layer, and a fresh model is dense.
  std::int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  EXPECT_EQ(count_totals(counts).params, params);
  EXPECT_EQ(params, 298858);
  EXPECT_EQ(count_totals(counts).nonzero_params, params);  // BatchNorm biases start at 0: not pruned
  EXPECT_EQ(count_totals(counts).effective_macs, count_totals(counts).macs);
}

}  // namespace
}  // namespace shrink::compression
