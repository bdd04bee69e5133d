// LSQ+ (LSQOptions::learn_zero_point): values and the three gradients of lsq_quantize_affine
// against the formulas on a hand-checked tensor, a finite-difference check of the scale gradient
// where v̂ is differentiable in s (every element clamped), the initial zero point from the observed
// minimum and its gradient factor in a quantizer, calibration config and frozen reload, exact
// state round trip and resume, and the errors.
//
// The zero-point gradient has no finite-difference check: v̂ is piecewise constant in z (the zero
// point is rounded); like LSQ's, it is a straight-through estimator pinned against its formula.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/generator.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "compression/quantization/fake_quant.h"
#include "compression/quantization/lsq_quantizer.h"
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

TEST(LSQPlus, ValuesAndTheThreeGradientsFollowTheFormulas) {
  // 3 bits unsigned: qmin 0, qmax 7; s = 0.5 so v/s is exact; z = 2.4 rounds to zp = 2.
  const std::vector<float> v = {-3.0f, -1.0f, -0.3f, 0.26f, 1.9f, 2.6f, 4.0f};
  const std::vector<float> r = {1, 2, 3, 4, 5, 6, 7};
  Tensor x = vec(v, {7}).requires_grad_(true);
  Tensor s = vec({0.5f}, {1}).requires_grad_(true);
  Tensor z = vec({2.4f}, {1}).requires_grad_(true);
  const float gf = 0.25f;
  const Tensor out = lsq_quantize_affine(x, s, z, 0, 7, gf);
  // v/s = -6, -2, -0.6, 0.52, 3.8, 5.2, 8 -> rounded + 2 = -4, 0, 1, 3, 6, 7, 10 -> clamped to [0, 7].
  EXPECT_TRUE(tensors_identical(out.detach(), vec({-1.0f, -1.0f, -0.5f, 0.5f, 2.0f, 2.5f, 2.5f}, {7})));
  EXPECT_TRUE(tensors_identical(out.detach(), fake_quantize_per_tensor(x.detach(), 0.5f, 2, 0, 7)));
  sum(out * vec(r, {7})).backward();
  EXPECT_TRUE(tensors_identical(x.grad(), vec({0, 2, 3, 4, 5, 6, 0}, {7})));
  // ∂v̂/∂s: below qmin − zp = −2; inside round(v/s) − v/s; above qmax − zp = 5.
  const double ds = 1 * -2.0 + 2 * 0.0 + 3 * (-1 + 0.6) + 4 * (1 - 0.52) + 5 * (4 - 3.8) + 6 * (5 - 5.2) + 7 * 5.0;
  EXPECT_NEAR(s.grad().data<float>()[0], gf * ds, 1e-5);
  // ∂v̂/∂z: −s outside (elements 1 and 7), 0 inside. (PyTorch 1.13's
  // torch._fake_quantize_learnable_per_tensor_affine(x, s, z, 0, 7, 0.25) gives the same values and
  // gradients: 8.38 and −1 here.)
  EXPECT_NEAR(z.grad().data<float>()[0], gf * -0.5 * (1 + 7), 1e-6);
}

TEST(LSQPlus, TheScaleGradientMatchesFiniteDifferencesWhereEveryElementIsClamped) {
  // zp = 3 on [0, 15]: every v/s + zp lies well outside, so v̂ = (qmin − zp)·s or (qmax − zp)·s,
  // linear in s, and LSQ's gradient is the derivative.
  const std::vector<float> v = {-9.0f, -6.5f, 20.0f, 11.0f, -30.0f};
  const std::vector<float> r = {0.5f, -1.5f, 2.0f, 1.0f, -0.25f};
  auto f = [&](double s) {
    const Tensor out = lsq_quantize_affine(vec(v, {5}), vec({static_cast<float>(s)}, {1}), vec({3.0f}, {1}), 0, 15, 1);
    return sum(out * vec(r, {5})).item<float>();
  };
  Tensor s = vec({0.5f}, {1}).requires_grad_(true);
  sum(lsq_quantize_affine(vec(v, {5}), s, vec({3.0f}, {1}), 0, 15, 1.0f) * vec(r, {5})).backward();
  const double h = 1.0 / 64;
  EXPECT_NEAR(s.grad().data<float>()[0], (f(0.5 + h) - f(0.5 - h)) / (2 * h), 1e-4);
}

