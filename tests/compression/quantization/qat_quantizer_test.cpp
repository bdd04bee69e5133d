// QATQuantizer: the effective weight is the fake-quantized weight of the formula, activations
// follow the moving average, quant_start_step, eval uses the stored qparams, calibration and
// checkpoint state round trip, masks of a pruner stay applied, and misuse is a clear error.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/pruning/weight_pruners.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/qat_quantizer.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"
#include "nn/models/registry.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"
#include "tests/io/temp_dir.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::tensors_identical;

nn::ModulePtr small_model(std::uint64_t seed = 0) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Linear>(6, 5));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::Linear>(5, 3));
  return m;
}

const char* kConfig = R"([{"op_types": ["Linear"], "quant_types": ["weight", "input", "output"], "quant_bits": 8,
    "quant_scheme": {"weight": "per_channel_symmetric", "input": "per_tensor_affine", "output": "per_tensor_affine"},
    "quant_dtype": {"weight": "int_full", "input": "uint", "output": "uint"}}])";

TEST(QATQuantizer, TheLayerComputesWithThePerChannelFakeQuantizedWeight) {
  nn::ModulePtr model = small_model();
  QATQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  (*model)(randn({4, 6}));
  nn::Module& fc = *model->find_module("0");
  const Tensor w = fc.param("weight").detach();
  MinMaxObserver range({QuantRange{-128, 127}, QuantScheme::Symmetric, 0});
  range.observe(w);
  const QParams expected = range.qparams();
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical(fc.param_value("weight"), fake_quantize(w, expected)));
  EXPECT_TRUE(tensors_identical(q.layers()[0]->qparams[0]->scale, expected.scale));
}

TEST(QATQuantizer, ActivationsFollowTheMovingAverageAndEvalUsesTheStoredQParams) {
  nn::ModulePtr model = small_model();
  QATQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  const Tensor a = randn({4, 6}), b = randn({4, 6}) * 3.0f;
  (*model)(a);
  (*model)(b);
  MovingAverageMinMaxObserver ref({QuantRange{0, 255}, QuantScheme::Affine, -1});
  ref.observe(a);
  ref.observe(b);
  const auto& input_q = q.layers()[0]->qparams[1];
  ASSERT_TRUE(input_q.has_value());
  EXPECT_TRUE(tensors_identical(input_q->scale, ref.qparams().scale));
  // In eval a far wider input is clipped to the range seen in training.
  model->eval();
  const Tensor wide = randn({4, 6}) * 100.0f;
  (*model)(wide);
  EXPECT_TRUE(tensors_identical(q.layers()[0]->qparams[1]->scale, ref.qparams().scale));
}

TEST(QATQuantizer, NothingIsQuantizedBeforeQuantStartStepButStatisticsUpdate) {
  nn::ModulePtr model = small_model(), plain = small_model();
  QATQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight", "output"],
                                               "quant_start_step": 2}])"));
  q.compress();
  const Tensor x = randn({3, 6});
  EXPECT_TRUE(tensors_identical((*model)(x).detach(), (*plain)(x).detach()));
  EXPECT_FALSE(q.layers()[0]->observers[2]->empty());
  q.step();
  q.step();
  EXPECT_FALSE(tensors_identical((*model)(x).detach(), (*plain)(x).detach()));
}

TEST(QATQuantizer, TrainsThroughTheStraightThroughGradientWithAnOptimizerMadeBefore) {
  nn::ModulePtr model = small_model();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1));
  QATQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  const Tensor x = randn({8, 6});
  const Tensor before = model->find_module("0")->param("weight").clone();
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    sum(pow((*model)(x), 2.0f)).backward();
    opt.step();
    q.step();
  }
  EXPECT_FALSE(tensors_identical(before, model->find_module("0")->param("weight")));
  EXPECT_EQ(q.steps(), 3);
}

TEST(QATQuantizer, PrunedWeightsStayZeroWhenQuantizedAfterAPruner) {
  nn::ModulePtr model = small_model();
  L1NormPruner pruner(model, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.4}])"));
  pruner.compress();
  QATQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"]}])"));
  q.compress();
  (*model)(randn({2, 6}));
  NoGradGuard no_grad;
  nn::Module& fc = *model->find_module("0");
  const Tensor w = fc.param_value("weight"), mask = fc.buffer("weight_mask");
  std::int64_t masked = 0;
  for (std::int64_t i = 0; i < w.numel(); ++i)
    if (mask.data<float>()[i] == 0.0f) {
      ++masked;
      EXPECT_EQ(w.data<float>()[i], 0.0f);
    }
  EXPECT_EQ(masked, 2 * 6);
}

