// LSQQuantizer: values and both gradients of lsq_quantize against the formulas on a hand-checked
// tensor, the initial scale, the gradient factor 1/√(N·Qp) for weights and activations, the
// scales in an optimizer, calibration config (tracked range ±s·Qp) and exports that load into a
// plain model, checkpoint state, config errors.
//
// No finite-difference gradcheck: v̂ is a step function of v and s; LSQ's gradients are by
// definition straight-through estimators, pinned against the paper's formulas below.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/lsq_quantizer.h"
#include "io/quantized_file.h"
#include "io/state_dict_file.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/compression/quantization/quantizer_test_util.h"
#include "tests/io/temp_dir.h"
#include "tests/support/errors.h"
#include "tests/support/fixtures.h"

namespace shrink::compression {
namespace {

using testing::error_of;
using testing::hand_linear;
using testing::tensors_identical;
using testing::vec;

TEST(LSQQuantizer, ValuesAndBothGradientsFollowTheFormulas) {
  // 3 bits signed: Qn = 4, Qp = 3; s = 0.5 so v/s is exact.
  const std::vector<float> v = {-3.0f, -2.0f, -0.3f, 0.0f, 0.26f, 0.74f, 5.0f};
  const std::vector<float> r = {1, 2, 3, 4, 5, 6, 7};
  Tensor x = vec(v, {7}).requires_grad_(true);
  Tensor s = vec({0.5f}, {1}).requires_grad_(true);
  const float gf = 0.125f;
  const Tensor out = lsq_quantize(x, s, 4, 3, gf);
  // v/s = -6, -4, -0.6, 0, 0.52, 1.48, 10 -> rounded -6, -4, -1, 0, 1, 1, 10 -> clamped to [-4, 3].
  EXPECT_TRUE(tensors_identical(out.detach(), vec({-2.0f, -2.0f, -0.5f, 0.0f, 0.5f, 0.5f, 1.5f}, {7})));
  sum(out * vec(r, {7})).backward();
  EXPECT_TRUE(tensors_identical(x.grad(), vec({0, 2, 3, 4, 5, 6, 0}, {7})));
  // ∂v̂/∂s: below −Qn = −4; inside round(v/s) − v/s; above Qp = 3.
  const double ds = 1 * -4.0 + 2 * 0.0 + 3 * (-1 + 0.6) + 4 * 0.0 + 5 * (1 - 0.52) + 6 * (1 - 1.48) + 7 * 3.0;
  EXPECT_NEAR(s.grad().data<float>()[0], gf * ds, 1e-5);
}

TEST(LSQQuantizer, TheValueIsFakeQuantizationsBitForBit) {
  manual_seed(2);
  const Tensor x = randn({64}) * 0.3f;
  EXPECT_TRUE(tensors_identical(lsq_quantize(x, vec({0.07f}, {1}), 8, 7, 1.0f),
                                fake_quantize_per_tensor(x, 0.07f, 0, -8, 7)));
}

TEST(LSQQuantizer, TheFirstForwardInitialisesTheScaleAndItsGradientIsScaledByOneOverSqrtNQp) {
  nn::ModulePtr model = hand_linear();
  LSQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                              "quant_bits": 4}])"));
  q.compress();
  const auto named = q.named_parameters();
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].first, "0.weight_scale");
  EXPECT_EQ(named[0].second.data<float>()[0], 1.0f);
  nn::Module& fc = *model->find_module("0");
  const Tensor w_hat = fc.param_value("weight");
  // 4 bits signed: Qp = 7; mean|w| = 2.5.
  const float s = named[0].second.data<float>()[0];
  EXPECT_NEAR(s, 2 * 2.5 / std::sqrt(7.0), 1e-6);
  const Tensor r = vec({1.0f, -1.0f, 2.0f, 0.5f}, {2, 2});
  sum(w_hat * r).backward();
  double ds = 0;
  const std::vector<float> w = {1.0f, -2.0f, 3.0f, -4.0f};
  for (int i = 0; i < 4; ++i) {
    const double x = w[i] * (1.0f / s), qv = std::nearbyint(x);
    ds += r.data<float>()[i] * (qv < -8 ? -8 : qv > 7 ? 7 : qv - x);
  }
  EXPECT_NEAR(named[0].second.grad().data<float>()[0], ds / std::sqrt(4.0 * 7.0), 1e-5);
}

TEST(LSQQuantizer, AnActivationScaleCountsTheFeaturesPerSample) {
  nn::ModulePtr model = hand_linear(), plain = hand_linear();
  LSQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["output"],
                                              "quant_dtype": "uint"}])"));
  q.compress();
  const Tensor x = vec({1.0f, 0.5f, -1.0f, 2.0f, 0.0f, 0.25f}, {3, 2});
  const Tensor r = vec({1, 2, 3, 4, 5, 6}, {3, 2});
  sum((*model)(x) * r).backward();
  const Tensor y = (*plain)(x).detach();
  // uint8: Qn = 0, Qp = 255; init from the first batch; N = 2 features.
  double mean_abs = 0;
  for (float e : y.to_vector()) mean_abs += std::fabs(e);
  const float s = q.parameters()[0].data<float>()[0];
  EXPECT_NEAR(s, 2 * (mean_abs / 6) / std::sqrt(255.0), 1e-6);
  double ds = 0;
  for (int i = 0; i < 6; ++i) {
    const double v = y.data<float>()[i] * (1.0f / s), qv = std::nearbyint(v);
    ds += r.data<float>()[i] * (qv < 0 ? 0 : qv > 255 ? 255 : qv - v);
  }
  EXPECT_NEAR(q.parameters()[0].grad().data<float>()[0], ds / std::sqrt(2.0 * 255.0), 1e-5);
}