TEST(LSQPlus, TheZeroPointStartsAtTheObservedMinimumAndItsGradientIsScaledLikeTheScales) {
  nn::ModulePtr model = hand_linear(), plain = hand_linear();
  LSQQuantizer q(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["output"]}])"),
                 {.learn_zero_point = true});
  q.compress();
  auto named = q.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "0.output_scale");
  EXPECT_EQ(named[1].first, "0.output_zero_point");
  const Tensor x = vec({1.0f, 0.5f, -1.0f, 2.0f, 0.0f, 0.25f}, {3, 2});
  (*model)(x);
  const Tensor y = (*plain)(x).detach();
  double mean_abs = 0;
  float lowest = 0;
  for (float e : y.to_vector()) mean_abs += std::fabs(e), lowest = std::min(lowest, e);
  const float s = named[0].second.data<float>()[0];
  EXPECT_NEAR(s, 2 * (mean_abs / 6) / std::sqrt(255.0), 1e-6);
  ASSERT_LT(lowest, 0.0f);
  EXPECT_EQ(named[1].second.data<float>()[0], std::clamp(-std::nearbyint(lowest / s), 0.0f, 255.0f));

  // With z = 0.4 (zp 0) the negative outputs are clamped: they carry the zero-point gradient.
  {
    NoGradGuard no_grad;
    named[1].second.fill_(0.4);
  }
  const Tensor r = vec({1, 2, 3, 4, 5, 6}, {3, 2});
  sum((*model)(x) * r).backward();
  double ds = 0, outside = 0;
  for (int i = 0; i < 6; ++i) {
    const double w = y.data<float>()[i] * (1.0f / s), qv = std::nearbyint(w);
    ds += r.data<float>()[i] * (qv < 0 ? 0 : qv > 255 ? 255 : qv - w);
    if (qv < 0 || qv > 255) outside += r.data<float>()[i];
  }
  ASSERT_GT(outside, 0);
  const double g = 1 / std::sqrt(2.0 * 255.0);  // N = 2 features per sample, Qp = 255
  EXPECT_NEAR(named[0].second.grad().data<float>()[0], ds * g, 1e-5);
  EXPECT_NEAR(named[1].second.grad().data<float>()[0], -s * outside * g, 1e-5);
}

const char* kConfig = R"([{"op_types": ["Linear"], "quant_types": ["weight", "input", "output"], "quant_bits": 8}])";

TEST(LSQPlus, CalibrationCarriesTheLearnedZeroPointAndAFrozenReloadReproducesTheOutputs) {
  testing::TempDir dir;
  nn::ModulePtr model = testing::tiny_mlp(7);
  LSQQuantizer q(model, ConfigList::parse(kConfig), {.learn_zero_point = true});
  q.compress();
  optim::SGD opt({{model->named_parameters(), {}}, {q.named_parameters(), {}}}, optim::SGDOptions(0.02));
  testing::train_briefly(*model, opt, q, 3);
  // The optimizer moved z after the last forward: the calibration takes its current value.
  auto named = q.named_parameters();
  ASSERT_EQ(named[1].first, "0.input_scale");
  ASSERT_EQ(named[2].first, "0.input_zero_point");
  {
    NoGradGuard no_grad;
    named[2].second.fill_(named[2].second.data<float>()[0] + 1.6f);
  }
  const float z = named[2].second.data<float>()[0];
  const nlohmann::json c = q.calibration_config();
  EXPECT_EQ(c["0"]["input_zero_point"].get<float>(), std::clamp(std::nearbyint(z), 0.0f, 255.0f));
  EXPECT_GT(c["0"]["input_zero_point"].get<float>(), 0.0f);
  EXPECT_EQ(c["0"]["input_scale"].get<float>(), named[1].second.data<float>()[0]);
  EXPECT_EQ(c["0"]["input_quant_scheme"], "per_tensor_affine");
  EXPECT_EQ(c["0"]["input_quant_dtype"], "uint");
  EXPECT_EQ(c["0"]["weight_zero_point"].get<float>(), 0.0f);

  const Tensor x = vec({0.5f, -1.0f, 2.0f, 0.0f}, {1, 4});
  const Tensor expected = (*model)(x).detach();
  q.export_model(dir.file("model.h5"), dir.file("calibration.json"), dir.file("model.int8.h5"));
  nn::ModulePtr plain = testing::tiny_mlp(8);
  LSQQuantizer q2(plain, ConfigList::parse(kConfig), {.learn_zero_point = true});
  q2.compress();
  NoGradGuard no_grad;
  plain->load_state_dict(model->state_dict());
  q2.load_calibration_config(dir.file("calibration.json"));
  EXPECT_TRUE(tensors_identical((*plain)(x).detach(), expected));
}

