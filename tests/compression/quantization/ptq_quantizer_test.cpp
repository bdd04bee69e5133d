// PTQQuantizer: calibration observes without quantizing, freezing gives the observers' qparams,
// the named observer is used, the calibration config reproduces the outputs, misuse is an error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/observers_search.h"
#include "compression/quantization/ptq_quantizer.h"
#include "nn/layers.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;

nn::ModulePtr small_model(std::uint64_t seed = 0) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Conv2d>(2, 4, 3, 1, 1));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::Flatten>());
  m->push_back(std::make_shared<nn::Linear>(4 * 5 * 5, 3));
  return m;
}

const char* kConfig = R"([{"op_types": ["Conv2d", "Linear"], "quant_types": ["weight", "input"],
    "quant_scheme": {"weight": "per_channel_symmetric", "input": "per_tensor_affine"},
    "quant_dtype": {"weight": "int_full", "input": "uint"}}])";

TEST(PTQQuantizer, CalibrationObservesWithoutQuantizingThenFreezesTheObserversQParams) {
  nn::ModulePtr model = small_model(), plain = small_model();
  plain->eval();
  PTQQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  const std::vector<Tensor> batches = {randn({4, 2, 5, 5}), randn({4, 2, 5, 5}) * 2.0f};
  q.begin_calibration();
  for (const Tensor& b : batches) EXPECT_TRUE(tensors_identical((*model)(b).detach(), (*plain)(b).detach()));
  q.end_calibration();
  EXPECT_TRUE(q.is_calibrated());
  MinMaxObserver input_range({QuantRange{0, 255}, QuantScheme::Affine, -1});
  for (const Tensor& b : batches) input_range.observe(b);
  EXPECT_TRUE(tensors_identical(q.layers()[0]->qparams[1]->scale, input_range.qparams().scale));
  MinMaxObserver weight_range({QuantRange{-128, 127}, QuantScheme::Symmetric, 0});
  weight_range.observe(model->find_module("0")->param("weight"));
  EXPECT_TRUE(tensors_identical(q.layers()[0]->qparams[0]->scale, weight_range.qparams().scale));
  const Tensor x = randn({2, 2, 5, 5});
  EXPECT_FALSE(tensors_identical((*model)(x).detach(), (*plain)(x).detach()));
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical(model->find_module("0")->param_value("weight"),
                                fake_quantize(model->find_module("0")->param("weight"), weight_range.qparams())));
}

TEST(PTQQuantizer, UsesTheObserverTheConfigListNames) {
  nn::ModulePtr model = small_model();
  PTQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["input"],
                                              "observer": "percentile"}])"));
  q.compress();
  EXPECT_EQ(q.layers()[0]->observers[1]->name(), "percentile");
  q.calibrate([&] { (*model)(randn({8, 2, 5, 5})); });
  EXPECT_TRUE(q.layers()[0]->qparams[1].has_value());
}

TEST(PTQQuantizer, CalibrationConfigReproducesTheOutputsOnAFreshModel) {
  nn::ModulePtr model = small_model(), other = small_model();
  PTQQuantizer q(model, ConfigList::parse(kConfig)), q2(other, ConfigList::parse(kConfig));
  q.compress();
  q2.compress();
  q.calibrate([&] { (*model)(randn({16, 2, 5, 5})); });
  q2.load_calibration_config(q.calibration_config());
  other->eval();
  const Tensor x = randn({3, 2, 5, 5}) * 3.0f;
  EXPECT_TRUE(tensors_identical((*model)(x).detach(), (*other)(x).detach()));
}

TEST(PTQQuantizer, BiasCorrectionRemovesTheMeanOutputErrorOfTheWeightQuantization) {
  nn::ModulePtr model = small_model(), plain = small_model();
  plain->eval();
  PTQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Conv2d", "Linear"], "quant_types": ["weight"],
                                              "quant_bits": 3, "quant_scheme": "per_tensor_affine"}])"));
  q.compress();
  const std::vector<Tensor> batches = {randn({8, 2, 5, 5}), randn({8, 2, 5, 5})};
  auto run = [&] {
    for (const Tensor& b : batches) (*model)(b);
  };
  q.calibrate(run);
  // The first layer's mean error per channel over the batches, before and after.
  auto mean_error = [&] {
    NoGradGuard no_grad;
    Tensor total = zeros({4});
    for (const Tensor& b : batches)
      total = add(total, mean(sub((*plain->find_module("0"))(b), (*model->find_module("0"))(b)), {0, 2, 3}));
    return div(total, 2.0f);
  };
  const Tensor before = mean_error();
  EXPECT_EQ(q.correct_bias(run), 2);
  const Tensor after = mean_error();
  float worst_before = 0, worst_after = 0;
  for (std::int64_t c = 0; c < 4; ++c) {
    worst_before = std::max(worst_before, std::abs(before.data<float>()[c]));
    worst_after = std::max(worst_after, std::abs(after.data<float>()[c]));
  }
  EXPECT_GT(worst_before, 1e-3f);
  EXPECT_LT(worst_after, 1e-5f) << worst_before;
}

TEST(PTQQuantizer, QuantizesTheOutputOfActivationLayersAndRefusesAWeightThere) {
  nn::ModulePtr model = small_model();
  PTQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["ReLU"], "quant_types": ["output"]}])"));
  q.compress();
  q.calibrate([&] { (*model)(randn({4, 2, 5, 5})); });
  EXPECT_EQ(q.layers()[0]->name, "1");
  EXPECT_TRUE(q.layers()[0]->qparams[2].has_value());
  EXPECT_EQ(q.calibration_config()["1"]["output_bits"], 8);
  EXPECT_EQ(error_of<ValueError>([&] {
              PTQQuantizer(model, ConfigList::parse(R"([{"op_types": ["ReLU"], "quant_types": ["weight"]}])"))
                  .compress();
            }),
            "PTQQuantizer.compress: '1' (ReLU) has no weight to quantize; config_list[0]['quant_types'] asks for "
            "'weight'");
}

TEST(PTQQuantizer, MisuseIsAStateErrorThatSaysWhatToDo) {
  nn::ModulePtr model = small_model();
  PTQQuantizer q(model, ConfigList::parse(kConfig));
  EXPECT_EQ(error_of<StateError>([&] { q.begin_calibration(); }),
            "PTQQuantizer.begin_calibration: call compress() first");
  EXPECT_EQ(error_of<StateError>([&] { q.correct_bias([] {}); }),
            "PTQQuantizer.correct_bias: calibrate first (the error is measured with the frozen quantization)");
  q.compress();
  EXPECT_EQ(error_of<StateError>([&] { q.end_calibration(); }),
            "PTQQuantizer.end_calibration: call begin_calibration() first");
  q.begin_calibration();
  EXPECT_EQ(error_of<StateError>([&] { q.end_calibration(); }),
            "PTQQuantizer.end_calibration: the input of '0' saw no batch (Hint: run the calibration batches through "
            "the model between begin_calibration() and end_calibration())");
  (*model)(randn({1, 2, 5, 5}));
  q.end_calibration();
  EXPECT_EQ(error_of<StateError>([&] { q.begin_calibration(); }),
            "PTQQuantizer.begin_calibration: already calibrated (build a new quantizer to calibrate again)");
}

}  // namespace
}  // namespace shrink::compression