TEST(LSQQuantizer, TrainsTheScalesWithTheModelAndStaysFinite) {
  nn::ModulePtr model = testing::tiny_mlp(6);
  LSQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight", "input"],
                                              "quant_bits": 4}])"));
  q.compress();
  optim::SGD opt({{model->named_parameters(), {}}, {q.named_parameters(), {}}}, optim::SGDOptions(0.02));
  (*model)(ones({1, 4}));
  const Tensor before = q.parameters()[0].clone();
  const auto [first, last] = testing::train_briefly(*model, opt, q);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, first);
  EXPECT_FALSE(tensors_identical(before, q.parameters()[0]));
  for (const Tensor& s : q.parameters()) EXPECT_GT(s.data<float>()[0], 0.0f);
}

const char* kConfig = R"([{"op_types": ["Linear"], "quant_types": ["weight", "input", "output"], "quant_bits": 8}])";

TEST(LSQQuantizer, CalibrationAndExportsLoadIntoAPlainModelAndReproduceTheOutputs) {
  testing::TempDir dir;
  nn::ModulePtr model = testing::tiny_mlp(7);
  LSQQuantizer q(model, ConfigList::parse(kConfig));
  q.compress();
  optim::SGD opt({{model->named_parameters(), {}}, {q.named_parameters(), {}}}, optim::SGDOptions(0.02));
  testing::train_briefly(*model, opt, q, 3);
  const Tensor x = vec({0.5f, -1.0f, 2.0f, 0.0f}, {1, 4});
  const Tensor expected = (*model)(x).detach();
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"), dir.file("model.int8.h5"));

  const nlohmann::json c = q.calibration_config();
  const float s_out = q.named_parameters()[2].second.data<float>()[0];
  EXPECT_EQ(q.named_parameters()[2].first, "0.output_scale");
  EXPECT_EQ(c["0"]["tracked_max_output"].get<float>(), s_out * 127.0f);
  EXPECT_EQ(c["0"]["tracked_min_output"].get<float>(), -s_out * 127.0f);
  EXPECT_EQ(c["0"]["weight_scale"].get<float>(), q.named_parameters()[0].second.data<float>()[0]);

  // The model file has no scale: it loads strictly into a plain model.
  nn::ModulePtr plain = testing::tiny_mlp(8);
  plain->load_state_dict(io::load_state_dict(dir.file("model.h5")));
  nn::ModulePtr from_int8 = testing::tiny_mlp(8);
  from_int8->load_state_dict(io::load_quantized(dir.file("model.int8.h5")));
  NoGradGuard no_grad;
  EXPECT_TRUE(tensors_identical(from_int8->find_module("0")->param("weight"), model->find_module("0")->param_value("weight")));
  // Frozen at the exported calibration, it computes what the learned model did.
  LSQQuantizer q2(plain, ConfigList::parse(kConfig));
  q2.compress();
  q2.load_calibration_config(dir.file("calibration.json"));
  EXPECT_TRUE(tensors_identical((*plain)(x).detach(), expected));
}

TEST(LSQQuantizer, StateDictRestoresTheLearnedScalesIntoTheSameTensors) {
  nn::ModulePtr a = testing::tiny_mlp(9), b = testing::tiny_mlp(9);
  LSQQuantizer qa(a, ConfigList::parse(kConfig)), qb(b, ConfigList::parse(kConfig));
  qa.compress();
  qb.compress();
  optim::SGD opt({{a->named_parameters(), {}}, {qa.named_parameters(), {}}}, optim::SGDOptions(0.02));
  testing::train_briefly(*a, opt, qa, 3);
  const Tensor held = qb.parameters()[1];
  b->load_state_dict(a->state_dict());
  qb.load_state_dict(qa.state_dict());
  EXPECT_TRUE(held.is_same(qb.parameters()[1]));
  for (std::size_t i = 0; i < qa.parameters().size(); ++i)
    EXPECT_TRUE(tensors_identical(qa.parameters()[i].detach(), qb.parameters()[i].detach())) << i;
  const Tensor x = vec({0.5f, -1.0f, 2.0f, 0.0f}, {1, 4});
  EXPECT_TRUE(tensors_identical((*a)(x).detach(), (*b)(x).detach()));
  EXPECT_TRUE(a->state_dict().keys() == b->state_dict().keys());
}

TEST(LSQQuantizer, ConfigErrorsSayWhatIsSupported) {
  nn::ModulePtr model = hand_linear();
  EXPECT_EQ(error_of<ValueError>([&] {
              LSQQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                        "quant_scheme": "per_channel_symmetric"}])"))
                  .compress();
            }),
            "LSQQuantizer: '0': expected weight quant_scheme per_tensor_symmetric (one learned scale, zero point 0), "
            "got per_channel_symmetric");
  EXPECT_EQ(error_of<ValueError>([&] {
              LSQQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["input"],
                                                        "quant_bits": 1}])"))
                  .compress();
            }),
            "LSQQuantizer: '0': expected input quant_bits in [2, 16], got 1");
  EXPECT_EQ(error_of<StateError>([&] { LSQQuantizer(model, ConfigList::parse(kConfig)).named_parameters(); }),
            "LSQQuantizer.named_parameters: call compress() first");
  EXPECT_EQ(error_of<ValueError>([&] { lsq_quantize(ones({2}), vec({-0.5f}, {1}), 128, 127, 1.0f); }),
            "lsq_quantize: expected a finite scale > 0, got -0.5 (Hint: a learned scale that left (0, inf) had too "
            "large a learning rate)");
}

}  // namespace
}  // namespace shrink::compression