TEST(LSQPlus, StateDictRestoresTheUnroundedZeroPointsAndResumesExactly) {
  nn::ModulePtr a = testing::tiny_mlp(9), b = testing::tiny_mlp(9);
  LSQQuantizer qa(a, ConfigList::parse(kConfig), {.learn_zero_point = true}),
      qb(b, ConfigList::parse(kConfig), {.learn_zero_point = true});
  qa.compress();
  qb.compress();
  optim::SGD opt_a({{a->named_parameters(), {}}, {qa.named_parameters(), {}}}, optim::SGDOptions(0.02));
  testing::train_briefly(*a, opt_a, qa, 3);
  {
    NoGradGuard no_grad;  // a learned zero point between integers
    Tensor z = qa.parameters()[2];
    z.fill_(z.data<float>()[0] + 0.3f);
  }
  const Tensor held = qb.parameters()[2];
  b->load_state_dict(a->state_dict());
  qb.load_state_dict(qa.state_dict());
  EXPECT_TRUE(held.is_same(qb.parameters()[2]));
  ASSERT_EQ(qa.parameters().size(), 10u);  // per layer: weight scale, input and output scale and zero point
  for (std::size_t i = 0; i < qa.parameters().size(); ++i)
    EXPECT_TRUE(tensors_identical(qa.parameters()[i].detach(), qb.parameters()[i].detach())) << i;
  // A learned zero point off the integers survives the round trip unrounded.
  EXPECT_NE(qb.parameters()[2].data<float>()[0], std::nearbyint(qb.parameters()[2].data<float>()[0]));
  optim::SGD opt_b({{b->named_parameters(), {}}, {qb.named_parameters(), {}}}, optim::SGDOptions(0.02));
  manual_seed(5);
  testing::train_briefly(*a, opt_a, qa, 2);
  manual_seed(5);
  testing::train_briefly(*b, opt_b, qb, 2);
  for (std::size_t i = 0; i < qa.parameters().size(); ++i)
    EXPECT_TRUE(tensors_identical(qa.parameters()[i].detach(), qb.parameters()[i].detach())) << i;
  const Tensor x = vec({0.5f, -1.0f, 2.0f, 0.0f}, {1, 4});
  EXPECT_TRUE(tensors_identical((*a)(x).detach(), (*b)(x).detach()));
}

TEST(LSQPlus, ErrorsSayWhereALearnedZeroPointMakesNoSense) {
  nn::ModulePtr model = hand_linear();
  EXPECT_EQ(error_of<ValueError>([&] {
              LSQQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["input"],
                                                        "quant_scheme": "per_tensor_symmetric"}])"),
                           {.learn_zero_point = true})
                  .compress();
            }),
            "LSQQuantizer: '0': expected input quant_scheme per_tensor_affine with quant_dtype uint "
            "(learn_zero_point learns one zero point per activation), got per_tensor_symmetric with uint (Hint: drop "
            "the activation's quant_scheme and quant_dtype, or learn_zero_point)");
  EXPECT_EQ(error_of<ValueError>([&] {
              LSQQuantizer(model, ConfigList::parse(R"([{"op_types": ["Linear"], "quant_types": ["weight"],
                                                        "quant_scheme": "per_tensor_affine"}])"),
                           {.learn_zero_point = true})
                  .compress();
            }),
            "LSQQuantizer: '0': expected weight quant_scheme per_tensor_symmetric (one learned scale, zero point 0), "
            "got per_tensor_affine (learn_zero_point applies to inputs and outputs; weights stay symmetric)");
  nn::ModulePtr a = testing::tiny_mlp(3), b = testing::tiny_mlp(3);
  LSQQuantizer plain_lsq(a, ConfigList::parse(kConfig)), plus(b, ConfigList::parse(kConfig), {.learn_zero_point = true});
  plain_lsq.compress();
  plus.compress();
  (*a)(ones({1, 4}));
  const float plain_scale_before = plain_lsq.parameters()[1].data<float>()[0];
  EXPECT_EQ(error_of<ValueError>([&] { plus.load_state_dict(plain_lsq.state_dict()); }),
            "LSQQuantizer.load_state_dict: expected 'quantizer:0:input:learned_zero_point' (float32 [1]), got none "
            "(Hint: the state_dict of an LSQQuantizer without learn_zero_point has none)");
  (*b)(ones({1, 4}));
  {
    NoGradGuard no_grad;
    plus.parameters()[1].fill_(0.125);  // 0.input_scale, different from plain_lsq's
  }
  EXPECT_EQ(error_of<ValueError>([&] { plain_lsq.load_state_dict(plus.state_dict()); }),
            "LSQQuantizer.load_state_dict: expected no 'quantizer:0:input:learned_zero_point' (this LSQQuantizer does "
            "not learn zero points), got one (Hint: construct it with LSQOptions{.learn_zero_point = true})");
  EXPECT_EQ(plain_lsq.parameters()[1].data<float>()[0], plain_scale_before);  // nothing was loaded
  EXPECT_EQ(error_of<ValueError>([&] {
              lsq_quantize_affine(ones({2}), vec({0.5f}, {1}), vec({NAN}, {1}), 0, 255, 1.0f);
            }),
            "lsq_quantize: expected a finite zero point, got nan (Hint: a learned zero point that diverged had too "
            "large a learning rate)");
}

}  // namespace
}  // namespace shrink::compression
