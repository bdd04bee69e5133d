// NaiveQuantizer: trunc(w/s)·s with the growing scale s = max(s_prev, max|w|/127), the
// straight-through gradient, the calibration config and int8 export, config errors, training.
//
// No finite-difference gradcheck: truncation is a step function; its backward is by definition
// the straight-through estimator, pinned below.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/naive_quantizer.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"
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


/// Linear(3, 2) whose weight has max|w| = 127/64, so s = 1/64 exactly.
nn::ModulePtr hand_model() {
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Linear>(3, 2));
  NoGradGuard no_grad;
  m->find_module("0")->param("weight").copy_(vec({1.984375f, -0.5f, 0.37f, -0.37f, 0.0f, 0.3f}, {2, 3}));
  return m;
}

const char* kConfig = R"([{"op_types": ["Linear"], "quant_types": ["weight"], "quant_bits": 8}])";

Tensor effective_weight(nn::Module& model) {
  NoGradGuard no_grad;
  return model.find_module("0")->param_value("weight").detach();
}

TEST(NaiveQuantizer, TruncatesTowardZeroOnTheGridOfMaxAbsOver127) {
  nn::ModulePtr model = hand_model();
  NaiveQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  (*model)(ones({1, 3}));
  // w/s = 127, -32, 23.68, -23.68, 0, 19.2: truncated 127, -32, 23, -23, 0, 19 (rounding would give 24, -24).
  EXPECT_TRUE(tensors_identical(effective_weight(*model),
                                vec({127 / 64.0f, -32 / 64.0f, 23 / 64.0f, -23 / 64.0f, 0.0f, 19 / 64.0f}, {2, 3})));
  EXPECT_EQ(q.layers()[0]->qparams[0]->scale.data<float>()[0], 1.0f / 64.0f);
}

TEST(NaiveQuantizer, TheScaleOnlyGrows) {
  nn::ModulePtr model = hand_model();
  NaiveQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  (*model)(ones({1, 3}));
  Tensor& w = model->find_module("0")->param("weight");
  {
    NoGradGuard no_grad;
    w.mul_(0.5f);  // max|w|/127 = 1/128: s stays 1/64
  }
  (*model)(ones({1, 3}));
  EXPECT_EQ(q.layers()[0]->qparams[0]->scale.data<float>()[0], 1.0f / 64.0f);
  // 0.5·1.984375·64 = 63.5 -> 63; 0.5·0.37·64 = 11.84 -> 11.
  EXPECT_EQ(effective_weight(*model).data<float>()[0], 63 / 64.0f);
  EXPECT_EQ(effective_weight(*model).data<float>()[2], 11 / 64.0f);
  {
    NoGradGuard no_grad;
    w.mul_(4.0f);  // max|w| = 2·127/64: s = 1/32
  }
  (*model)(ones({1, 3}));
  EXPECT_EQ(q.layers()[0]->qparams[0]->scale.data<float>()[0], 1.0f / 32.0f);
}

TEST(NaiveQuantizer, TheGradientPassesStraightThrough) {
  Tensor w = vec({0.37f, -0.37f, 1.0f, 0.01f}, {4}).requires_grad_(true);
  const Tensor r = vec({1.0f, -2.0f, 3.0f, 0.5f}, {4});
  const Tensor out = naive_quantize(w, 1.0f / 64.0f);
  EXPECT_TRUE(tensors_identical(out.detach(), vec({23 / 64.0f, -23 / 64.0f, 1.0f, 0.0f}, {4})));
  sum(out * r).backward();
  EXPECT_TRUE(tensors_identical(w.grad(), r));

  // Through the layer: the raw weight gets exactly the gradient of the effective weight.
  nn::ModulePtr model = hand_model();
  NaiveQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  const Tensor x = vec({1.0f, 2.0f, -1.0f}, {1, 3});
  sum((*model)(x)).backward();
  // y = x·Wᵀ + b: dy/dW[o, i] = x[i] for both outputs.
  EXPECT_TRUE(tensors_identical(model->find_module("0")->param("weight").grad(), vec({1, 2, -1, 1, 2, -1}, {2, 3})));
}

TEST(NaiveQuantizer, CalibrationConfigAndInt8ExportRoundTrip) {
  testing::TempDir dir;
  nn::ModulePtr model = hand_model();
  NaiveQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  const Tensor x = vec({1.0f, 2.0f, -1.0f, 0.5f, 0.0f, 3.0f}, {2, 3});
  const Tensor expected = (*model)(x).detach();
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"), dir.file("model.int8.h5"));
  const nlohmann::json c = q.calibration_config();
  EXPECT_EQ(c["0"]["weight_bits"], 8);
  EXPECT_EQ(c["0"]["weight_scale"], 1.0f / 64.0f);
  EXPECT_EQ(c["0"]["weight_quant_scheme"], "per_tensor_symmetric");
  EXPECT_EQ(c["0"]["weight_quant_dtype"], "int");
  const io::QuantizedFile file = io::load_quantized_file(dir.file("model.int8.h5"));
  ASSERT_EQ(file.quantized.size(), 1u);
  EXPECT_EQ(file.quantized[0].qmin, -127);
  EXPECT_TRUE(tensors_identical(io::load_quantized(dir.file("model.int8.h5")).at("0.weight"), effective_weight(*model)));

  // A fresh model with other weights, frozen at the exported scale, computes the same.
  nn::ModulePtr other = hand_model();
  other->load_state_dict(io::load_state_dict(dir.file("model.h5")));
  NaiveQuantizer q2(other, ConfigList::parse(kConfig));
  q2.compress();
  q2.load_calibration_config(dir.file("calibration.json"));
  EXPECT_TRUE(tensors_identical((*other)(x).detach(), expected));
}

TEST(NaiveQuantizer, TrainsATinyModelThatStaysFinite) {
  nn::ModulePtr model = testing::tiny_mlp(3);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05));
  NaiveQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"]}])"));
  q.compress();
  const auto [first, last] = testing::train_briefly(*model, opt, q);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, first);
}

TEST(NaiveQuantizer, ConfigErrorsSayWhatIsSupported) {
  nn::ModulePtr model = hand_model();
  EXPECT_EQ(error_of<ValueError>([&] {
              NaiveQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                          "quant_bits": 4}])"))
                  .compress();
            }),
            "NaiveQuantizer: '0': expected quant_bits 8 (the naive quantizer is 8-bit only), got 4");
  EXPECT_EQ(error_of<ValueError>([&] {
              NaiveQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["output"]}])"));
            }),
            "config_list[0]['quant_types']: NaiveQuantizer quantizes 'weight', got 'output'");
  EXPECT_EQ(error_of<ValueError>([&] {
              NaiveQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                          "quant_scheme": "per_channel_symmetric"}])"))
                  .compress();
            }),
            "NaiveQuantizer: config_list[0]: unknown key 'quant_scheme' (allowed keys: op_types, op_names, "
            "op_partial_names, op_names_re, exclude, quant_types, quant_bits, quant_start_step)");
  EXPECT_EQ(error_of<ValueError>([&] { naive_quantize(ones({2}), 0.0f); }),
            "naive_quantize: expected a finite scale > 0, got 0");
}

}  // namespace
}  // namespace shrink::compression