TEST(QATQuantizer, CalibrationConfigLoadsBackAndReproducesTheOutputs) {
  testing::TempDir dir;
  nn::ModulePtr model = small_model(5);
  QATQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  for (int i = 0; i < 3; ++i) (*model)(randn({4, 6}) * static_cast<float>(i + 1));
  model->eval();
  const Tensor x = randn({5, 6}) * 2.0f;
  const Tensor expected = (*model)(x).detach();
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"));

  // A fresh float model with the exported weights and the calibration computes the same.
  nn::ModulePtr other = small_model(9);
  other->load_state_dict(io::load_state_dict(dir.file("model.h5")));
  other->eval();
  QATQuantizer q2(other, ConfigList::parse(kConfig));
  q2.compress();
  q2.load_calibration_config(dir.file("calibration.json"));
  EXPECT_TRUE(tensors_identical((*other)(x).detach(), expected));
  const nlohmann::json c = q.calibration_config();
  EXPECT_EQ(c["0"]["weight_bits"], 8);
  EXPECT_EQ(c["0"]["weight_scale"].size(), 5u);
  EXPECT_TRUE(c["0"]["tracked_min_input"].is_number());
}

TEST(QATQuantizer, TheInt8ExportDequantizesToTheFakeQuantizedWeightsAndIsUnder30PercentForVggSmall) {
  testing::TempDir dir;
  nn::ModulePtr model = models::create("vgg_small");
  QATQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Conv2d", "Linear"], "quant_types": ["weight"],
      "quant_scheme": "per_channel_symmetric", "quant_dtype": "int_full"}])"));
  q.compress();
  (*model)(randn({2, 1, 28, 28}));
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"), dir.file("model.int8.h5"));
  const io::StateDict restored = io::load_quantized(dir.file("model.int8.h5"));
  const io::StateDict exported = io::load_state_dict(dir.file("model.h5"));
  ASSERT_EQ(restored.size(), exported.size());
  for (const std::string& key : exported.keys()) {
    ASSERT_TRUE(restored.contains(key)) << key;
    EXPECT_TRUE(tensors_identical(restored.at(key), exported.at(key))) << key;
  }
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical(restored.at("features.0.weight"), model->find_module("features.0")->param_value("weight")));
  const auto int8_size = std::filesystem::file_size(dir.file("model.int8.h5"));
  const auto float_size = std::filesystem::file_size(dir.file("model.h5"));
  EXPECT_LE(static_cast<double>(int8_size), 0.30 * static_cast<double>(float_size)) << int8_size << " vs " << float_size;
}

TEST(QATQuantizer, StateDictResumesExactly) {
  nn::ModulePtr a = small_model(), b = small_model();
  QATQuantizer qa(a, ConfigList::parse(kConfig)), qb(b, ConfigList::parse(kConfig));
  qa.compress();
  qb.compress();
  for (int i = 0; i < 3; ++i) {
    (*a)(randn({4, 6}) * static_cast<float>(i + 1));
    qa.step();
  }
  qb.load_state_dict(qa.state_dict());
  EXPECT_EQ(qb.steps(), 3);
  const Tensor x = randn({4, 6});
  EXPECT_TRUE(tensors_identical((*a)(x).detach(), (*b)(x).detach()));
}

TEST(QATQuantizer, MisuseIsAClearError) {
  nn::ModulePtr model = small_model();
  QATQuantizer q(model, ConfigList::parse(kConfig));
  EXPECT_EQ(error_of<StateError>([&] { q.step(); }), "QATQuantizer.step: call compress() first");
  EXPECT_EQ(error_of<ValueError>([&] {
              QATQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "sparsity": 0.5}])")).compress();
            }),
            "QATQuantizer: config_list[0]: unknown key 'sparsity' (allowed keys: op_types, op_names, op_partial_names, "
            "op_names_re, exclude, quant_types, quant_bits, quant_scheme, quant_dtype, quant_start_step, observer)");
  EXPECT_EQ(error_of<ValueError>([&] {
              QATQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                          "quant_bits": 1}])"))
                  .compress();
            }),
            "QATQuantizer: '0': expected quant_bits in [2, 16] for fake quantization, got 1");
  EXPECT_EQ(error_of<ValueError>([&] {
              QATQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["input"],
                                                          "observer": "kl"}])"))
                  .compress();
            }).rfind("make_observer: expected an observer name (", 0),
            0u);
  q.compress();
  (*model)(randn({2, 6}));
  nlohmann::json c = q.calibration_config();
  c["2"]["weight_bits"] = 4;
  EXPECT_EQ(error_of<ValueError>([&] { q.load_calibration_config(c); }),
            "QATQuantizer.load_calibration_config: layer '2': expected weight_bits 8 as configured, got 4");
  c = q.calibration_config();
  c["0"]["weight_zero_point"][0] = 0.5;
  EXPECT_EQ(error_of<ValueError>([&] { q.load_calibration_config(c); }),
            "QATQuantizer.load_calibration_config: layer '0': expected an integral weight_zero_point in [-128, 127], "
            "got 0.5");
}

}  // namespace
}  // namespace shrink::compression
