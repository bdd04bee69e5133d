// DoReFaQuantizer: ŵ = 2·round(w'·n)/n − 1 on a hand-checked weight, the gradient through the
// tanh normalisation (the formula, and central differences on the smooth normalisation), the
// bits-only calibration config and the float weight in the int8 export, config errors, training.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/dorefa_quantizer.h"
#include "io/quantized_file.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"
#include "tests/compression/quantization/quantizer_test_util.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;
using testing::vec;


nn::ModulePtr hand_model() {
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Linear>(2, 2));
  NoGradGuard no_grad;
  m->find_module("0")->param("weight").copy_(vec({0.5f, -1.0f, 0.0f, 2.0f}, {2, 2}));
  return m;
}

const char* kConfig = R"([{"op_types": ["Linear"], "quant_types": ["weight"], "quant_bits": 2}])";

TEST(DoReFaQuantizer, QuantizesTheTanhNormalisedWeightOnto2PowKLevels) {
  nn::ModulePtr model = hand_model();
  DoReFaQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  NoGradGuard no_grad;
  const Tensor w = model->find_module("0")->param_value("weight");
  // tanh: .4621, -.7616, 0, .9640; w' = t/(2·.9640) + .5 = .7397, .1050, .5, 1; ·3 = 2.219, .315, 1.5, 3;
  // rounded (1.5 half to even) 2, 0, 2, 3; ŵ = 2·r/3 − 1.
  const std::vector<float> expected = {1 / 3.0f, -1.0f, 1 / 3.0f, 1.0f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w.data<float>()[i], expected[i], 1e-6f) << i;
}

TEST(DoReFaQuantizer, TheGradientIsTwiceThatOfTheNormalisationTheRoundPassingStraightThrough) {
  const std::vector<float> values = {0.5f, -1.0f, 0.25f, 2.0f, -0.1f};
  const std::vector<float> r = {1.0f, -2.0f, 0.5f, 3.0f, -1.5f};
  Tensor w = vec(values, {5}).requires_grad_(true);
  sum(dorefa_quantize(w, 3) * vec(r, {5})).backward();
  // w'_i = t_i/(2m) + 1/2, m = max|t| = t_3: dL/dw_i = 2(1 − t_i²)·r_i/(2m), and the largest
  // element also gets 2(1 − t_3²)·(−Σ_k r_k t_k/(2m²)).
  std::vector<double> t(5);
  for (int i = 0; i < 5; ++i) t[i] = std::tanh(double(values[i]));
  const double m = t[3];
  double dot = 0;
  for (int i = 0; i < 5; ++i) dot += r[i] * t[i];
  for (int i = 0; i < 5; ++i) {
    double g = 2 * (1 - t[i] * t[i]) * r[i] / (2 * m);
    if (i == 3) g += 2 * (1 - t[i] * t[i]) * (-dot / (2 * m * m));
    EXPECT_NEAR(w.grad().data<float>()[i], g, 1e-6) << i;
  }
}

TEST(DoReFaQuantizer, TheNormalisationPassesGradcheck) {
  manual_seed(1);
  const Tensor w = randn({3, 4}).requires_grad_(true);
  const auto result = gradcheck([](const TensorList& in) { return dorefa_normalize(in[0]); }, {w});
  EXPECT_TRUE(result.ok) << result.message;
}

TEST(DoReFaQuantizer, CalibrationHasTheBitsOnlyAndTheInt8ExportKeepsTheWeightInFloat) {
  testing::TempDir dir;
  nn::ModulePtr model = hand_model();
  DoReFaQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  (*model)(ones({1, 2}));
  const nlohmann::json c = q.calibration_config();
  EXPECT_EQ(c, nlohmann::json::parse(R"({"0": {"weight_bits": 2}})"));
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"), dir.file("model.int8.h5"));
  const io::QuantizedFile file = io::load_quantized_file(dir.file("model.int8.h5"));
  EXPECT_TRUE(file.quantized.empty());
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical(file.unquantized.at("0.weight"), model->find_module("0")->param_value("weight")));

  nn::ModulePtr other = hand_model();
  DoReFaQuantizer q2(other, ConfigList::parse(kConfig));
  q2.compress();
  q2.load_calibration_config(dir.file("calibration.json"));
  EXPECT_TRUE(q2.layers()[0]->frozen);
  EXPECT_EQ(error_of<ValueError>([&] { q2.load_calibration_config(nlohmann::json::parse(R"({"0": {"weight_bits": 4}})")); }),
            "DoReFaQuantizer.load_calibration_config: layer '0': expected weight_bits 2 as configured, got 4");
}

TEST(DoReFaQuantizer, TrainsATinyModelThatStaysFinite) {
  nn::ModulePtr model = testing::tiny_mlp(4);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05));
  DoReFaQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                  "quant_bits": 4}])"));
  q.compress();
  const auto [first, last] = testing::train_briefly(*model, opt, q);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, first);
}

TEST(DoReFaQuantizer, ConfigErrorsSayWhatIsSupported) {
  nn::ModulePtr model = hand_model();
  EXPECT_EQ(error_of<ValueError>([&] {
              DoReFaQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                           "quant_bits": 1}])"))
                  .compress();
            }),
            "DoReFaQuantizer: '0': expected quant_bits in [2, 16], got 1 (Hint: BNNQuantizer binarizes weights)");
  EXPECT_EQ(error_of<ValueError>([&] {
              DoReFaQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["input"]}])"));
            }),
            "config_list[0]['quant_types']: DoReFaQuantizer quantizes 'weight', got 'input'");
  EXPECT_EQ(error_of<ValueError>([&] {
              DoReFaQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                           "observer": "min_max"}])"))
                  .compress();
            }),
            "DoReFaQuantizer: config_list[0]: unknown key 'observer' (allowed keys: op_types, op_names, "
            "op_partial_names, op_names_re, exclude, quant_types, quant_bits, quant_start_step)");
  EXPECT_EQ(error_of<ValueError>([&] { dorefa_quantize(ones({2}), 17); }),
            "dorefa_quantize: expected bits in [2, 16], got 17");
}

}  // namespace
}  // namespace shrink::compression
