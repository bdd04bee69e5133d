// BNNQuantizer: sign with sign(0) = +1 for weights and outputs, the plain and the clipped
// straight-through gradients, latent weights clipped after step(), the bits-only calibration
// config, config errors, training.
//
// No finite-difference gradcheck: sign is a step function; its backward is by definition a
// straight-through estimator, pinned below.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/bnn_quantizer.h"
#include "io/quantized_file.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/compression/quantization/quantizer_test_util.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;
using testing::vec;


nn::ModulePtr hand_model() {
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Linear>(2, 2));
  NoGradGuard no_grad;
  m->find_module("0")->param("weight").copy_(vec({0.5f, -0.2f, 0.0f, 3.0f}, {2, 2}));
  m->find_module("0")->param("bias").copy_(vec({0.0f, -4.0f}, {2}));
  return m;
}

const char* kConfig = R"([{"op_types": ["Linear"], "quant_types": ["weight", "output"], "quant_bits": 1}])";

TEST(BNNQuantizer, WeightsAndOutputsAreSignsWithSignOfZeroPlusOne) {
  nn::ModulePtr model = hand_model();
  BNNQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  {
    NoGradGuard no_grad;
    EXPECT_TRUE(tensors_identical(model->find_module("0")->param_value("weight"), vec({1, -1, 1, 1}, {2, 2})));
  }
  // x = [1, 1]: x·Ŵᵀ + b = [0, 2 − 4] = [0, −2] -> [+1, −1]; x = [−1, 0]: [−1, −5] -> [−1, −1].
  EXPECT_TRUE(tensors_identical((*model)(vec({1, 1, -1, 0}, {2, 2})).detach(), vec({1, -1, -1, -1}, {2, 2})));
}

TEST(BNNQuantizer, WeightsTakeThePlainAndOutputsTheClippedStraightThroughGradient) {
  const Tensor r = vec({1, 2, 3, 4, 5, 6, 7}, {7});
  Tensor x = vec({-1.5f, -1.0f, -0.3f, 0.0f, 0.3f, 1.0f, 2.0f}, {7}).requires_grad_(true);
  sum(binarize(x, false) * r).backward();
  EXPECT_TRUE(tensors_identical(x.grad(), r));
  Tensor y = vec({-1.5f, -1.0f, -0.3f, 0.0f, 0.3f, 1.0f, 2.0f}, {7}).requires_grad_(true);
  const Tensor out = binarize(y, true);
  EXPECT_TRUE(tensors_identical(out.detach(), vec({-1, -1, -1, 1, 1, 1, 1}, {7})));
  sum(out * r).backward();
  EXPECT_TRUE(tensors_identical(y.grad(), vec({0, 2, 3, 4, 5, 6, 0}, {7})));
}

TEST(BNNQuantizer, StepClipsTheLatentWeightsOnceBinarized) {
  nn::ModulePtr model = hand_model();
  BNNQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                              "quant_start_step": 1}])"));
  q.compress();
  const Tensor& w = model->find_module("0")->param("weight");
  q.step();  // taken before quantization started: no clip
  EXPECT_EQ(w.data<float>()[3], 3.0f);
  q.step();
  EXPECT_TRUE(tensors_identical(w, vec({0.5f, -0.2f, 0.0f, 1.0f}, {2, 2})));
}

TEST(BNNQuantizer, CalibrationHasTheBitsOnlyAndTheInt8ExportKeepsTheWeightInFloat) {
  testing::TempDir dir;
  nn::ModulePtr model = hand_model();
  BNNQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  EXPECT_EQ(q.calibration_config(), nlohmann::json::parse(R"({"0": {"weight_bits": 1, "output_bits": 1}})"));
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"), dir.file("model.int8.h5"));
  const io::QuantizedFile file = io::load_quantized_file(dir.file("model.int8.h5"));
  EXPECT_TRUE(file.quantized.empty());
  EXPECT_TRUE(tensors_identical(file.unquantized.at("0.weight"), vec({1, -1, 1, 1}, {2, 2})));
  BNNQuantizer q2(hand_model(), ConfigList::parse(kConfig));
  q2.compress();
  q2.load_calibration_config(dir.file("calibration.json"));
  EXPECT_TRUE(q2.layers()[0]->frozen);
}

TEST(BNNQuantizer, TrainsATinyModelThatStaysFiniteWithLatentWeightsInRange) {
  nn::ModulePtr model = testing::tiny_mlp(5);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05));
  BNNQuantizer q(model, ConfigList::parse(R"([{"op_names": ["0"], "quant_types": ["weight", "output"]},
                                              {"op_names": ["2"], "quant_types": ["weight"]}])"));
  q.compress();
  const Tensor before = model->find_module("0")->param("weight").clone();
  const auto [first, last] = testing::train_briefly(*model, opt, q);
  EXPECT_TRUE(std::isfinite(first) && std::isfinite(last));
  EXPECT_FALSE(tensors_identical(before, model->find_module("0")->param("weight")));
  for (const char* name : {"0", "2"})
    for (float v : model->find_module(name)->param("weight").to_vector()) {
      EXPECT_GE(v, -1.0f);
      EXPECT_LE(v, 1.0f);
    }
}

TEST(BNNQuantizer, ConfigErrorsSayWhatIsSupported) {
  nn::ModulePtr model = hand_model();
  EXPECT_EQ(error_of<ValueError>([&] {
              BNNQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight", "output"],
                                                        "quant_bits": {"output": 8}}])"))
                  .compress();
            }),
            "BNNQuantizer: '0': expected output quant_bits 1 (sign binarization), got 8");
  EXPECT_EQ(error_of<ValueError>([&] {
              BNNQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["input"]}])"));
            }),
            "config_list[0]['quant_types']: BNNQuantizer quantizes 'weight', 'output', got 'input'");
  EXPECT_EQ(error_of<ValueError>([&] {
              BNNQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                        "quant_dtype": "int"}])"))
                  .compress();
            }),
            "BNNQuantizer: config_list[0]: unknown key 'quant_dtype' (allowed keys: op_types, op_names, "
            "op_partial_names, op_names_re, exclude, quant_types, quant_bits, quant_start_step) (Hint: did you mean 'quant_types'?)");
}

}  // namespace
}  // namespace shrink::compression
